# ANN (Zhu et al., ICCV 2019): asymmetric non-local attention, keys pooled to a 1/3/6/8 pyramid (110 cells),
# on a dilated ResNet-50 (output stride 8), with an FCN auxiliary head on stage 3. Values follow mmsegmentation 0.x.

norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    type='EncoderDecoder',
    pretrained='open-mmlab://resnet50_v1c',
    backbone=dict(type='ResNetV1c', depth=50, num_stages=4, out_indices=(0, 1, 2, 3),
                  dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg, norm_eval=False,
                  style='pytorch', contract_dilation=True),
    # AFNB fuses stages 3 and 4 (queries from 4, keys from 3), APNB adds context; attention in 256 channels
    decode_head=dict(type='ANNHead', in_channels=[1024, 2048], in_index=[2, 3], channels=512, project_channels=256,
                     query_scales=(1, ), key_pool_scales=(1, 3, 6, 8), dropout_ratio=0.1, num_classes=19,
                     norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(type='FCNHead', in_channels=1024, in_index=2, channels=256, num_convs=1,
                        concat_input=False, dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg,
                        align_corners=False,
                        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
