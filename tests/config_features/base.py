crop_size = (64, 64)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(type='EncoderDecoder', backbone=dict(type='ResNetV1c', depth=18, norm_cfg=norm_cfg),
             decode_head=dict(type='PSPHead', num_classes=19, loss=[dict(type='CrossEntropyLoss')]))
steps = [1, 2, 3]
work_dir = './work_dirs/{{ fileBasenameNoExtension }}'
ext = '{{fileExtname}}'
