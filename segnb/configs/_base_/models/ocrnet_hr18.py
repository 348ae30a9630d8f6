# OCRNet (Yuan et al., ECCV 2020) on HRNetV2-W18: a cascade of two heads on the concatenated HRNet branches.
# The FCN head's logits give soft object regions; the OCR head gathers one feature per class from them and lets
# every pixel attend to those class features. Values follow mmsegmentation 0.x (num_classes=19: Cityscapes).

# SyncBN needs torch.distributed; segnb falls back to BN (with a warning) in a single process.
norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    type='CascadeEncoderDecoder',
    num_stages=2,
    pretrained='open-mmlab://msra/hrnetv2_w18',
    backbone=dict(
        type='HRNet',
        norm_cfg=norm_cfg,
        norm_eval=False,
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4, ), num_channels=(64, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4), num_channels=(18, 36)),
            stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                        num_channels=(18, 36, 72)),
            stage4=dict(num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                        num_channels=(18, 36, 72, 144)))),
    decode_head=[
        # stage 0: soft object regions (its loss weighs 0.4)
        dict(type='FCNHead', in_channels=[18, 36, 72, 144], channels=sum([18, 36, 72, 144]), in_index=(0, 1, 2, 3),
             input_transform='resize_concat', kernel_size=1, num_convs=1, concat_input=False, dropout_ratio=-1,
             num_classes=19, norm_cfg=norm_cfg, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
        # stage 1: object-contextual representations from the features and stage 0's logits
        dict(type='OCRHead', in_channels=[18, 36, 72, 144], in_index=(0, 1, 2, 3), input_transform='resize_concat',
             channels=512, ocr_channels=256, dropout_ratio=-1, num_classes=19, norm_cfg=norm_cfg,
             align_corners=False, loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    ],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
