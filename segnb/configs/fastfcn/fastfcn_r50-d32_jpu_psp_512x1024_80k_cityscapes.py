# FastFCN: ResNet-50 (output stride 32) + JPU + PSP head, 512x1024 crops, 80k iterations on Cityscapes; mmsegmentation 0.x values.
_base_ = [
    '../_base_/models/fastfcn_r50-d32_jpu_psp.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_80k.py',
]
