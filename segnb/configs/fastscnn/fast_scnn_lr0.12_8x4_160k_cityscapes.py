# Fast-SCNN on Cityscapes, 512x1024 crops, 8 GPUs x 4 images, lr 0.12, 160k iterations; mmsegmentation 0.x values.
_base_ = ['../_base_/models/fast_scnn.py', '../_base_/datasets/cityscapes.py',
          '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k.py']
data = dict(samples_per_gpu=4, workers_per_gpu=4)
optimizer = dict(type='SGD', lr=0.12, momentum=0.9, weight_decay=4e-5)
