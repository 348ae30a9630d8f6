"segnb's runner, as mmcv 1.x's `mmcv.runner`. Importing this package registers every built-in hook, runner and optimizer."
from . import hooks, lr, loggers, optimizer, iter_loader, checkpoint_hooks, testing, eval_hooks, resume, runner, layer_decay
from .runner import IterBasedRunner, EpochBasedRunner, build_runner

__all__ = ['hooks', 'lr', 'loggers', 'optimizer', 'iter_loader', 'checkpoint_hooks', 'testing', 'eval_hooks', 'resume', 'runner', 'layer_decay',
           'IterBasedRunner', 'EpochBasedRunner', 'build_runner']
