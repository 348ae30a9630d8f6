# UPerNet with ResNet-101 instead of ResNet-50: everything else as upernet_r50_512x1024_80k_cityscapes.py.
_base_ = './upernet_r50_512x1024_80k_cityscapes.py'

model = dict(pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
