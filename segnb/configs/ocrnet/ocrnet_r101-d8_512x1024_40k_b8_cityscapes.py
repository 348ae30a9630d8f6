# OCRNet, ResNet-101-D8, 512x1024 crops, 40k iterations on Cityscapes (batch 8 over the GPUs); mmsegmentation 0.x values.
_base_ = [
    '../_base_/models/ocrnet_r50-d8.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]

model = dict(pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
