# 40k-iteration schedule (mmsegmentation 0.x values): SGD with poly decay, a checkpoint and an mIoU
# evaluation every tenth of the run.

optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
optimizer_config = dict()              # no gradient clipping; set grad_clip=dict(max_norm=...) to add it
# lr = (lr0 - min_lr) * (1 - iter / max_iters) ** power + min_lr, updated every iteration
lr_config = dict(policy='poly', power=0.9, min_lr=1e-4, by_epoch=False)
runner = dict(type='IterBasedRunner', max_iters=40000)
checkpoint_config = dict(by_epoch=False, interval=4000)
evaluation = dict(interval=4000, metric='mIoU', pre_eval=True)
