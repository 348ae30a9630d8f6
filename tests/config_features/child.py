_base_ = ['./base.py', './schedule.yaml']
crop = {{ _base_.crop_size }}
first_step = {{_base_.steps}}
model = dict(
    backbone=dict(_delete_=True, type='ResNet', depth=50),
    decode_head=dict(num_classes=3, loss=[dict(type='DiceLoss')], sizes=[{{ _base_.crop_size }}]))
optimizer = dict(lr=0.02, paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.0)}))
steps = (4,)
here = '{{ fileBasename }}'
import math
scale = math.sqrt(4.0)
def helper(x): return x
