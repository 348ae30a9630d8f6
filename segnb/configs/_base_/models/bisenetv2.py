# BiSeNetV2 (Yu et al., IJCV 2021): detail branch + semantic branch + bilateral guided aggregation; an FCN
# auxiliary head ("booster") on each of the four semantic stages. Values follow mmsegmentation 0.x.
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    pretrained=None,
    backbone=dict(type='BiSeNetV2', detail_channels=(64, 64, 128), semantic_channels=(16, 32, 64, 128),
                  semantic_expansion_ratio=6, bga_channels=128, out_indices=(0, 1, 2, 3, 4), init_cfg=None,
                  align_corners=False),
    decode_head=dict(type='FCNHead', in_channels=128, in_index=0, channels=1024, num_convs=1, concat_input=False,
                     dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=[
        dict(type='FCNHead', in_channels=c, channels=ch, num_convs=2, num_classes=19, in_index=i, norm_cfg=norm_cfg,
             concat_input=False, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
        for i, c, ch in [(1, 16, 16), (2, 32, 64), (3, 64, 256), (4, 128, 1024)]],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
