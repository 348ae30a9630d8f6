# DeepLabV3 with ResNet-18 instead of ResNet-50: everything else as deeplabv3_r50-d8_512x1024_80k_cityscapes.py.
# ResNet-18's BasicBlocks have 4x fewer output channels, so the heads read 512 (stage 4) and 256 (stage 3).
_base_ = './deeplabv3_r50-d8_512x1024_80k_cityscapes.py'

model = dict(
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
