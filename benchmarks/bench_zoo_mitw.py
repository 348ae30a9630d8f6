"""SegFormer and Twins inference speed and memory: segnb against mmsegmentation 0.30, one representative config each.

Speed: the method of bench_zoo.py (the same models and weights on both sides, one process, alternating calls, median
of `--reps` after a warm-up, share of identical predicted pixels), in wall seconds and in CPU seconds of the process
(all threads; less disturbed than wall time when other work shares the cores). Memory: for each side, fresh processes that build
the model and run one inference; the peak RSS (VmHWM) and the peak's growth over the RSS after the build (the
inference's own working memory), medians of `--mem-reps` processes. The machine is shared: compare the ratios of one
run, not seconds.

    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo_mitw.py                  # every family, 512x512
    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo_mitw.py --families segformer --size 256 --reps 3

Measured 2026-12-07 on the shared 2-core machine (load average ~20: wall times are mostly waiting; the CPU-time
ratio is the steadier one), 512x512, batch 1, 2 threads, median of 5, every predicted pixel identical:

    family       segnb s  mmseg s  ratio  segnb cpu  mmseg cpu  ratio
    segformer      7.494    7.573   0.99      1.795      1.879   0.96
    twins-pcpvt   31.722   32.724   0.97      7.006      7.972   0.88
    twins-svt     30.381   30.803   0.99      5.703      5.823   0.98

An earlier wall-only run under the same load gave 1.40, 0.93, 0.98 (single runs at this load swing by 2x).
Peak RSS of build + one inference (MiB; median of 3 fresh processes) and its growth during the inference:

    family       segnb  mmseg  ratio  segnb +  mmseg +  ratio
    segformer      968   1183   0.82      429      435   0.99
    twins-pcpvt   1188   1444   0.82      456      504   0.91
    twins-svt     1063   1283   0.83      431      438   0.98
"""
import argparse, json, os, statistics, subprocess, sys, time, warnings
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models import batch, infer, python_for
from bench_zoo import build_pair, model_cfg

FAMILIES = {   # family: segnb config under segnb/configs (mmseg has a config of the same name)
    'segformer': 'segformer/segformer_mit-b0_512x512_160k_ade20k.py',
    'twins-pcpvt': 'twins/twins_pcpvt-s_uperhead_8x4_512x512_160k_ade20k.py',
    'twins-svt': 'twins/twins_svt-s_fpn_fpnhead_8x4_512x512_80k_ade20k.py',
}


def alternate_wall_and_cpu(models, fn, reps, warmup=1):
    "Run `fn(name)` for every model in turn, `warmup + reps` rounds: medians of wall seconds and of this process's"
    " CPU seconds (all threads), which a loaded machine disturbs less than wall time."
    wall, cpu = {n: [] for n in models}, {n: [] for n in models}
    for r in range(warmup + reps):
        for n in models:
            t, c = time.perf_counter(), time.process_time()
            fn(n)
            if r >= warmup: wall[n].append(time.perf_counter() - t); cpu[n].append(time.process_time() - c)
    return ({n: statistics.median(v) for n, v in wall.items()}, {n: statistics.median(v) for n, v in cpu.items()})


def _status_mib(field):
    "A memory field of /proc/self/status (VmRSS: now, VmHWM: peak of this program image), MiB. Unlike ru_maxrss,"
    " VmHWM starts afresh at exec, so a worker does not inherit the benchmark process's peak."
    with open('/proc/self/status') as f:
        line = next(l for l in f if l.startswith(field + ':'))
    return int(line.split()[1]) / 1024


def mem_worker(family, impl, size, threads):
    "In a fresh process: build only `impl`'s model of `family`, run one inference; print the peak RSS and its growth."
    import torch
    torch.set_num_threads(threads)
    cfg = model_cfg(FAMILIES[family])
    if impl == 'segnb':
        from segnb.models.segmentors.encoder_decoder import build_segmentor
        model = build_segmentor(cfg).eval()
    else:
        from bench_models import _stub_mmcv_ext
        _stub_mmcv_ext()
        from mmcv import ConfigDict
        from mmseg.models import build_segmentor
        model = build_segmentor(ConfigDict(cfg)).eval()
    data = batch(1, size)
    import gc; gc.collect()
    before = _status_mib('VmRSS')
    infer(model, data)
    peak = _status_mib('VmHWM')
    print(json.dumps(dict(peak=peak, growth=peak - before)))


def run(args):
    "The speed table, in this process (the venv's python), then the memory table from fresh processes."
    import torch
    torch.set_num_threads(args.threads)
    print(f'fp32, batch 1, {args.size}x{args.size}, {args.threads} threads, median of {args.reps}; shared machine: noisy')
    print(f'{"family":12s} {"segnb s":>8s} {"mmseg s":>8s} {"ratio":>6s} {"segnb cpu":>9s} {"mmseg cpu":>9s} {"ratio":>6s} '
          f'{"same px":>8s}')
    data = batch(1, args.size)
    for family in (args.families if args.reps else []):
        models, preds = build_pair(model_cfg(FAMILIES[family])), {}
        wall, cpu = alternate_wall_and_cpu(models, lambda n: preds.__setitem__(n, infer(models[n], data)), args.reps)
        same = float((preds['segnb'][0] == preds['mmseg'][0]).mean())
        print(f'{family:12s} {wall["segnb"]:8.3f} {wall["mmseg"]:8.3f} {wall["segnb"] / wall["mmseg"]:6.2f} '
              f'{cpu["segnb"]:9.3f} {cpu["mmseg"]:9.3f} {cpu["segnb"] / cpu["mmseg"]:6.2f} {same:8.2%}', flush=True)
        del models
    if args.mem_reps == 0: return
    print(f'\npeak RSS of build + one inference (MiB) and its growth during the inference, median of {args.mem_reps} processes')
    print(f'{"family":12s} {"segnb":>7s} {"mmseg":>7s} {"ratio":>6s} {"segnb +":>8s} {"mmseg +":>8s} {"ratio":>6s}')
    for family in args.families:
        res = {'segnb': [], 'mmseg': []}
        for _ in range(args.mem_reps):
            for impl in res:
                out = subprocess.run([sys.executable, os.path.abspath(__file__), '--mem-worker', family, impl,
                                      '--size', str(args.size), '--threads', str(args.threads)],
                                     capture_output=True, text=True, check=True).stdout
                res[impl].append(json.loads(out.strip().splitlines()[-1]))
        med = {i: {k: statistics.median(r[k] for r in v) for k in ('peak', 'growth')} for i, v in res.items()}
        s, m = med['segnb'], med['mmseg']
        print(f'{family:12s} {s["peak"]:7.0f} {m["peak"]:7.0f} {s["peak"] / m["peak"]:6.2f} {s["growth"]:8.0f} '
              f'{m["growth"]:8.0f} {s["growth"] / max(m["growth"], 1e-9):6.2f}', flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--families', nargs='+', default=list(FAMILIES), choices=list(FAMILIES))
    ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--reps', type=int, default=5, help='timed rounds after one warm-up round (0: no speed table)')
    ap.add_argument('--mem-reps', type=int, default=3, help='fresh processes per side for the memory table (0: none)')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--in-venv', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--mem-worker', nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    if args.mem_worker: return mem_worker(*args.mem_worker, args.size, args.threads)
    if args.in_venv: return run(args)
    venv = os.environ.get('SEGNB_MMSEG_VENV')
    if not venv: sys.exit('bench_zoo_mitw.py compares with mmseg: set SEGNB_MMSEG_VENV to a venv with mmsegmentation==0.30.0')
    py, env = python_for('mm0', venv)
    subprocess.run([py, os.path.abspath(__file__), '--in-venv'] + sys.argv[1:], env=env, check=True)


if __name__ == '__main__': main()
