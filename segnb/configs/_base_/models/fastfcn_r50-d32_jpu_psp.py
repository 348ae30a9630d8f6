# FastFCN (Wu et al., 2019): a ResNet-50 with its normal strides (1/8, 1/16, 1/32; dilations only inside the last
# two stages), the JPU neck that rebuilds a 1/8 map from the last three stages, and a PSP head on it.
# Values follow mmsegmentation 0.x; num_classes=19 is the Cityscapes count, which dataset configs override.

norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    type='EncoderDecoder',
    pretrained='open-mmlab://resnet50_v1c',
    backbone=dict(type='ResNetV1c', depth=50, num_stages=4, dilations=(1, 1, 2, 4), strides=(1, 2, 2, 2),
                  out_indices=(1, 2, 3), norm_cfg=norm_cfg, norm_eval=False, style='pytorch', contract_dilation=True),
    neck=dict(type='JPU', in_channels=(512, 1024, 2048), mid_channels=512, start_level=0, end_level=-1,
              dilations=(1, 2, 4, 8), align_corners=False, norm_cfg=norm_cfg),
    decode_head=dict(type='PSPHead', in_channels=2048, in_index=2, channels=512, pool_scales=(1, 2, 3, 6),
                     dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(type='FCNHead', in_channels=1024, in_index=1, channels=256, num_convs=1, concat_input=False,
                        dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg, align_corners=False,
                        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
