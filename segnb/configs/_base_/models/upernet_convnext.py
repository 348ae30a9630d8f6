# UPerNet on ConvNeXt-Base (Liu et al., CVPR 2022): mmclassification's ConvNeXt, which segnb writes itself and
# registers under the `mmcls` scope; `custom_imports` of `mmcls.models` is satisfied by `segnb.models` (notebook 03).
# The four stages (1/4..1/32) feed the UPerHead; the third feeds the auxiliary FCN head. mmsegmentation 0.30 values.
norm_cfg = dict(type='SyncBN', requires_grad=True)
custom_imports = dict(imports='mmcls.models', allow_failed_imports=False)
checkpoint_file = 'https://download.openmmlab.com/mmclassification/v0/convnext/downstream/convnext-base_3rdparty_32xb128-noema_in1k_20220301-2a0ee547.pth'  # noqa
model = dict(
    type='EncoderDecoder',
    pretrained=None,
    backbone=dict(type='mmcls.ConvNeXt', arch='base', out_indices=[0, 1, 2, 3], drop_path_rate=0.4,
                  layer_scale_init_value=1.0, gap_before_final_norm=False,
                  init_cfg=dict(type='Pretrained', checkpoint=checkpoint_file, prefix='backbone.')),
    decode_head=dict(type='UPerHead', in_channels=[128, 256, 512, 1024], in_index=[0, 1, 2, 3],
                     pool_scales=(1, 2, 3, 6), channels=512, dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg,
                     align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(type='FCNHead', in_channels=384, in_index=2, channels=256, num_convs=1,
                        concat_input=False, dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg,
                        align_corners=False,
                        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
