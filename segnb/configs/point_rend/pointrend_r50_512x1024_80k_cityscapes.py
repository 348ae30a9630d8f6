# PointRend, ResNet-50 + Semantic FPN, 512x1024 crops, 80k iterations on Cityscapes, with a 200-iteration linear
# warm-up of the learning rate; mmsegmentation 0.x values.
_base_ = [
    '../_base_/models/pointrend_r50.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_80k.py',
]

lr_config = dict(warmup='linear', warmup_iters=200)
