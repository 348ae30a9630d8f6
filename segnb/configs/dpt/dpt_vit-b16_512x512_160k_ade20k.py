# DPT with ViT-B/16 on ADE20K, 512x512 crops, 2 images per GPU on 8 GPUs, 160k iterations; mmsegmentation 0.x values.
# AdamW without weight decay on position embeddings, class token and norms; linear warm-up then poly decay.
_base_ = [
    '../_base_/models/dpt_vit-b16.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k.py'
]

optimizer = dict(
    _delete_=True, type='AdamW', lr=0.00006, betas=(0.9, 0.999), weight_decay=0.01,
    paramwise_cfg=dict(custom_keys={'pos_embed': dict(decay_mult=0.), 'cls_token': dict(decay_mult=0.),
                                    'norm': dict(decay_mult=0.)}))

lr_config = dict(_delete_=True, policy='poly', warmup='linear', warmup_iters=1500, warmup_ratio=1e-6, power=1.0,
                 min_lr=0.0, by_epoch=False)

data = dict(samples_per_gpu=2, workers_per_gpu=2)
