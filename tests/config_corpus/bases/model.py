norm_cfg = dict(type='BN', requires_grad=True)
crop_size = (64, 64)
model = dict(type='EncoderDecoder', backbone=dict(type='ResNetV1c', depth=18, norm_cfg=norm_cfg),
             decode_head=dict(type='PSPHead', num_classes=19, norm_cfg=norm_cfg))
