# UPerNet + ConvNeXt-Tiny, 512x512 crops, 160k iterations on ADE20K; mmsegmentation 0.30 values.
# AdamW with stage-wise learning-rate decay (segnb.runner.layer_decay: the earlier a stage, the smaller its lr),
# poly schedule after a linear warm-up, fp16 training, sliding-window inference.
_base_ = [
    '../_base_/models/upernet_convnext.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k.py'
]
crop_size = (512, 512)
checkpoint_file = 'https://download.openmmlab.com/mmclassification/v0/convnext/downstream/convnext-tiny_3rdparty_32xb128-noema_in1k_20220301-795e9634.pth'  # noqa
model = dict(
    backbone=dict(type='mmcls.ConvNeXt', arch='tiny', out_indices=[0, 1, 2, 3], drop_path_rate=0.4,
                  layer_scale_init_value=1.0, gap_before_final_norm=False,
                  init_cfg=dict(type='Pretrained', checkpoint=checkpoint_file, prefix='backbone.')),
    decode_head=dict(in_channels=[96, 192, 384, 768], num_classes=150),
    auxiliary_head=dict(in_channels=384, num_classes=150),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)),
)

optimizer = dict(
    constructor='LearningRateDecayOptimizerConstructor', _delete_=True, type='AdamW', lr=0.0001,
    betas=(0.9, 0.999), weight_decay=0.05,
    paramwise_cfg={'decay_rate': 0.9, 'decay_type': 'stage_wise', 'num_layers': 6})

lr_config = dict(_delete_=True, policy='poly', warmup='linear', warmup_iters=1500, warmup_ratio=1e-6, power=1.0,
                 min_lr=0.0, by_epoch=False)

# By default, models are trained on 8 GPUs with 2 images per GPU
data = dict(samples_per_gpu=2)
# fp16: segnb's Fp16OptimizerHook (dynamic loss scale)
optimizer_config = dict(type='Fp16OptimizerHook', loss_scale='dynamic')
fp16 = dict()
