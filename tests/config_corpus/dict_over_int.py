_base_ = 'bases/model.py'
model = dict(backbone=dict(depth=dict(value=50)))
