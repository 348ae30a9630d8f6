# UPerNet, ResNet-50, 512x512 crops, 40k iterations on Pascal VOC 2012 + SBD aug (21 classes); mmsegmentation 0.x values.
# Four bases and one change: 21 classes instead of the base model's 19.
_base_ = [
    '../_base_/models/upernet_r50.py',
    '../_base_/datasets/pascal_voc12_aug.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]

model = dict(decode_head=dict(num_classes=21), auxiliary_head=dict(num_classes=21))
