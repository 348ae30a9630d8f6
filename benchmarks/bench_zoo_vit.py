"""Plain-ViT families' inference speed and memory: segnb against mmsegmentation 0.30 (UPerNet-ViT, SETR naive/PUP/MLA).

Speed: the method of bench_zoo.py (same models and weights on both sides, one process, alternating calls, median of
`--reps` after a warm-up, share of identical predicted pixels): whole-image `forward_test` at batch 1, fp32,
`--threads` CPU threads. Memory: peak RSS (`ru_maxrss`) of build + one inference, in a fresh process per model,
alternating, median of `--rss-reps`. The machine is shared: compare the ratios of one run, not seconds.

    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo_vit.py                        # every family, 512x512
    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo_vit.py --families vit --size 256 --reps 5
"""
import argparse, json, os, resource, statistics, subprocess, sys, warnings
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models import batch, infer, python_for
import bench_zoo_c
from bench_zoo_c import model_cfg

FAMILIES = {   # family: segnb config under segnb/configs (mmseg has a config of the same name)
    'vit': 'vit/upernet_vit-b16_mln_512x512_80k_ade20k.py',
    'setr_naive': 'setr/setr_naive_512x512_160k_b16_ade20k.py',
    'setr_pup': 'setr/setr_pup_512x512_160k_b16_ade20k.py',
    'setr_mla': 'setr/setr_mla_512x512_160k_b8_ade20k.py',
}


def run(args):
    "The speed table of bench_zoo_c.py, over this file's families, in this process (the venv's python)."
    bench_zoo_c.FAMILIES = FAMILIES
    bench_zoo_c.run(args)


def rss_worker(args):
    "Peak RSS (MiB) of building one model and one inference, in this fresh process."
    import torch
    torch.set_num_threads(args.threads)
    impl, family = args.rss_worker
    cfg = model_cfg(FAMILIES[family])
    if impl == 'mmseg':
        from bench_models import _stub_mmcv_ext
        _stub_mmcv_ext()
        from mmcv import ConfigDict
        from mmseg.models import build_segmentor
        model = build_segmentor(ConfigDict(cfg))
    else:
        from segnb.models.segmentors.encoder_decoder import build_segmentor
        model = build_segmentor(cfg)
    model.eval(); infer(model, batch(1, args.size))
    print(json.dumps(dict(rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))


def run_rss(args, py, env):
    print(f'\npeak RSS of build + one inference, {args.size}x{args.size} (median of {args.rss_reps} fresh processes)')
    print(f'{"family":10s} {"segnb MiB":>10s} {"mmseg MiB":>10s} {"ratio":>6s}')
    for family in args.families:
        rss = {'segnb': [], 'mmseg': []}
        for _ in range(args.rss_reps):
            for impl in rss:
                cmd = [py, os.path.abspath(__file__), '--in-venv', '--rss-worker', impl, family, '--size', str(args.size),
                       '--threads', str(args.threads)]
                out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
                rss[impl].append(json.loads(out.strip().splitlines()[-1])['rss_mib'])
        s, m = statistics.median(rss['segnb']), statistics.median(rss['mmseg'])
        print(f'{family:10s} {s:10.0f} {m:10.0f} {s / m:6.2f}', flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--families', nargs='+', default=list(FAMILIES), choices=list(FAMILIES))
    ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--reps', type=int, default=5, help='timed rounds after one warm-up round')
    ap.add_argument('--rss-reps', type=int, default=1)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--skip-rss', action='store_true')
    ap.add_argument('--in-venv', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--rss-worker', nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    if args.rss_worker: return rss_worker(args)
    if args.in_venv: return run(args)
    venv = os.environ.get('SEGNB_MMSEG_VENV')
    if not venv: sys.exit('bench_zoo_vit.py compares with mmseg: set SEGNB_MMSEG_VENV to a venv with mmsegmentation==0.30.0')
    py, env = python_for('mm0', venv)
    subprocess.run([py, os.path.abspath(__file__), '--in-venv'] + sys.argv[1:], env=env, check=True)
    if not args.skip_rss: run_rss(args, py, env)


if __name__ == '__main__': main()
