# UPerNet, ResNet-50, 512x1024 crops, 40k iterations on Cityscapes (19 classes); mmsegmentation 0.x values.
# The base model already has the Cityscapes class count (19), so only the four bases are needed.
_base_ = [
    '../_base_/models/upernet_r50.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
