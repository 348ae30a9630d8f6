# DeepLabV3+ with ResNet-101 instead of ResNet-50: everything else as deeplabv3plus_r50-d8_512x1024_80k_cityscapes.py.
_base_ = './deeplabv3plus_r50-d8_512x1024_80k_cityscapes.py'

model = dict(pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
