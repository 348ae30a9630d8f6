"""Tiny stand-ins for runner tests: a 1-conv segmentor with the segmentor train_step/val_step interface, random data."""
import logging
import torch, torch.nn as nn, torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from segnb.runner.runner import IterBasedRunner, EpochBasedRunner
from segnb.utils import get_logger


class OneConvSeg(nn.Module):
    "1x1 conv + optional dropout (so forward draws random numbers) + optional NaN at a given call."
    def __init__(self, dropout=0.0, nan_at=None):
        super().__init__()
        self.conv, self.drop, self.nan_at, self.calls = nn.Conv2d(3, 2, 1), nn.Dropout(dropout), nan_at, 0

    def losses(self, batch):
        self.calls += 1
        loss = F.cross_entropy(self.drop(self.conv(batch['img'])), batch['gt_semantic_seg'][:, 0])
        if self.nan_at is not None and self.calls == self.nan_at: loss = loss * float('nan')
        return dict(loss=loss, log_vars={'decode.loss_ce': loss.item(), 'loss': loss.item()}, num_samples=len(batch['img']))

    def train_step(self, data_batch, optimizer, **kw): return self.losses(data_batch)
    def val_step(self, data_batch, **kw): return self.losses(data_batch)


class TinyData(Dataset):
    "n random 8x8 images with 2-class masks; `augment` adds a random flip drawn from torch's global RNG."
    def __init__(self, n=8, augment=False):
        g = torch.Generator().manual_seed(0)
        self.x, self.y, self.augment = torch.randn(n, 3, 8, 8, generator=g), torch.randint(0, 2, (n, 1, 8, 8), generator=g), augment
    def __len__(self): return len(self.x)
    def __getitem__(self, i):
        x, y = self.x[i], self.y[i]
        if self.augment and torch.rand(()) < 0.5: x, y = x.flip(-1), y.flip(-1)
        return dict(img=x, gt_semantic_seg=y)


def tiny_loader(shuffle=True, n=8, augment=False, batch_size=2):
    return DataLoader(TinyData(n, augment), batch_size=batch_size, shuffle=shuffle)


def quiet_logger(): return get_logger('segnb.tests', log_level=logging.WARNING)


def make_runner(work_dir, max_iters=6, model=None, seed=0, checkpoint_interval=2, runner_cls=IterBasedRunner,
                optimizer=None, log=True, **hooks):
    "An IterBasedRunner with mmseg's default hooks (poly LR, SGD with momentum, checkpoints, text log)."
    torch.manual_seed(seed)
    model = model() if callable(model) and not isinstance(model, nn.Module) else model or OneConvSeg()
    opt = optimizer or torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    kw = dict(max_iters=max_iters) if runner_cls is IterBasedRunner else dict(max_epochs=max_iters)
    r = runner_cls(model, optimizer=opt, work_dir=work_dir, logger=quiet_logger(), **kw)
    by_epoch = runner_cls is EpochBasedRunner
    r.register_training_hooks(
        lr_config=hooks.pop('lr_config', dict(policy='poly', power=0.9, min_lr=1e-4, by_epoch=by_epoch)),
        optimizer_config=hooks.pop('optimizer_config', dict()),
        checkpoint_config=dict(interval=checkpoint_interval, by_epoch=by_epoch, **hooks.pop('checkpoint_kw', {})),
        log_config=dict(interval=1, hooks=[dict(type='TextLoggerHook', by_epoch=by_epoch)]) if log else None, **hooks)
    return r


def record_losses(runner):
    "A list that fills with the training loss of every iteration the runner runs."
    from segnb.runner.hooks import Hook
    seen = []
    class Record(Hook):
        def after_train_iter(self, r): seen.append(r.outputs['log_vars']['loss'])
    runner.register_hook(Record(), 'LOWEST')
    return seen
