# ICNet-R50 on Cityscapes, 832x832 crops, 80k iterations; mmsegmentation 0.x values.
_base_ = ['../_base_/models/icnet_r50-d8.py', '../_base_/datasets/cityscapes_832x832.py',
          '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py']
