# BEiT-base + UPerNet on ADE20K, 640x640 crops, 2 images per GPU on 8 GPUs, 160k iterations; mmsegmentation 0.x values.
# AdamW with layer-wise learning-rate decay (0.9 per layer); slide inference over 640x640 windows, since BEiT's
# relative position tables fit one patch grid (img_size).
_base_ = [
    '../_base_/models/upernet_beit.py', '../_base_/datasets/ade20k_640x640.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k.py'
]

model = dict(
    pretrained='pretrain/beit_base_patch16_224_pt22k_ft22k.pth',
    test_cfg=dict(mode='slide', crop_size=(640, 640), stride=(426, 426)))

optimizer = dict(_delete_=True, type='AdamW', lr=3e-5, betas=(0.9, 0.999), weight_decay=0.05,
                 constructor='LayerDecayOptimizerConstructor', paramwise_cfg=dict(num_layers=12, layer_decay_rate=0.9))

lr_config = dict(_delete_=True, policy='poly', warmup='linear', warmup_iters=1500, warmup_ratio=1e-6, power=1.0,
                 min_lr=0.0, by_epoch=False)

data = dict(samples_per_gpu=2)
