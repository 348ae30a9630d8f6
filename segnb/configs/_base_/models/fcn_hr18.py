# FCN head on HRNetV2-W18 (Wang et al., TPAMI 2020): four parallel branches at 1/4, 1/8, 1/16 and 1/32 of the input,
# resized to 1/4 and concatenated (18+36+72+144 = 270 channels) for one 1x1 conv and the classifier.
# Values follow mmsegmentation 0.x; num_classes=19 is the Cityscapes count, which dataset configs override.

# SyncBN needs torch.distributed; segnb falls back to BN (with a warning) in a single process.
norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    type='EncoderDecoder',
    pretrained='open-mmlab://msra/hrnetv2_w18',
    # stage 1: one branch of Bottlenecks; stages 2-4 add a branch each (2, 3, 4 branches of BasicBlocks), widths 18 * 2**i
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
    # all four branches, upsampled to the finest and concatenated ('resize_concat'); one 1x1 conv, no dropout
    decode_head=dict(type='FCNHead', in_channels=[18, 36, 72, 144], in_index=(0, 1, 2, 3),
                     channels=sum([18, 36, 72, 144]), input_transform='resize_concat', kernel_size=1, num_convs=1,
                     concat_input=False, dropout_ratio=-1, num_classes=19, norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
