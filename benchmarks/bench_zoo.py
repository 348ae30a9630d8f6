"""Model zoo inference speed: segnb against mmsegmentation 0.30, one representative config per family.

For each family in FAMILIES: the shipped segnb config's model (SyncBN -> BN, no pretrained weights), built by segnb
and by mmseg 0.30 from the same dict, segnb's weights loaded into mmseg's model (strict), then whole-image inference
(`forward_test`: logits, softmax, argmax, numpy) at batch 1, fp32, `--threads` CPU threads. The two models run in ONE
process, alternating call by call; one warm-up round is dropped and the median of `--reps` rounds is reported, with
the share of identical predicted pixels to show both compute the same thing.

mmseg lives in a scratch venv named by SEGNB_MMSEG_VENV (never a segnb dependency); this script re-runs itself with
that venv's python and the repo on PYTHONPATH, as bench_models.py does. The machine is shared: compare the ratios of
one run, not seconds across runs. Add a family by adding a line to FAMILIES.

    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo.py                       # every family, 512x512
    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo.py --families hrnet --size 256 --reps 3
"""
import argparse, json, os, subprocess, sys, warnings
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models import REPO, _stub_mmcv_ext, alternate, batch, infer, python_for

FAMILIES = {   # family: segnb config under segnb/configs (mmseg has a config of the same name)
    'hrnet': 'hrnet/fcn_hr18_512x1024_40k_cityscapes.py',
    'ocrnet': 'ocrnet/ocrnet_hr18_512x1024_40k_cityscapes.py',
}


def model_cfg(rel):
    "The model dict of a shipped segnb config, SyncBN -> BN, no pretrained weights."
    from segnb.config import Config
    def bn(d):
        if isinstance(d, dict): return {k: ('BN' if k == 'type' and v == 'SyncBN' else bn(v)) for k, v in d.items()}
        if isinstance(d, (list, tuple)): return type(d)(bn(v) for v in d)
        return d
    cfg = Config.fromfile(os.path.join(REPO, 'segnb', 'configs', rel)).model
    return dict(bn(json.loads(json.dumps(cfg))), pretrained=None)


def build_pair(cfg):
    "segnb's and mmseg's model of `cfg` in eval mode, with the same (segnb's random) weights."
    import torch
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    _stub_mmcv_ext()
    from mmcv import ConfigDict
    from mmseg.models import build_segmentor as mm_build
    torch.manual_seed(0)
    ours, theirs = build_segmentor(cfg).eval(), mm_build(ConfigDict(cfg)).eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    return {'segnb': ours, 'mmseg': theirs}


def run(args):
    "The table, in this process (the venv's python)."
    import torch
    torch.set_num_threads(args.threads)
    print(f'fp32, batch 1, {args.size}x{args.size}, {args.threads} threads, median of {args.reps}; shared machine: noisy')
    print(f'{"family":10s} {"config":48s} {"segnb s":>8s} {"mmseg s":>8s} {"ratio":>6s} {"same px":>8s}')
    data = batch(1, args.size)
    for family in args.families:
        models, preds = build_pair(model_cfg(FAMILIES[family])), {}
        med = alternate(models, lambda n: preds.__setitem__(n, infer(models[n], data)), args.reps)
        same = float((preds['segnb'][0] == preds['mmseg'][0]).mean())
        print(f'{family:10s} {FAMILIES[family]:48s} {med["segnb"]:8.3f} {med["mmseg"]:8.3f} '
              f'{med["segnb"] / med["mmseg"]:6.2f} {same:8.2%}', flush=True)


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
    if not venv: sys.exit('bench_zoo.py compares with mmseg: set SEGNB_MMSEG_VENV to a venv with mmsegmentation==0.30.0')
    py, env = python_for('mm0', venv)
    subprocess.run([py, os.path.abspath(__file__), '--in-venv'] + sys.argv[1:], env=env, check=True)


if __name__ == '__main__': main()
