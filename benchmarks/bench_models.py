"""PSPNet-R50-D8 (segnb's `_base_/models/pspnet_r50-d8.py`, SyncBN->BN, 19 classes) against mmsegmentation 0.30.

Figures (issues 3 and 10): train step (forward + loss + backward + SGD, auxiliary head on) at batch 2 for each
`--sizes`, inference (`forward_test`: whole image, softmax, argmax, numpy) at batch 1, and peak RSS of build + 2 train
steps. Timings run in ONE process, alternating between the models step by step, warm-up dropped, medians, fp32,
`--threads` CPU threads. Models: mm0 = mmseg 0.30 built from the same dict; segnb = segnb's reference path (mmseg's
arithmetic); segnb-fast = the same model with `segnb.speedups` applied: FAST_TRAIN for training and RSS, and for
inference a copy with FAST_INFER (the same plus `fold_bn`); segnb-fast-bf16 (only on CPUs with avx512_bf16/AMX,
reported separately) adds CPU bf16 autocast, with its pixel agreement. segnb's weights are loaded into mm0 (strict),
so the fp32 models compute the same numbers, and the first step's losses are printed to show it. Peak RSS: one fresh
process per model (build + 2 train steps), alternating, `ru_maxrss`.

mmseg is never a segnb dependency: it lives in a scratch venv named by SEGNB_MMSEG_VENV (its python runs this file
with the repo and fastcore on PYTHONPATH). Without it only segnb runs. The machine is shared: timings are noisy;
compare the ratios of one run, not absolute seconds across runs.

    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_models.py                  # the issue's figures
    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_models.py --quick          # 64x64 smoke run
"""
import argparse, json, os, resource, statistics, subprocess, sys, tempfile, time, types, warnings

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, 'segnb', 'configs', '_base_', 'models', 'pspnet_r50-d8.py')
FAST_TRAIN = ['lowres_upsampled', 'channels_last', 'winograd', 'recompute=3']   # stages 1-3 recomputed whole: RSS <= 0.75x with Winograd's buffers
FAST_INFER = FAST_TRAIN + ['fold_bn']


def _stub_mmcv_ext():
    "mmseg's focal loss imports mmcv.ops at module level; the pure-Python mmcv has no compiled ops."
    class _Ext(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith('__'): raise AttributeError(name)
            return lambda *a, **k: None
    sys.modules.setdefault('mmcv._ext', _Ext('mmcv._ext'))


def model_cfg():
    "The model dict of segnb's PSPNet config, SyncBN -> BN, no pretrained weights."
    from segnb.config import Config
    def bn(d):
        if isinstance(d, dict): return {k: ('BN' if k == 'type' and v == 'SyncBN' else bn(v)) for k, v in d.items()}
        if isinstance(d, (list, tuple)): return type(d)(bn(v) for v in d)
        return d
    return dict(bn(json.loads(json.dumps(Config.fromfile(CONFIG).model))), pretrained=None)


def speedups_of(impl, inference=False):
    "The speed-ups of model `impl` (segnb, segnb-fast, segnb-fast-bf16) for training or inference."
    if impl == 'segnb': return []
    return (FAST_INFER if inference else FAST_TRAIN) + (['bf16'] if impl.endswith('bf16') else [])


def build(impl, cfg):
    "A PSPNet in train mode for `impl` in mm0 / segnb / segnb-fast / segnb-fast-bf16."
    if impl == 'mm0':
        _stub_mmcv_ext()
        from mmcv import ConfigDict
        from mmseg.models import build_segmentor
        return build_segmentor(ConfigDict(cfg)).train()
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    from segnb.speedups import apply_speedups
    return apply_speedups(build_segmentor(cfg).train(), speedups_of(impl), training=True)


def for_inference(impl, model):
    "`model` in eval mode; for the fast models a copy with the inference speed-ups (fold_bn) added."
    import copy
    from segnb.speedups import apply_speedups
    model.eval()
    if impl in ('mm0', 'segnb'): return model
    extra = [n for n in speedups_of(impl, inference=True) if n not in speedups_of(impl)]
    return apply_speedups(copy.deepcopy(model), extra)


def batch(n, size, seed=0):
    import torch
    g = torch.Generator().manual_seed(seed)
    gt = torch.randint(0, 19, (n, 1, size, size), generator=g)
    gt[:, :, :size // 8] = 255
    metas = [dict(ori_shape=(size, size, 3), img_shape=(size, size, 3), pad_shape=(size, size, 3), flip=False,
                  scale_factor=1.0) for _ in range(n)]
    return dict(img=torch.randn(n, 3, size, size, generator=g), img_metas=metas, gt_semantic_seg=gt)


def train_step(model, opt, data):
    "One iteration as the runner does it: train_step, zero_grad, backward, SGD step; returns the loss."
    out = model.train_step(data, opt)
    opt.zero_grad()
    out['loss'].backward()
    opt.step()
    return out['log_vars']['loss']


def infer(model, data):
    import torch
    with torch.no_grad(): return model(return_loss=False, img=[data['img']], img_metas=[data['img_metas']], rescale=True)


def sgd(model):
    import torch
    return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)


def alternate(models, fn, reps, warmup=1):
    "Run `fn(name)` for every model in turn, `warmup + reps` rounds; medians of the timed rounds, in seconds."
    times = {n: [] for n in models}
    for r in range(warmup + reps):
        for n in models:
            t = time.perf_counter(); fn(n); dt = time.perf_counter() - t
            if r >= warmup: times[n].append(dt)
    return {n: statistics.median(v) for n, v in times.items()}


def report(title, med, unit='s'):
    base = 'mm0' if 'mm0' in med else next(iter(med))
    print(f'\n{title}')
    for n, v in med.items(): print(f'  {n:15s} {v:9.3f} {unit}   x{v / med[base]:.2f} of {base}')
    sys.stdout.flush()


def run_timings(args, impls):
    "All timing figures in this process; returns {figure: {model: median seconds}} (also written to `--results`)."
    import torch
    torch.set_num_threads(args.threads)
    cfg = model_cfg()
    torch.manual_seed(0)
    models = {n: build(n, cfg) for n in impls}
    sd = models[impls[-1]].state_dict()
    for m in models.values(): m.load_state_dict(sd, strict=True)
    opts = {n: sgd(m) for n, m in models.items()}          # same data and seeds: the models stay in lockstep
    results = {}
    for size in args.sizes:
        data = batch(args.batch, size)
        first = {}
        def step(n):
            torch.manual_seed(1)                      # same dropout masks in every model
            loss = train_step(models[n], opts[n], data)
            first.setdefault(n, loss)
        med = alternate(models, step, args.reps)
        print(f'first-step loss: ' + ', '.join(f'{n} {v:.4f}' for n, v in first.items()))
        report(f'train step, batch {args.batch}, {size}x{size} (median of {args.reps})', med)
        results[f'train b{args.batch} {size}x{size}'] = med
    models = {n: for_inference(n, m) for n, m in models.items()}
    data = batch(1, args.infer_size)
    preds = {}
    med = alternate(models, lambda n: preds.__setitem__(n, infer(models[n], data)), args.reps)
    agree = {n: float((preds[n][0] == preds[impls[0]][0]).mean()) for n in impls}
    print('inference predictions identical to ' + impls[0] + ': ' + ', '.join(f'{n} {a:.2%}' for n, a in agree.items()))
    report(f'inference (forward_test), batch 1, {args.infer_size}x{args.infer_size} (median of {args.reps})', med)
    results[f'inference b1 {args.infer_size}x{args.infer_size}'] = med
    if args.results:
        with open(args.results, 'w') as f: json.dump(results, f)
    return results


def rss_worker(impl, size, batch_size, threads):
    "Peak RSS (MiB) of build + 2 train steps in this fresh process."
    import torch
    torch.set_num_threads(threads)
    model = build(impl, model_cfg())
    opt, data = sgd(model), batch(batch_size, size)
    for _ in range(2): train_step(model, opt, data)
    print(json.dumps(dict(impl=impl, rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))


def python_for(impl, venv):
    "The interpreter and environment that run `impl`: the mmseg venv's python with the repo and fastcore on the path."
    if not venv: return sys.executable, dict(os.environ)
    import fastcore
    shim = tempfile.mkdtemp(prefix='segnb_bench_')
    os.symlink(os.path.dirname(fastcore.__file__), os.path.join(shim, 'fastcore'))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, shim]))
    return os.path.join(venv, 'bin', 'python'), env


def run_rss(args, impls, py, env):
    "One fresh process per model and repetition, alternating."
    rss = {n: [] for n in impls}
    for _ in range(args.rss_reps):
        for n in impls:
            cmd = [py, __file__, '--rss-worker', n, '--rss-size', str(args.rss_size), '--batch', str(args.batch),
                   '--threads', str(args.threads)] + (['--fast-train', args.fast_train] if args.fast_train else [])
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            rss[n].append(json.loads(out.strip().splitlines()[-1])['rss_mib'])
    med = {n: statistics.median(v) for n, v in rss.items()}
    report(f'peak RSS of build + 2 train steps, batch {args.batch}, {args.rss_size}x{args.rss_size} '
           f'(median of {args.rss_reps} processes)', med, 'MiB')
    return {f'peak RSS b{args.batch} {args.rss_size}x{args.rss_size}': med}


def summary(results):
    "Issue 10's table: each segnb path as a ratio of mmseg 0.30 (of the first model where mmseg did not run)."
    rows = [n for n in ('segnb', 'segnb-fast', 'segnb-fast-bf16') if any(n in med for med in results.values())]
    if not rows: return
    cols = list(results)
    base = 'mm0' if any('mm0' in med for med in results.values()) else rows[0]
    print(f'\nsummary: ratios of {"mmseg 0.30" if base == "mm0" else base} (issue 10, item 3; FAST_TRAIN = {", ".join(FAST_TRAIN)})')
    print('  ' + f'{"path":16s}' + ''.join(f'{c:>22s}' for c in cols))
    for n in rows:
        cells = [f'x{results[c][n] / results[c][base]:.3f}' if n in results[c] and base in results[c] else '-' for c in cols]
        print('  ' + f'{n:16s}' + ''.join(f'{c:>22s}' for c in cells))


def _has_bf16():
    from segnb.speedups import cpu_bf16_flags
    return bool(cpu_bf16_flags())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sizes', type=int, nargs='+', default=[512])
    ap.add_argument('--infer-size', type=int, default=512)
    ap.add_argument('--rss-size', type=int, default=512)
    ap.add_argument('--batch', type=int, default=2)
    ap.add_argument('--reps', type=int, default=3, help='timed rounds after one warm-up round')
    ap.add_argument('--rss-reps', type=int, default=1)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--quick', action='store_true', help='64x64 everywhere, 2 rounds: a smoke test')
    ap.add_argument('--skip-rss', action='store_true')
    ap.add_argument('--no-bf16', dest='bf16', action='store_false', help='leave out segnb-fast-bf16')
    ap.add_argument('--rss-only', action='store_true')
    ap.add_argument('--fast-train', help='comma-separated speed-ups of segnb-fast for training (default: FAST_TRAIN); '
                    'inference adds fold_bn')
    ap.add_argument('--results', help=argparse.SUPPRESS)
    ap.add_argument('--in-venv', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--rss-worker', help=argparse.SUPPRESS)
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    if args.fast_train:
        global FAST_TRAIN, FAST_INFER
        from segnb.speedups import parse_speedups
        FAST_TRAIN = parse_speedups(args.fast_train); FAST_INFER = FAST_TRAIN + ['fold_bn']
    if args.rss_worker: return rss_worker(args.rss_worker, args.rss_size, args.batch, args.threads)
    if args.quick: args.sizes, args.infer_size, args.rss_size, args.reps = [64], 64, 64, 2
    venv = os.environ.get('SEGNB_MMSEG_VENV')
    impls = (['mm0'] if venv else []) + ['segnb', 'segnb-fast'] + (['segnb-fast-bf16'] if args.bf16 and _has_bf16() else [])
    if args.in_venv: return run_timings(args, impls)
    print(f'PSPNet-R50-D8, fp32, {args.threads} threads; models: {", ".join(impls)}; shared machine: timings are noisy')
    py, env = python_for('mm0', venv)
    results = {}
    if args.rss_only: pass
    elif venv:   # timings in one process of the venv's python (it has torch and mmseg; segnb comes via PYTHONPATH)
        fd, path = tempfile.mkstemp(prefix='segnb_bench_', suffix='.json'); os.close(fd)
        subprocess.run([py, __file__, '--in-venv', '--results', path] + sys.argv[1:], env=env, check=True)
        with open(path) as f: results = json.load(f)
        os.remove(path)
    else: results = run_timings(args, impls)
    if not args.skip_rss: results.update(run_rss(args, [n for n in impls if not n.endswith('bf16')], py, env))
    summary(results)


if __name__ == '__main__': main()
