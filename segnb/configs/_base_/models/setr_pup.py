# SETR-PUP (Zheng et al., CVPR 2021): ViT-L/16 (24 layers of width 1024) at 768x768 and a progressive-upsampling
# SETRUPHead: token LayerNorm, then four (3x3 conv, 2x upsampling) steps to full resolution. Three one-step
# SETRUPHeads on layers 10, 15 and 20 supervise the middle. Values follow mmsegmentation 0.30 (Cityscapes, 19 classes).

backbone_norm_cfg = dict(type='LN', eps=1e-6, requires_grad=True)
norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    type='EncoderDecoder',
    pretrained='pretrain/jx_vit_large_p16_384-b3be5167.pth',
    backbone=dict(type='VisionTransformer', img_size=(768, 768), patch_size=16, in_channels=3, embed_dims=1024,
                  num_layers=24, num_heads=16, out_indices=(9, 14, 19, 23), drop_rate=0.1, norm_cfg=backbone_norm_cfg,
                  with_cls_token=True, interpolate_mode='bilinear'),
    decode_head=dict(type='SETRUPHead', in_channels=1024, channels=256, in_index=3, num_classes=19, dropout_ratio=0,
                     norm_cfg=norm_cfg, num_convs=4, up_scale=2, kernel_size=3, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=[dict(type='SETRUPHead', in_channels=1024, channels=256, in_index=i, num_classes=19, dropout_ratio=0,
                         norm_cfg=norm_cfg, num_convs=1, up_scale=4, kernel_size=3, align_corners=False,
                         loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4))
                    for i in range(3)],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
