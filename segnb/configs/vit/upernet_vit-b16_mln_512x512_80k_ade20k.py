# UPerNet on ViT-B/16 with MultiLevelNeck, 512x512 crops, 80k iterations on ADE20K (150 classes); mmsegmentation 0.30
# values. Transformers train with AdamW (no weight decay on the position embedding, class token and norms) and a
# linear warmup into the poly decay, instead of the CNNs' SGD.
_base_ = [
    '../_base_/models/upernet_vit-b16_ln_mln.py',
    '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_80k.py',
]

model = dict(pretrained='pretrain/vit_base_patch16_224.pth', decode_head=dict(num_classes=150),
             auxiliary_head=dict(num_classes=150))

optimizer = dict(_delete_=True, type='AdamW', lr=0.00006, betas=(0.9, 0.999), weight_decay=0.01,
                 paramwise_cfg=dict(custom_keys={'pos_embed': dict(decay_mult=0.), 'cls_token': dict(decay_mult=0.),
                                                 'norm': dict(decay_mult=0.)}))
lr_config = dict(_delete_=True, policy='poly', warmup='linear', warmup_iters=1500, warmup_ratio=1e-6, power=1.0,
                 min_lr=0.0, by_epoch=False)
data = dict(samples_per_gpu=2)          # 8 GPUs x 2 images in mmseg's runs
