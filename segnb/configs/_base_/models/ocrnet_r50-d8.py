# OCRNet (Yuan et al., ECCV 2020) on a dilated ResNet-50 (output stride 8): a cascade of an FCN head on stage 3,
# whose logits give soft object regions, and the OCR head on stage 4, where every pixel attends to one feature per
# class. Values follow mmsegmentation 0.x; num_classes=19 is the Cityscapes count, which dataset configs override.

# SyncBN needs torch.distributed; segnb falls back to BN (with a warning) in a single process.
norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    type='CascadeEncoderDecoder',
    num_stages=2,
    pretrained='open-mmlab://resnet50_v1c',
    backbone=dict(type='ResNetV1c', depth=50, num_stages=4, out_indices=(0, 1, 2, 3),
                  dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg, norm_eval=False,
                  style='pytorch', contract_dilation=True),
    decode_head=[
        # stage 0: FCN on stage 3 (1024 channels), loss weight 0.4, as PSPNet's auxiliary head
        dict(type='FCNHead', in_channels=1024, in_index=2, channels=256, num_convs=1, concat_input=False,
             dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
        # stage 1: OCR on stage 4 (2048 channels), same 1/8 resolution as stage 0's logits
        dict(type='OCRHead', in_channels=2048, in_index=3, channels=512, ocr_channels=256, dropout_ratio=0.1,
             num_classes=19, norm_cfg=norm_cfg, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    ],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
