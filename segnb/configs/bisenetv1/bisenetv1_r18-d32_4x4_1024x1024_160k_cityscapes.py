# BiSeNetV1-R18 on Cityscapes, 1024x1024 crops, 4 GPUs x 4 images, 160k iterations; mmsegmentation 0.x values.
_base_ = ['../_base_/models/bisenetv1_r18-d32.py', '../_base_/datasets/cityscapes_1024x1024.py',
          '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k.py']
lr_config = dict(warmup='linear', warmup_iters=1000)
optimizer = dict(lr=0.025)
data = dict(samples_per_gpu=4, workers_per_gpu=4)
