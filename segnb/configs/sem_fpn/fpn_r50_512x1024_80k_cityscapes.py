# Semantic FPN, ResNet-50, 512x1024 crops, 80k iterations on Cityscapes (19 classes); mmsegmentation 0.x values.
_base_ = [
    '../_base_/models/fpn_r50.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_80k.py',
]
