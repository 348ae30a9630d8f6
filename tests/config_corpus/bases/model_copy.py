model = dict(type='EncoderDecoder', decode_head=dict(type='FCNHead', num_classes=19))
