"""Attention/context heads' inference speed: segnb against mmsegmentation 0.30, one representative config per family.

Same method as `bench_zoo.py` (ocr branch): the shipped segnb config's model (SyncBN -> BN, no pretrained weights),
built by segnb and by mmseg 0.30 from the same dict, segnb's weights loaded into mmseg's model (strict), then
whole-image inference (`forward_test`: logits, softmax, argmax, numpy) at batch 1, fp32, `--threads` CPU threads, the
two models alternating call by call, one warm-up round dropped, the median of `--reps` rounds, and the share of
identical predicted pixels. mmseg cannot run PSANet without mmcv's compiled PSAMask: its head gets segnb's
`psa_mask` instead (so that row times everything but the mask).

    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo_attention.py --size 256 --reps 2
"""
import argparse, os, subprocess, sys, warnings
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models import _stub_mmcv_ext, alternate, batch, infer, python_for
from bench_zoo import build_pair, model_cfg

FAMILIES = {
    'nonlocal': 'nonlocal_net/nonlocal_r50-d8_512x1024_40k_cityscapes.py',
    'gcnet': 'gcnet/gcnet_r50-d8_512x1024_40k_cityscapes.py',
    'danet': 'danet/danet_r50-d8_512x1024_40k_cityscapes.py',
    'ccnet': 'ccnet/ccnet_r50-d8_512x1024_40k_cityscapes.py',
    'ann': 'ann/ann_r50-d8_512x1024_40k_cityscapes.py',
    'encnet': 'encnet/encnet_r50-d8_512x1024_40k_cityscapes.py',
    'apcnet': 'apcnet/apcnet_r50-d8_512x1024_40k_cityscapes.py',
    'dmnet': 'dmnet/dmnet_r50-d8_512x1024_40k_cityscapes.py',
    'dnlnet': 'dnlnet/dnl_r50-d8_512x1024_40k_cityscapes.py',
    'isanet': 'isanet/isanet_r50-d8_512x1024_40k_cityscapes.py',
    'psanet': 'psanet/psanet_r50-d8_512x1024_40k_cityscapes.py',
    'emanet': 'emanet/emanet_r50-d8_512x1024_80k_cityscapes.py',
}


def _give_mmseg_our_psamask():
    "mmseg's PSAHead with segnb's pure-PyTorch PSAMask (mmcv's is compiled only)."
    _stub_mmcv_ext()
    import mmseg.models.decode_heads.psa_head as mm_psa
    from segnb.models.decode_heads.psa_head import PSAMask
    mm_psa.PSAMask = PSAMask


def run(args):
    import torch
    torch.set_num_threads(args.threads)
    _give_mmseg_our_psamask()
    print(f'fp32, batch 1, {args.size}x{args.size}, {args.threads} threads, median of {args.reps}; shared machine: noisy')
    print(f'{"family":10s} {"config":52s} {"segnb s":>8s} {"mmseg s":>8s} {"ratio":>6s} {"same px":>8s}')
    data = batch(1, args.size)
    for family in args.families:
        models, preds = build_pair(model_cfg(FAMILIES[family])), {}
        med = alternate(models, lambda n: preds.__setitem__(n, infer(models[n], data)), args.reps)
        same = float((preds['segnb'][0] == preds['mmseg'][0]).mean())
        print(f'{family:10s} {FAMILIES[family]:52s} {med["segnb"]:8.3f} {med["mmseg"]:8.3f} '
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
    if not venv: sys.exit('bench_zoo_attention.py compares with mmseg: set SEGNB_MMSEG_VENV to a venv with mmsegmentation==0.30.0')
    py, env = python_for('mm0', venv)
    subprocess.run([py, os.path.abspath(__file__), '--in-venv'] + sys.argv[1:], env=env, check=True)


if __name__ == '__main__': main()
