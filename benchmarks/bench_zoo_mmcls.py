"""ConvNeXt and PoolFormer (mmseg's `mmcls.ConvNeXt`, `mmcls.PoolFormer`): segnb against mmsegmentation 0.30 + mmcls 0.25.

Speed: bench_zoo.py's method (the shipped config's model, SyncBN -> BN, no pretrained weights, built by segnb and by
mmseg from the same dict, segnb's weights loaded into mmseg's model; whole-image inference at batch 1, fp32,
`--threads` CPU threads; both models in ONE process, alternating call by call, one warm-up round dropped, median of
`--reps`; share of identical predicted pixels). Memory: peak RSS of build + 2 inferences, one fresh process per model
and repetition, alternating; every such process imports both segnb and mmseg/mmcls, so they start alike.
The machine is shared: compare the ratios of one run, not seconds across runs.

    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo_mmcls.py --size 512 --reps 3
"""
import argparse, json, os, resource, statistics, subprocess, sys, time, warnings
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models import _stub_mmcv_ext, batch, infer, python_for
from bench_zoo import model_cfg

FAMILIES = {
    'convnext': 'convnext/upernet_convnext_tiny_fp16_512x512_160k_ade20k.py',
    'poolformer': 'poolformer/fpn_poolformer_s12_8x4_512x512_40k_ade20k.py',
}


def cfg_of(family):
    cfg = model_cfg(FAMILIES[family])
    cfg['backbone'] = dict(cfg['backbone'], init_cfg=None)
    cfg['test_cfg'] = dict(mode='whole')       # ConvNeXt's config slides a 512 window: whole-image, as the other families
    return cfg


def build(impl, cfg):
    "`impl` ('segnb' or 'mmseg')'s model of `cfg`, in eval mode; both libraries imported either way."
    import torch
    _stub_mmcv_ext()
    import mmcls.models  # noqa: F401  registers mmcls.ConvNeXt / mmcls.PoolFormer in mmseg's registry
    from mmcv import ConfigDict
    from mmseg.models import build_segmentor as mm_build
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    torch.manual_seed(0)
    m = build_segmentor(cfg) if impl == 'segnb' else mm_build(ConfigDict(cfg))
    m.eval()
    return m


def alternate(models, fn, reps, warmup=1):
    "bench_models.alternate, timing each call by the clock and by this process's CPU time (all threads): medians of both."
    wall, cpu = {n: [] for n in models}, {n: [] for n in models}
    for r in range(warmup + reps):
        for n in models:
            t, c = time.perf_counter(), time.process_time()
            fn(n)
            if r >= warmup: wall[n].append(time.perf_counter() - t); cpu[n].append(time.process_time() - c)
    return ({n: statistics.median(v) for n, v in wall.items()}, {n: statistics.median(v) for n, v in cpu.items()})


def run(args):
    import torch
    torch.set_num_threads(args.threads)
    print(f'fp32, batch 1, {args.size}x{args.size}, {args.threads} threads, median of {args.reps}; shared machine: noisy')
    print('CPU seconds (all threads) are less sensitive to other processes on a busy machine than wall seconds')
    print(f'{"family":10s} {"segnb s":>8s} {"mmseg s":>8s} {"ratio":>6s} {"segnb cpu":>9s} {"mmseg cpu":>9s} {"ratio":>6s} {"same px":>8s}')
    data = batch(1, args.size)
    for family in args.families:
        cfg = cfg_of(family)
        models = {n: build(n, cfg) for n in ('segnb', 'mmseg')}
        models['mmseg'].load_state_dict(models['segnb'].state_dict(), strict=True)
        preds = {}
        med, cpu = alternate(models, lambda n: preds.__setitem__(n, infer(models[n], data)), args.reps)
        same = float((preds['segnb'][0] == preds['mmseg'][0]).mean())
        print(f'{family:10s} {med["segnb"]:8.3f} {med["mmseg"]:8.3f} {med["segnb"] / med["mmseg"]:6.2f} '
              f'{cpu["segnb"]:9.3f} {cpu["mmseg"]:9.3f} {cpu["segnb"] / cpu["mmseg"]:6.2f} {same:8.2%}', flush=True)


def rss_worker(args):
    import torch
    torch.set_num_threads(args.threads)
    model, data = build(args.impl, cfg_of(args.families[0])), batch(1, args.size)
    for _ in range(2): infer(model, data)
    print(json.dumps(dict(rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))


def run_rss(args, py, env):
    print(f'peak RSS of build + 2 inferences, batch 1, {args.size}x{args.size} (median of {args.rss_reps} processes)')
    for family in args.families:
        rss = {'segnb': [], 'mmseg': []}
        for _ in range(args.rss_reps):
            for impl in rss:
                cmd = [py, os.path.abspath(__file__), '--in-venv', '--rss-worker', '--impl', impl, '--families', family,
                       '--size', str(args.size), '--threads', str(args.threads)]
                out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
                rss[impl].append(json.loads(out.strip().splitlines()[-1])['rss_mib'])
        med = {n: statistics.median(v) for n, v in rss.items()}
        print(f'{family:10s} segnb {med["segnb"]:7.0f} MiB  mmseg {med["mmseg"]:7.0f} MiB  ratio {med["segnb"] / med["mmseg"]:.3f}',
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--families', nargs='+', default=list(FAMILIES), choices=list(FAMILIES))
    ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--reps', type=int, default=3, help='timed rounds after one warm-up round')
    ap.add_argument('--rss-reps', type=int, default=1)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--skip-rss', action='store_true')
    ap.add_argument('--in-venv', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--rss-worker', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--impl', default='segnb', help=argparse.SUPPRESS)
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    if args.rss_worker: return rss_worker(args)
    if args.in_venv: return run(args)
    venv = os.environ.get('SEGNB_MMSEG_VENV')
    if not venv: sys.exit('bench_zoo_mmcls.py compares with mmseg: set SEGNB_MMSEG_VENV to a venv with mmsegmentation 0.30 and mmcls 0.25')
    py, env = python_for('mm0', venv)
    subprocess.run([py, os.path.abspath(__file__), '--in-venv'] + sys.argv[1:], env=env, check=True)
    if not args.skip_rss: run_rss(args, py, env)


if __name__ == '__main__': main()
