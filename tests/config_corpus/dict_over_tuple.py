_base_ = 'bases/model.py'
# crop_size is a tuple in the base
crop_size = dict(height=64, width=64)
