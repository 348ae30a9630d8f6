"""Backbone benchmark: ResNetV1c-50-D8 (the PSPNet/DeepLab backbone) train step (fwd + bwd) and inference, fp32 on CPU.

segnb in NCHW and channels_last, side by side in one process, alternating, warm-up dropped, medians; against
mmsegmentation 0.30's own ResNetV1c when it imports (run this file with the mmseg scratch venv's python, with the
repo and a folder holding fastcore on PYTHONPATH). mmseg is never a segnb dependency.
Timings on a shared 2-core machine are noisy: compare the ratios of one run, not absolute seconds across runs.

    python benchmarks/bench_resnet.py --size 256 --batch 2 --reps 5
"""
import argparse, statistics, sys, time, types
import torch

from segnb.models.backbones.resnet import ResNetV1c

CFG = dict(depth=50, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), contract_dilation=True)


def mmseg_backbone():
    "mmseg's ResNetV1c built from the same config, or None when mmseg is not importable."
    class _Ext(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith('__'): raise AttributeError(name)
            return lambda *a, **k: None
    sys.modules.setdefault('mmcv._ext', _Ext('mmcv._ext'))
    try:
        import warnings; warnings.filterwarnings('ignore')
        from mmseg.models import build_backbone
    except Exception as e:
        print(f'mmseg not importable ({type(e).__name__}); segnb only'); return None
    return build_backbone(dict(type='ResNetV1c', **CFG))


def train_step(model, x):
    for p in model.parameters(): p.grad = None
    outs = model(x)
    sum(o.float().mean() for o in outs).backward()


@torch.no_grad()
def infer(model, x): model(x)


def bench(cases, fn, reps):
    "Alternate the cases `reps + 1` times; drop the first round; return the medians in seconds."
    times = {name: [] for name in cases}
    for r in range(reps + 1):
        for name, (model, x) in cases.items():
            t = time.perf_counter(); fn(model, x); dt = time.perf_counter() - t
            if r: times[name].append(dt)
    return {name: statistics.median(v) for name, v in times.items()}


def report(title, med, base):
    print(f'\n{title}')
    for name, t in med.items(): print(f'  {name:24s} {t:7.3f} s   x{t / med[base]:.2f} of {base}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--size', type=int, default=256); ap.add_argument('--batch', type=int, default=2)
    ap.add_argument('--reps', type=int, default=5); ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--infer-size', type=int, default=512)
    a = ap.parse_args()
    torch.set_num_threads(a.threads); torch.manual_seed(0)
    ours = ResNetV1c(**CFG); ours.init_weights()
    ours_cl = ResNetV1c(**CFG).to(memory_format=torch.channels_last); ours_cl.load_state_dict(ours.state_dict())
    models = {'segnb NCHW': ours, 'segnb channels_last': ours_cl}
    mm = mmseg_backbone()
    if mm is not None:
        mm.load_state_dict(ours.state_dict(), strict=True)
        models = {'mmseg NCHW': mm, **models}
    base = next(iter(models))
    x = torch.randn(a.batch, 3, a.size, a.size)
    def inputs(model, x): return x.contiguous(memory_format=torch.channels_last) if 'channels_last' in model else x
    for m in models.values(): m.train()     # mmseg's ResNet.train returns None
    cases = {n: (m, inputs(n, x)) for n, m in models.items()}
    report(f'train step (fwd+bwd), batch {a.batch}, {a.size}x{a.size}, {a.threads} threads, median of {a.reps}',
           bench(cases, train_step, a.reps), base)
    xi = torch.randn(1, 3, a.infer_size, a.infer_size)
    for m in models.values(): m.eval()
    cases = {n: (m, inputs(n, xi)) for n, m in models.items()}
    report(f'inference, batch 1, {a.infer_size}x{a.infer_size}, median of {a.reps}', bench(cases, infer, a.reps), base)


if __name__ == '__main__':
    main()
