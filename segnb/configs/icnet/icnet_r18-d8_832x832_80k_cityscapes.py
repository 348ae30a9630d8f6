# ICNet-R18: the R50 config with a ResNet-18 (stage 2 and 4 widths 128 and 512); mmsegmentation 0.x values.
_base_ = './icnet_r50-d8_832x832_80k_cityscapes.py'
model = dict(backbone=dict(layer_channels=(128, 512), backbone_cfg=dict(depth=18)))
