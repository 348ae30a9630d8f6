# UNet-S5-D16 with an FCN head, 512x1024 crops, 4 images per GPU, 160k iterations on Cityscapes; mmsegmentation 0.x values.
# Cityscapes has 19 classes (the base model has 2) and is evaluated on whole images instead of a sliding window.
_base_ = [
    '../_base_/models/fcn_unet_s5-d16.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_160k.py',
]

model = dict(
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

data = dict(samples_per_gpu=4, workers_per_gpu=4)
