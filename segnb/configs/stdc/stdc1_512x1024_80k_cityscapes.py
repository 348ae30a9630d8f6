# STDC1 on Cityscapes, 512x1024 crops, 12 images per GPU, 80k iterations; mmsegmentation 0.x values.
_base_ = ['../_base_/models/stdc.py', '../_base_/datasets/cityscapes.py',
          '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py']
lr_config = dict(warmup='linear', warmup_iters=1000)
data = dict(samples_per_gpu=12, workers_per_gpu=4)
