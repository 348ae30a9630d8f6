# FCN, ResNet-50-D8, 512x512 crops, 160k iterations on ADE20K (150 classes); mmsegmentation 0.x values.
# Four bases and one change: 150 classes instead of the base model's 19.
_base_ = [
    '../_base_/models/fcn_r50-d8.py',
    '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_160k.py',
]

model = dict(decode_head=dict(num_classes=150), auxiliary_head=dict(num_classes=150))
