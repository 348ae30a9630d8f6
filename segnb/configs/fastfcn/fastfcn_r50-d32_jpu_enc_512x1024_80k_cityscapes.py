# FastFCN with an EncHead: the JPU's three outputs (1/8 each) go to the context-encoding head, which also predicts
# which classes are present (the SE loss, a sigmoid cross-entropy weighted 0.2). mmsegmentation 0.x values.
_base_ = './fastfcn_r50-d32_jpu_psp_512x1024_80k_cityscapes.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True, type='EncHead', in_channels=[512, 1024, 2048], in_index=(0, 1, 2), channels=512, num_codes=32,
        use_se_loss=True, add_lateral=False, dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_se_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.2)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
