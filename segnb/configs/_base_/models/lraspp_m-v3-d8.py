# LR-ASPP on MobileNetV3-large (Howard et al., ICCV 2019): the backbone's last two strides become dilations
# (output stride 8); the head gates a 1x1 conv of the 1/8 map with a pooled sigmoid branch and fuses the 1/2 and
# 1/4 maps. BN eps is 0.001, as in the TensorFlow original. Values follow mmsegmentation 0.x.

norm_cfg = dict(type='SyncBN', eps=0.001, requires_grad=True)

model = dict(
    type='EncoderDecoder',
    backbone=dict(type='MobileNetV3', arch='large', out_indices=(1, 3, 16), norm_cfg=norm_cfg),
    decode_head=dict(type='LRASPPHead', in_channels=(16, 24, 960), in_index=(0, 1, 2), channels=128,
                     input_transform='multiple_select', dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg,
                     act_cfg=dict(type='ReLU'), align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
