_base_ = './bases/no_such_model.py'
model = dict(decode_head=dict(num_classes=4))
