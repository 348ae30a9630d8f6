# The tiny PSPNet with GroupNorm: per-sample normalisation, so 2 processes x 2 images and 1 process x 4 images
# compute the same loss and gradients (with BN each rank would normalise over its own half of the batch).
_base_ = './tiny_pspnet.py'
norm_cfg = dict(type='GN', num_groups=4, requires_grad=True)
model = dict(backbone=dict(norm_cfg=norm_cfg), decode_head=dict(norm_cfg=norm_cfg))
