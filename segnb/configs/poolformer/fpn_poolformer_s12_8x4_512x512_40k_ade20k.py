# Semantic FPN + PoolFormer-S12, 512x512 crops, 40k iterations on ADE20K (8 GPUs x 4 images); mmsegmentation 0.30
# values. The dataset is written out here (not taken from _base_/datasets/ade20k.py): the test pipeline pads
# to a multiple of 32 (ResizeToMultiple) and the training set is repeated 50 times.
_base_ = [
    '../_base_/models/fpn_poolformer_s12.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py'
]

# model settings
model = dict(neck=dict(in_channels=[64, 128, 320, 512]), decode_head=dict(num_classes=150))

# optimizer
optimizer = dict(_delete_=True, type='AdamW', lr=0.0002, weight_decay=0.0001)
optimizer_config = dict()
# learning policy
lr_config = dict(policy='poly', power=0.9, min_lr=0.0, by_epoch=False)

# dataset settings
dataset_type = 'ADE20KDataset'
data_root = 'data/ade/ADEChallengeData2016'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='Resize', img_scale=(2048, 512), ratio_range=(0.5, 2.0)),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size=crop_size, pad_val=0, seg_pad_val=255),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_semantic_seg']),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiScaleFlipAug', img_scale=(2048, 512), flip=False,
         transforms=[
             dict(type='Resize', keep_ratio=True),
             dict(type='ResizeToMultiple', size_divisor=32),
             dict(type='RandomFlip'),
             dict(type='Normalize', **img_norm_cfg),
             dict(type='ImageToTensor', keys=['img']),
             dict(type='Collect', keys=['img']),
         ])
]
data = dict(
    samples_per_gpu=4,
    workers_per_gpu=4,
    train=dict(type='RepeatDataset', times=50,
               dataset=dict(type=dataset_type, data_root=data_root, img_dir='images/training',
                            ann_dir='annotations/training', pipeline=train_pipeline)),
    val=dict(type=dataset_type, data_root=data_root, img_dir='images/validation',
             ann_dir='annotations/validation', pipeline=test_pipeline),
    test=dict(type=dataset_type, data_root=data_root, img_dir='images/validation',
              ann_dir='annotations/validation', pipeline=test_pipeline))
