# Twins-PCPVT-S (Chu et al., 2021): a pyramid transformer with global sub-sampled attention and a conditional
# position encoding, under UPerHead with an FCN auxiliary head on stage 3. Values follow mmsegmentation 0.30
# (ADE20K's 150 classes). The backbone's checkpoint is named, not downloaded: set init_cfg=None to start from scratch.
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/twins/pcpvt_small_20220308-e638c41c.pth'  # noqa

backbone_norm_cfg = dict(type='LN')
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    backbone=dict(type='PCPVT', init_cfg=dict(type='Pretrained', checkpoint=checkpoint), in_channels=3,
                  embed_dims=[64, 128, 320, 512], num_heads=[1, 2, 5, 8], patch_sizes=[4, 2, 2, 2], strides=[4, 2, 2, 2],
                  mlp_ratios=[8, 8, 4, 4], out_indices=(0, 1, 2, 3), qkv_bias=True, norm_cfg=backbone_norm_cfg,
                  depths=[3, 4, 6, 3], sr_ratios=[8, 4, 2, 1], norm_after_stage=False, drop_rate=0.0,
                  attn_drop_rate=0., drop_path_rate=0.2),
    decode_head=dict(type='UPerHead', in_channels=[64, 128, 320, 512], in_index=[0, 1, 2, 3], pool_scales=(1, 2, 3, 6),
                     channels=512, dropout_ratio=0.1, num_classes=150, norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(type='FCNHead', in_channels=320, in_index=2, channels=256, num_convs=1, concat_input=False,
                        dropout_ratio=0.1, num_classes=150, norm_cfg=norm_cfg, align_corners=False,
                        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
