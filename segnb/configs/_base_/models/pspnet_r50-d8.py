# PSPNet (Zhao et al., CVPR 2017) on a dilated ResNet-50 (output stride 8), with an FCN auxiliary head on stage 3.
# Values follow mmsegmentation 0.x; num_classes=19 is the Cityscapes count, which dataset configs override.

# SyncBN needs torch.distributed; segnb falls back to BN (with a warning) in a single process.
norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    type='EncoderDecoder',
    pretrained='open-mmlab://resnet50_v1c',
    # ResNetV1c: deep 3-conv stem; stages 3 and 4 trade stride for dilation, so features stay at 1/8 of the input
    backbone=dict(type='ResNetV1c', depth=50, num_stages=4, out_indices=(0, 1, 2, 3),
                  dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg, norm_eval=False,
                  style='pytorch', contract_dilation=True),
    # pyramid pooling over 1x1, 2x2, 3x3 and 6x6 bins of the last stage (2048 channels)
    decode_head=dict(type='PSPHead', in_channels=2048, in_index=3, channels=512, pool_scales=(1, 2, 3, 6),
                     dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    # deep supervision on stage 3 (1024 channels), weighted 0.4; used in training only
    auxiliary_head=dict(type='FCNHead', in_channels=1024, in_index=2, channels=256, num_convs=1,
                        concat_input=False, dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg,
                        align_corners=False,
                        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
