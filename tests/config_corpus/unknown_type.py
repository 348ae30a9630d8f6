_base_ = 'bases/model.py'
model = dict(decode_head=dict(type='PSPHaed'))
