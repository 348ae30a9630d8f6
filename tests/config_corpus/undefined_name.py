model = dict(type='EncoderDecoder', backbone=dict(norm_cfg=norm_cfg))
