# ERFNet on Cityscapes, 512x1024 crops, 4 GPUs x 4 images, 160k iterations; mmsegmentation 0.x values.
_base_ = ['../_base_/models/erfnet_fcn.py', '../_base_/datasets/cityscapes.py',
          '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k.py']
data = dict(samples_per_gpu=4, workers_per_gpu=4)
