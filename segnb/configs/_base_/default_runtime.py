# Runtime settings shared by every mmsegmentation 0.x config: logging, distributed backend, what to load.

# log every 50 iterations to the terminal (segnb's widgets and TensorboardLoggerHook can be added to `hooks`)
log_config = dict(interval=50, hooks=[dict(type='TextLoggerHook', by_epoch=False)])
dist_params = dict(backend='nccl')     # segnb uses gloo instead when there is no GPU
log_level = 'INFO'
load_from = None                       # a checkpoint to start from (weights only)
resume_from = None                     # a checkpoint to resume (weights, optimizer, iteration)
workflow = [('train', 1)]
cudnn_benchmark = True
