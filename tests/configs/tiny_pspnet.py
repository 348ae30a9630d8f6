# A tiny PSPNet (ResNet-18-D8 at 1/8 width) on 32x32 synthetic squares: the CLI, resume and distributed tests use it.
# data_root is set by the tests with --cfg-options data.train.data_root=... (see tests/tiny_data.py).
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder', pretrained=None,
    backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8, num_stages=4, out_indices=(0, 1, 2, 3),
                  dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg, norm_eval=False,
                  style='pytorch', contract_dilation=True),
    decode_head=dict(type='PSPHead', in_channels=64, in_index=3, channels=16, pool_scales=(1, 2, 3, 6),
                     dropout_ratio=0.0, num_classes=3, norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(), test_cfg=dict(mode='whole'))
dataset_type = 'CustomDataset'
data_root = 'tiny'
classes = ('background', 'square', 'disk')
palette = [[0, 0, 0], [255, 0, 0], [0, 0, 255]]
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='RandomFlip', prob=0.0),
    dict(type='Normalize', **img_norm_cfg), dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_semantic_seg'])]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiScaleFlipAug', img_scale=(32, 32), flip=False,
         transforms=[dict(type='Resize', keep_ratio=True), dict(type='Normalize', **img_norm_cfg),
                     dict(type='ImageToTensor', keys=['img']), dict(type='Collect', keys=['img'])])]
_split = lambda s, p: dict(type=dataset_type, data_root=data_root, img_dir=f'img_dir/{s}', ann_dir=f'ann_dir/{s}',
                           classes=classes, palette=palette, pipeline=p)
data = dict(samples_per_gpu=4, workers_per_gpu=0, train=_split('train', train_pipeline),
            val=_split('val', test_pipeline), test=_split('val', test_pipeline))
log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook', by_epoch=False)])
dist_params = dict(backend='gloo')
log_level = 'INFO'
load_from = None
resume_from = None
workflow = [('train', 1)]
cudnn_benchmark = False
optimizer = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=0.0005)
optimizer_config = dict()
lr_config = dict(policy='poly', power=0.9, min_lr=1e-4, by_epoch=False)
runner = dict(type='IterBasedRunner', max_iters=8)
checkpoint_config = dict(by_epoch=False, interval=4)
evaluation = dict(interval=8, metric='mIoU', pre_eval=True)
