# OCRNet, HRNetV2-W18, 512x1024 crops, 40k iterations on Cityscapes (19 classes); mmsegmentation 0.x values.
_base_ = [
    '../_base_/models/ocrnet_hr18.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
