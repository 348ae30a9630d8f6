# Twins-SVT-S (locally-grouped and global sub-sampled attention, alternating) + Semantic FPN, 512x512 crops, 80k
# iterations on ADE20K (150 classes), AdamW. mmsegmentation 0.30 values; the ImageNet checkpoint is named, not
# downloaded: set model.backbone.init_cfg=None to start from scratch.
_base_ = [
    '../_base_/models/twins_pcpvt-s_fpn.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]

checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/twins/alt_gvt_small_20220308-7e1c3695.pth'  # noqa

model = dict(
    backbone=dict(type='SVT', init_cfg=dict(type='Pretrained', checkpoint=checkpoint), embed_dims=[64, 128, 256, 512],
                  num_heads=[2, 4, 8, 16], mlp_ratios=[4, 4, 4, 4], depths=[2, 2, 10, 4], windiow_sizes=[7, 7, 7, 7],
                  norm_after_stage=True),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=256, num_outs=4),
    decode_head=dict(num_classes=150))

optimizer = dict(_delete_=True, type='AdamW', lr=0.0001, weight_decay=0.0001)
