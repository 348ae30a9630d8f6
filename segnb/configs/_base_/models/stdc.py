# STDC (Fan et al., CVPR 2021): STDCNet1 with BiSeNet's context path; OHEM on every head, FCN auxiliary heads on the
# context maps and STDCHead's detail loss (BCE + Dice on Laplacian edge targets) on the 1/8 backbone map.
# Values follow mmsegmentation 0.x.
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    pretrained=None,
    backbone=dict(
        type='STDCContextPathNet',
        backbone_cfg=dict(type='STDCNet', stdc_type='STDCNet1', in_channels=3, channels=(32, 64, 256, 512, 1024),
                          bottleneck_type='cat', num_convs=4, norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'),
                          with_final_conv=False),
        last_in_channels=(1024, 512), out_channels=128, ffm_cfg=dict(in_channels=384, out_channels=256, scale_factor=4)),
    decode_head=dict(type='FCNHead', in_channels=256, channels=256, num_convs=1, num_classes=19, in_index=3,
                     concat_input=False, dropout_ratio=0.1, norm_cfg=norm_cfg, align_corners=True,
                     sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=10000),
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=[
        dict(type='FCNHead', in_channels=128, channels=64, num_convs=1, num_classes=19, in_index=2, norm_cfg=norm_cfg,
             concat_input=False, align_corners=False, sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=10000),
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        dict(type='FCNHead', in_channels=128, channels=64, num_convs=1, num_classes=19, in_index=1, norm_cfg=norm_cfg,
             concat_input=False, align_corners=False, sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=10000),
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        dict(type='STDCHead', in_channels=256, channels=64, num_convs=1, num_classes=2, boundary_threshold=0.1,
             in_index=0, norm_cfg=norm_cfg, concat_input=False, align_corners=True,
             loss_decode=[dict(type='CrossEntropyLoss', loss_name='loss_ce', use_sigmoid=True, loss_weight=1.0),
                          dict(type='DiceLoss', loss_name='loss_dice', loss_weight=1.0)]),
    ],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
