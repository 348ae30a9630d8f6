_base_ = './self_include.py'
model = dict()
