"""Real-time networks' inference speed: segnb against mmsegmentation 0.30, one representative config per family.

The method of bench_zoo.py (same models and weights on both sides, one process, alternating calls, median of
`--reps` after a warm-up, share of identical predicted pixels), for the real-time families: BiSeNetV1, ICNet,
BiSeNetV2, STDC, Fast-SCNN, CGNet, ERFNet. The machine is shared: compare the ratios of one run, not seconds.

    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo_c.py                  # every family, 512x512
    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo_c.py --families stdc cgnet --size 256 --reps 3
"""
import argparse, os, subprocess, sys, warnings
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models import alternate, batch, infer, python_for
from bench_zoo import REPO, build_pair


def model_cfg(rel):
    "The model dict of a shipped segnb config, SyncBN -> BN, no pretrained weights; tuples stay tuples (CGNet checks)."
    from segnb.config import Config
    def bn(d):
        if isinstance(d, dict): return {k: ('BN' if k == 'type' and v == 'SyncBN' else bn(v)) for k, v in d.items()}
        if isinstance(d, (list, tuple)): return type(d)(bn(v) for v in d)
        return d
    return dict(bn(Config.fromfile(os.path.join(REPO, 'segnb', 'configs', rel)).to_dict()['model']), pretrained=None)

FAMILIES = {   # family: segnb config under segnb/configs (mmseg has a config of the same name)
    'bisenetv1': 'bisenetv1/bisenetv1_r18-d32_4x4_1024x1024_160k_cityscapes.py',
    'icnet': 'icnet/icnet_r18-d8_832x832_80k_cityscapes.py',
    'bisenetv2': 'bisenetv2/bisenetv2_fcn_4x4_1024x1024_160k_cityscapes.py',
    'stdc': 'stdc/stdc1_512x1024_80k_cityscapes.py',
    'fastscnn': 'fastscnn/fast_scnn_lr0.12_8x4_160k_cityscapes.py',
    'cgnet': 'cgnet/cgnet_512x1024_60k_cityscapes.py',
    'erfnet': 'erfnet/erfnet_fcn_4x4_512x1024_160k_cityscapes.py',
}


def run(args):
    "The table, in this process (the venv's python)."
    import torch
    torch.set_num_threads(args.threads)
    print(f'fp32, batch 1, {args.size}x{args.size}, {args.threads} threads, median of {args.reps}; shared machine: noisy')
    print(f'{"family":10s} {"segnb s":>8s} {"mmseg s":>8s} {"ratio":>6s} {"same px":>8s}')
    data = batch(1, args.size)
    for family in args.families:
        models, preds = build_pair(model_cfg(FAMILIES[family])), {}
        med = alternate(models, lambda n: preds.__setitem__(n, infer(models[n], data)), args.reps)
        same = float((preds['segnb'][0] == preds['mmseg'][0]).mean())
        print(f'{family:10s} {med["segnb"]:8.3f} {med["mmseg"]:8.3f} {med["segnb"] / med["mmseg"]:6.2f} {same:8.2%}',
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--families', nargs='+', default=list(FAMILIES), choices=list(FAMILIES))
    ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--reps', type=int, default=5, help='timed rounds after one warm-up round')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--in-venv', action='store_true', help=argparse.SUPPRESS)
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    if args.in_venv: return run(args)
    venv = os.environ.get('SEGNB_MMSEG_VENV')
    if not venv: sys.exit('bench_zoo_c.py compares with mmseg: set SEGNB_MMSEG_VENV to a venv with mmsegmentation==0.30.0')
    py, env = python_for('mm0', venv)
    subprocess.run([py, os.path.abspath(__file__), '--in-venv'] + sys.argv[1:], env=env, check=True)


if __name__ == '__main__': main()
