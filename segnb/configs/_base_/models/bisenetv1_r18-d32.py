# BiSeNetV1 (Yu et al., ECCV 2018): spatial path + context path on a ResNet-18 (output stride 32), fused at 1/8;
# FCN auxiliary heads on the two context maps. Values follow mmsegmentation 0.x.
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    backbone=dict(
        type='BiSeNetV1', in_channels=3, context_channels=(128, 256, 512), spatial_channels=(64, 64, 64, 128),
        out_indices=(0, 1, 2), out_channels=256,
        backbone_cfg=dict(type='ResNet', in_channels=3, depth=18, num_stages=4, out_indices=(0, 1, 2, 3),
                          dilations=(1, 1, 1, 1), strides=(1, 2, 2, 2), norm_cfg=norm_cfg, norm_eval=False,
                          style='pytorch', contract_dilation=True),
        norm_cfg=norm_cfg, align_corners=False, init_cfg=None),
    decode_head=dict(type='FCNHead', in_channels=256, in_index=0, channels=256, num_convs=1, concat_input=False,
                     dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=[
        dict(type='FCNHead', in_channels=128, channels=64, num_convs=1, num_classes=19, in_index=1, norm_cfg=norm_cfg,
             concat_input=False, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        dict(type='FCNHead', in_channels=128, channels=64, num_convs=1, num_classes=19, in_index=2, norm_cfg=norm_cfg,
             concat_input=False, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    ],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
