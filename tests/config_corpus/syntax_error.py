model = dict(type='EncoderDecoder'
num_classes = 21
