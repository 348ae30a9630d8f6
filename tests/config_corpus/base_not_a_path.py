_base_ = 3
