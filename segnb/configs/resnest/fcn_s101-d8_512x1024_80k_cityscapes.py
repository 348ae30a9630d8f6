# FCN on ResNeSt-101 (split-attention bottlenecks, 128-channel deep stem), output stride 8, 512x1024 crops, 80k
# iterations on Cityscapes; mmsegmentation 0.x values. The ResNet-101 config with the backbone type changed.
_base_ = '../fcn/fcn_r101-d8_512x1024_80k_cityscapes.py'

model = dict(
    pretrained='open-mmlab://resnest101',
    backbone=dict(
        type='ResNeSt',
        stem_channels=128,
        radix=2,
        reduction_factor=4,
        avg_down_stride=True))
