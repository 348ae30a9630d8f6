# HRNetV2-W18-Small: half the blocks per branch and fewer modules in stages 3 and 4; everything else as
# fcn_hr18_512x1024_40k_cityscapes.py.
_base_ = './fcn_hr18_512x1024_40k_cityscapes.py'

model = dict(
    pretrained='open-mmlab://msra/hrnetv2_w18_small',
    backbone=dict(
        extra=dict(
            stage1=dict(num_blocks=(2, )),
            stage2=dict(num_blocks=(2, 2)),
            stage3=dict(num_modules=3, num_blocks=(2, 2, 2)),
            stage4=dict(num_modules=2, num_blocks=(2, 2, 2, 2)))))
