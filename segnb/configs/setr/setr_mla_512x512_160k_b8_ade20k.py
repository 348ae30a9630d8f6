# SETR-MLA, ViT-L/16, 512x512 crops, 160k iterations on ADE20K (150 classes), batch 8; mmsegmentation 0.30 values.
# The ADE20K variant: img_size 512 (the checkpoint's position grid is resized once at load), no dropout in the ViT,
# norm + ReLU in the auxiliary classifiers, and sliding-window inference on 512x512 crops.
_base_ = [
    '../_base_/models/setr_mla.py',
    '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_160k.py',
]

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(img_size=(512, 512), drop_rate=0., init_cfg=dict(type='Pretrained', checkpoint='pretrain/vit_large_p16.pth')),
    decode_head=dict(num_classes=150),
    auxiliary_head=[dict(type='FCNHead', in_channels=256, channels=256, in_index=i, dropout_ratio=0, norm_cfg=norm_cfg,
                         act_cfg=dict(type='ReLU'), num_convs=0, kernel_size=1, concat_input=False, num_classes=150,
                         align_corners=False, loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4))
                    for i in range(4)],
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))

optimizer = dict(lr=0.001, weight_decay=0.0, paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.)}))
data = dict(samples_per_gpu=1)          # 8 GPUs x 1 image in mmseg's runs
