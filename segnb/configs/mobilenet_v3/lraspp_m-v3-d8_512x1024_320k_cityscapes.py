# LR-ASPP on MobileNetV3-large, ImageNet-pretrained, 512x1024 crops, 4 images per GPU, 320k iterations on
# Cityscapes (the 160k schedule's poly decay over twice the iterations); mmsegmentation 0.x values.
_base_ = [
    '../_base_/models/lraspp_m-v3-d8.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_160k.py',
]

model = dict(pretrained='open-mmlab://contrib/mobilenet_v3_large')

data = dict(samples_per_gpu=4, workers_per_gpu=4)

runner = dict(type='IterBasedRunner', max_iters=320000)
