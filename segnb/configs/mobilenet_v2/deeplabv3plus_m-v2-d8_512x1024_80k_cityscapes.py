# DeepLabV3+ on MobileNetV2 (output stride 8: stages 4-7 dilated), 512x1024 crops, 80k iterations on Cityscapes;
# mmsegmentation 0.x values. The ResNet-101 config with the backbone replaced (`_delete_`) and the heads'
# input widths changed: 320 channels from the last stage, 24 low-level channels, 96 for the auxiliary head.
_base_ = '../deeplabv3plus/deeplabv3plus_r101-d8_512x1024_80k_cityscapes.py'

model = dict(
    pretrained='mmcls://mobilenet_v2',
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.,
        strides=(1, 2, 2, 1, 1, 1, 1),
        dilations=(1, 1, 1, 2, 2, 4, 4),
        out_indices=(1, 2, 4, 6),
        norm_cfg=dict(type='SyncBN', requires_grad=True)),
    decode_head=dict(in_channels=320, c1_in_channels=24),
    auxiliary_head=dict(in_channels=96))
