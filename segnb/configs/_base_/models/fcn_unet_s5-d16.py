# U-Net (Ronneberger et al., MICCAI 2015) as a backbone: five stages, four 2x max-pool downsamples (output stride
# 16 at the bottleneck), InterpConv decoder stages with skip connections; no pretrained weights.
# The FCN head reads the full-resolution decoder output (in_index=4), the auxiliary head the half-resolution one.
# Values follow mmsegmentation 0.x; num_classes=2 and the sliding window are for the retinal-vessel datasets.

norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    type='EncoderDecoder',
    pretrained=None,
    backbone=dict(type='UNet', in_channels=3, base_channels=64, num_stages=5, strides=(1, 1, 1, 1, 1),
                  enc_num_convs=(2, 2, 2, 2, 2), dec_num_convs=(2, 2, 2, 2), downsamples=(True, True, True, True),
                  enc_dilations=(1, 1, 1, 1, 1), dec_dilations=(1, 1, 1, 1), with_cp=False, conv_cfg=None,
                  norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'), upsample_cfg=dict(type='InterpConv'), norm_eval=False),
    decode_head=dict(type='FCNHead', in_channels=64, in_index=4, channels=64, num_convs=1, concat_input=False,
                     dropout_ratio=0.1, num_classes=2, norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(type='FCNHead', in_channels=128, in_index=3, channels=64, num_convs=1, concat_input=False,
                        dropout_ratio=0.1, num_classes=2, norm_cfg=norm_cfg, align_corners=False,
                        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=(256, 256), stride=(170, 170)))
