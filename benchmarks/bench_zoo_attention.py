"""Attention/context heads' inference speed: segnb against mmsegmentation 0.30, one representative config per family.

Same method as `bench_zoo.py` (ocr branch): the shipped segnb config's model (SyncBN -> BN, no pretrained weights),
built by segnb and by mmseg 0.30 from the same dict, segnb's weights loaded into mmseg's model (strict), then
whole-image inference (`forward_test`: logits, softmax, argmax, numpy) at batch 1, fp32, `--threads` CPU threads, the
two models alternating call by call, one warm-up round dropped, the median of `--reps` rounds, and the share of
identical predicted pixels. mmseg cannot run PSANet without mmcv's compiled PSAMask: its head gets segnb's
`psa_mask` instead (so that row times everything but the mask).

    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo_attention.py --size 256 --reps 2
"""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_zoo
from bench_models import _stub_mmcv_ext

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


if __name__ == '__main__':
    # bench_zoo.py's table and re-launch in the mmseg venv, with these families and this file as the script to re-run
    bench_zoo.FAMILIES.clear(); bench_zoo.FAMILIES.update(FAMILIES)
    bench_zoo.__file__ = os.path.abspath(__file__)
    if '--in-venv' in sys.argv: _give_mmseg_our_psamask()
    bench_zoo.main()
