# SETR-Naive, ViT-L/16, 512x512 crops, 160k iterations on ADE20K (150 classes); mmsegmentation 0.30 values.
# The ADE20K variant: img_size 512 (the checkpoint's position grid is resized once at load), no dropout in the
# ViT, auxiliary heads with two 1x1 conv + 4x steps, and sliding-window inference on 512x512 crops.
_base_ = [
    '../_base_/models/setr_naive.py',
    '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_160k.py',
]

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(img_size=(512, 512), drop_rate=0., init_cfg=dict(type='Pretrained', checkpoint='pretrain/vit_large_p16.pth')),
    decode_head=dict(num_classes=150),
    auxiliary_head=[dict(type='SETRUPHead', in_channels=1024, channels=256, in_index=i, num_classes=150, dropout_ratio=0,
                         norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'), num_convs=2, kernel_size=1, align_corners=False,
                         loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4))
                    for i in range(3)],
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))

optimizer = dict(lr=0.01, weight_decay=0.0, paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.)}))
data = dict(samples_per_gpu=2)          # 8 GPUs x 2 images in mmseg's runs
