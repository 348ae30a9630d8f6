_base_ = 'bases/model.py'
_delete_ = True
model = dict(type='CascadeEncoderDecoder')
