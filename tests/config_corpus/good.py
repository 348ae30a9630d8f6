# a valid config, the base of the override cases
_base_ = ['bases/model.py', 'bases/data.py']
model = dict(decode_head=dict(num_classes=4))
