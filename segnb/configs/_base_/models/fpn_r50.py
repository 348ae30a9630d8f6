# Semantic FPN (Kirillov et al., CVPR 2019): an FPN neck over all four ResNet-50 stages and the FPNHead, which
# upsamples every level to 1/4 and sums. The backbone is not dilated (strides 1, 2, 2, 2): the FPN needs 1/4..1/32.
# Values follow mmsegmentation 0.x; num_classes=19 is the Cityscapes count, which dataset configs override.

norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    type='EncoderDecoder',
    pretrained='open-mmlab://resnet50_v1c',
    backbone=dict(type='ResNetV1c', depth=50, num_stages=4, out_indices=(0, 1, 2, 3),
                  dilations=(1, 1, 1, 1), strides=(1, 2, 2, 2), norm_cfg=norm_cfg, norm_eval=False,
                  style='pytorch', contract_dilation=True),
    neck=dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=4),
    decode_head=dict(type='FPNHead', in_channels=[256, 256, 256, 256], in_index=[0, 1, 2, 3],
                     feature_strides=[4, 8, 16, 32], channels=128, dropout_ratio=0.1, num_classes=19,
                     norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
