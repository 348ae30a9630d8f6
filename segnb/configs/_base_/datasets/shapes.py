# The bundled synthetic Shapes dataset (segnb.data.shapes): 1000 train + 200 val images of 64x64, background and
# 4 textured shape classes, laid out as data/shapes/{img_dir,ann_dir}/{train,val}. Regenerate with `segnb make-shapes`.
# data_root is relative like every mmseg config: it resolves against the current directory, and ShapesDataset
# falls back to the same path in the source tree that holds segnb (so `segnb train` works from anywhere after
# `pip install -e .`).

dataset_type = 'ShapesDataset'
data_root = 'data/shapes'
# ImageNet mean and std in RGB order (images are read as BGR, hence to_rgb=True)
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
img_scale = (64, 64)

# the images are already the training size: no resize or crop, only a flip (the textures survive it)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_semantic_seg']),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiScaleFlipAug', img_scale=img_scale, flip=False,
         transforms=[
             dict(type='Resize', keep_ratio=True),
             dict(type='RandomFlip'),
             dict(type='Normalize', **img_norm_cfg),
             dict(type='ImageToTensor', keys=['img']),
             dict(type='Collect', keys=['img']),
         ]),
]

data = dict(
    samples_per_gpu=16,
    workers_per_gpu=1,
    # validate 16 images per forward (mmseg's `val_dataloader` key): the same label maps as one by one, ~3x less CPU
    val_dataloader=dict(samples_per_gpu=16),
    train=dict(type=dataset_type, data_root=data_root, img_dir='img_dir/train', ann_dir='ann_dir/train',
               pipeline=train_pipeline),
    val=dict(type=dataset_type, data_root=data_root, img_dir='img_dir/val', ann_dir='ann_dir/val',
             pipeline=test_pipeline),
    test=dict(type=dataset_type, data_root=data_root, img_dir='img_dir/val', ann_dir='ann_dir/val',
              pipeline=test_pipeline))
