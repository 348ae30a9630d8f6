"""Swin Transformer and K-Net inference speed and peak memory: segnb against mmsegmentation 0.30.

The method of bench_zoo.py for the two shipped representative configs (swin: UPerNet + Swin-T; knet: K-Net s3 on an
FCN + ResNet-50-D8): same models and weights on both sides, one process, alternating calls, median of `--reps` after
a warm-up, share of identical predicted pixels. Peak memory: one fresh process per model (build, then one inference
with the peak reset just before it through /proc/self/clear_refs, so it is the inference's peak RSS: weights plus
activations, not the imports'), alternating segnb/mmseg, median of `--rss-reps`. Linux only. The machine is shared: compare the ratios of one run.

    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo_swinknet.py                 # both families, 512x512
    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo_swinknet.py --families swin --size 256 --reps 3
"""
import argparse, json, os, statistics, subprocess, sys, warnings
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models import _stub_mmcv_ext, alternate, batch, infer, python_for
from bench_zoo import build_pair, model_cfg

FAMILIES = {
    'swin': 'swin/upernet_swin_tiny_patch4_window7_512x512_160k_ade20k_pretrain_224x224_1K.py',
    'knet': 'knet/knet_s3_fcn_r50-d8_8x2_512x512_adamw_80k_ade20k.py',
}


def cfg_of(family):
    cfg = model_cfg(FAMILIES[family])
    cfg['backbone'].pop('init_cfg', None)          # no checkpoint download: random weights
    return cfg


def rss_worker(family, impl, size, threads):
    "Peak RSS (MiB) of building one model and one whole-image inference, in this fresh process."
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = cfg_of(family)
    if impl == 'segnb':
        from segnb.models.segmentors.encoder_decoder import build_segmentor
        model = build_segmentor(cfg)
    else:
        _stub_mmcv_ext()
        from mmcv import ConfigDict
        from mmseg.models import build_segmentor
        model = build_segmentor(ConfigDict(cfg))
    model.eval()
    data = batch(1, size)
    with open('/proc/self/clear_refs', 'w') as f: f.write('5')     # Linux: reset the peak (VmHWM) to the current RSS
    before = _status_kib('VmRSS')
    infer(model, data)
    peak = _status_kib('VmHWM')
    print(json.dumps(dict(peak_mib=peak / 1024, inference_mib=(peak - before) / 1024)))


def _status_kib(field):
    "A memory field of /proc/self/status, in KiB."
    with open('/proc/self/status') as f: return next(int(l.split()[1]) for l in f if l.startswith(field + ':'))


def run(args):
    "The table, in this process (the venv's python)."
    import torch
    torch.set_num_threads(args.threads)
    print(f'fp32, batch 1, {args.size}x{args.size}, {args.threads} threads, median of {args.reps}; shared machine: noisy')
    print('MiB: peak RSS during one inference in a fresh process (weights + activations); +inf: its growth over the RSS before it')
    print(f'{"family":6s} {"segnb s":>8s} {"mmseg s":>8s} {"ratio":>6s} {"same px":>8s} {"segnb MiB":>10s} {"mmseg MiB":>10s} '
          f'{"ratio":>6s} {"segnb +inf":>10s} {"mmseg +inf":>10s}')
    data = batch(1, args.size)
    for family in args.families:
        models, preds = build_pair(cfg_of(family)), {}
        med = alternate(models, lambda n: preds.__setitem__(n, infer(models[n], data)), args.reps)
        same = float((preds['segnb'][0] == preds['mmseg'][0]).mean())
        del models
        rss, grow = {n: [] for n in ('segnb', 'mmseg')}, {n: [] for n in ('segnb', 'mmseg')}
        for _ in range(args.rss_reps):
            for n in rss:
                out = subprocess.run([sys.executable, os.path.abspath(__file__), '--rss-worker', family, n, '--size', str(args.size),
                                      '--threads', str(args.threads)], capture_output=True, text=True, check=True).stdout
                rec = json.loads(out.strip().splitlines()[-1])
                rss[n].append(rec['peak_mib']); grow[n].append(rec['inference_mib'])
        mem, inf = ({n: statistics.median(v) for n, v in d.items()} for d in (rss, grow))
        print(f'{family:6s} {med["segnb"]:8.3f} {med["mmseg"]:8.3f} {med["segnb"] / med["mmseg"]:6.2f} {same:8.2%} '
              f'{mem["segnb"]:10.0f} {mem["mmseg"]:10.0f} {mem["segnb"] / mem["mmseg"]:6.2f} {inf["segnb"]:10.0f} {inf["mmseg"]:10.0f}',
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--families', nargs='+', default=list(FAMILIES), choices=list(FAMILIES))
    ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--reps', type=int, default=5, help='timed rounds after one warm-up round')
    ap.add_argument('--rss-reps', type=int, default=3)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--in-venv', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--rss-worker', nargs=2, metavar=('FAMILY', 'IMPL'), help=argparse.SUPPRESS)
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    if args.rss_worker: return rss_worker(*args.rss_worker, args.size, args.threads)
    if args.in_venv: return run(args)
    venv = os.environ.get('SEGNB_MMSEG_VENV')
    if not venv: sys.exit('bench_zoo_swinknet.py compares with mmseg: set SEGNB_MMSEG_VENV to a venv with mmsegmentation==0.30.0')
    py, env = python_for('mm0', venv)
    subprocess.run([py, os.path.abspath(__file__), '--in-venv'] + sys.argv[1:], env=env, check=True)


if __name__ == '__main__': main()
