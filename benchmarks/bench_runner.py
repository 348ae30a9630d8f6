"""Runner overhead: seconds per iteration of IterBasedRunner with mmseg's default hooks (poly LR, invalid-loss guard,
optimizer, timer, text logger every 50 iterations, resumable-position snapshot) against a hand-written loop doing the
same forward/backward/step, in the same process. Prints medians over repeats and the overhead per iteration.

    python benchmarks/bench_runner.py [--iters 200] [--repeats 5] [--size 64]

Timings are noisy on a shared machine: compare the two columns of one run, not runs with each other."""
import argparse, logging, statistics, sys, tempfile, time
import torch, torch.nn as nn, torch.nn.functional as F
from torch.utils.data import DataLoader
from segnb.runner.runner import IterBasedRunner
from segnb.utils import get_logger


class Net(nn.Module):
    "Three 3x3 convs, the segmentor train_step interface."
    def __init__(self, width):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(width, 2, 1))
    def train_step(self, batch, optimizer, **kw):
        loss = F.cross_entropy(self.body(batch['img']), batch['gt_semantic_seg'][:, 0])
        return dict(loss=loss, log_vars={'decode.loss_ce': loss.item(), 'loss': loss.item()}, num_samples=len(batch['img']))


def loader(size, n=32):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 3, size, size, generator=g), torch.randint(0, 2, (n, 1, size, size), generator=g)
    return DataLoader([dict(img=a, gt_semantic_seg=b) for a, b in zip(x, y)], batch_size=4, shuffle=True)


def plain(model, iters, size):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    it, dl = iter(loader(size)), loader(size)
    t0 = time.perf_counter()
    for i in range(iters):
        for g in opt.param_groups: g['lr'] = (0.01 - 1e-4) * (1 - i / iters) ** 0.9 + 1e-4
        try: batch = next(it)
        except StopIteration: it = iter(dl); batch = next(it)
        out = model.train_step(batch, opt)
        opt.zero_grad(); out['loss'].backward(); opt.step()
    return (time.perf_counter() - t0) / iters


def with_runner(model, iters, size, work_dir):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    logger = get_logger('segnb.bench', log_level=logging.WARNING)
    r = IterBasedRunner(model, optimizer=opt, work_dir=work_dir, logger=logger, max_iters=iters)
    r.register_training_hooks(dict(policy='poly', power=0.9, min_lr=1e-4), dict(), None,
                              dict(interval=50, hooks=[dict(type='TextLoggerHook')]))
    t0 = time.perf_counter()
    r.run([loader(size)], [('train', 1)])
    return (time.perf_counter() - t0) / iters


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--iters', type=int, default=200); p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--size', type=int, default=64); p.add_argument('--width', type=int, default=16)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    base, run = [], []
    with tempfile.TemporaryDirectory() as d:
        for _ in range(a.repeats):
            torch.manual_seed(0); base.append(plain(Net(a.width), a.iters, a.size))
            torch.manual_seed(0); run.append(with_runner(Net(a.width), a.iters, a.size, d))
    b, r = statistics.median(base), statistics.median(run)
    print(f'{a.iters} iterations x {a.repeats} repeats, 4 images {a.size}x{a.size}, width {a.width}, 1 thread')
    print(f'hand-written loop : {b * 1e3:8.3f} ms/iter (median)')
    print(f'IterBasedRunner   : {r * 1e3:8.3f} ms/iter (median)')
    print(f'overhead          : {(r - b) * 1e6:8.1f} us/iter, ratio {r / b:.3f}')


if __name__ == '__main__':
    main(sys.argv[1:])
