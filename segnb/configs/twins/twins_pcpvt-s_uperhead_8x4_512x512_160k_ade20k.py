# Twins-PCPVT-S + UPerHead, 512x512 crops, 160k iterations on ADE20K (150 classes), AdamW with a poly schedule after
# a linear warm-up. mmsegmentation 0.30 values.
_base_ = [
    '../_base_/models/twins_pcpvt-s_upernet.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k.py'
]

optimizer = dict(_delete_=True, type='AdamW', lr=0.00006, betas=(0.9, 0.999), weight_decay=0.01,
                 paramwise_cfg=dict(custom_keys={'pos_block': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}))

lr_config = dict(_delete_=True, policy='poly', warmup='linear', warmup_iters=1500, warmup_ratio=1e-6, power=1.0,
                 min_lr=0.0, by_epoch=False)
