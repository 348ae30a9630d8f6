# Pascal VOC 2012 segmentation (21 classes with background), laid out as data/VOCdevkit/VOC2012.
# Values follow mmsegmentation 0.x. The helper variables (dataset_type, data_root, img_norm_cfg, crop_size, the
# pipelines) stay in the merged config as keys, exactly as in mmcv.

dataset_type = 'PascalVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
# ImageNet mean and std in RGB order (images are read as BGR, hence to_rgb=True)
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
crop_size = (512, 512)

# training: random rescale to 0.5-2x of 2048x512, random 512x512 crop, flip, colour jitter, pad with ignore (255)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', img_scale=(2048, 512), ratio_range=(0.5, 2.0)),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size=crop_size, pad_val=0, seg_pad_val=255),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_semantic_seg']),
]
# testing: one scale, no flip (add img_ratios=[0.5, 0.75, ...] and flip=True for multi-scale testing)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiScaleFlipAug', img_scale=(2048, 512), flip=False,
         transforms=[
             dict(type='Resize', keep_ratio=True),
             dict(type='RandomFlip'),
             dict(type='Normalize', **img_norm_cfg),
             dict(type='ImageToTensor', keys=['img']),
             dict(type='Collect', keys=['img']),
         ]),
]

data = dict(
    samples_per_gpu=4,
    workers_per_gpu=4,
    train=dict(type=dataset_type, data_root=data_root, img_dir='JPEGImages', ann_dir='SegmentationClass',
               split='ImageSets/Segmentation/train.txt', pipeline=train_pipeline),
    val=dict(type=dataset_type, data_root=data_root, img_dir='JPEGImages', ann_dir='SegmentationClass',
             split='ImageSets/Segmentation/val.txt', pipeline=test_pipeline),
    test=dict(type=dataset_type, data_root=data_root, img_dir='JPEGImages', ann_dir='SegmentationClass',
              split='ImageSets/Segmentation/val.txt', pipeline=test_pipeline))
