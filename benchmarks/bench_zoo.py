"""Model zoo inference speed: segnb against mmsegmentation 0.30, one representative config per family (issue 13).

For each family in FAMILIES: the shipped segnb config's model (SyncBN -> BN, no pretrained weights), built by segnb
and by mmseg 0.30 from the same dict, segnb's weights loaded into mmseg's model (strict), then whole-image inference
(`forward_test`: logits, softmax, argmax, numpy) at batch 1, fp32, `--threads` CPU threads. Both models run in ONE
process, alternating call by call, the order reversed every other round (`time_pair`); one warm-up round is dropped.
Each row prints the median wall seconds, the ratio of the medians, the spread of the per-round ratios (min-max: the
noise of a shared machine), the ratio of median process CPU times (less disturbed by other processes' load; with 2
threads it includes OpenMP's spin-waiting) and the share of identical predicted pixels (both compute the same thing).
mmseg cannot run PSANet without mmcv's compiled PSAMask: its head gets segnb's pure-PyTorch `PSAMask` (that row
times everything but the mask).

mmseg lives in a scratch venv named by SEGNB_MMSEG_VENV (never a segnb dependency); this script re-runs itself with
that venv's python and the repo on PYTHONPATH, as bench_models.py does. Compare the ratios of one run, not seconds
across runs. Add a family by adding a line to FAMILIES (family: segnb config; mmseg has a config of the same name).

    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo.py                        # every family, 512x512
    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo.py --family hrnet ocrnet --size 256 --reps 3
    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo.py --list                 # the table of families
"""
import argparse, os, statistics, subprocess, sys, time, warnings
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models import REPO, _stub_mmcv_ext, batch, infer, python_for

FAMILIES = {   # family: segnb config under segnb/configs (mmseg 0.30 has a config of the same name)
    # HRNet, OCR, FPN, UNet, MobileNets, ResNeSt, FastFCN, PointRend (issue 13, groups a and b)
    'hrnet': 'hrnet/fcn_hr18_512x1024_40k_cityscapes.py',
    'ocrnet': 'ocrnet/ocrnet_hr18_512x1024_40k_cityscapes.py',
    'sem_fpn': 'sem_fpn/fpn_r50_512x1024_80k_cityscapes.py',
    'unet': 'unet/fcn_unet_s5-d16_4x4_512x1024_160k_cityscapes.py',
    'mobilenet_v2': 'mobilenet_v2/deeplabv3plus_m-v2-d8_512x1024_80k_cityscapes.py',
    'mobilenet_v3': 'mobilenet_v3/lraspp_m-v3-d8_512x1024_320k_cityscapes.py',   # + LRASPPHead; its 49x49 pool: --size >= 392
    'resnest': 'resnest/fcn_s101-d8_512x1024_80k_cityscapes.py',
    'fastfcn': 'fastfcn/fastfcn_r50-d32_jpu_psp_512x1024_80k_cityscapes.py',
    'fastfcn_enc': 'fastfcn/fastfcn_r50-d32_jpu_enc_512x1024_80k_cityscapes.py',  # JPU + EncHead
    'point_rend': 'point_rend/pointrend_r50_512x1024_80k_cityscapes.py',
    # attention and context heads on ResNet-50-D8
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
    # real-time networks
    'bisenetv1': 'bisenetv1/bisenetv1_r18-d32_4x4_1024x1024_160k_cityscapes.py',
    'bisenetv2': 'bisenetv2/bisenetv2_fcn_4x4_1024x1024_160k_cityscapes.py',
    'icnet': 'icnet/icnet_r18-d8_832x832_80k_cityscapes.py',
    'stdc': 'stdc/stdc1_512x1024_80k_cityscapes.py',
    'fastscnn': 'fastscnn/fast_scnn_lr0.12_8x4_160k_cityscapes.py',
    'cgnet': 'cgnet/cgnet_512x1024_60k_cityscapes.py',
    'erfnet': 'erfnet/erfnet_fcn_4x4_512x1024_160k_cityscapes.py',
}


def model_cfg(rel):
    "The model dict of a shipped segnb config, SyncBN -> BN, no pretrained weights; tuples stay tuples (CGNet checks)."
    from segnb.config import Config
    def bn(d):
        if isinstance(d, dict): return {k: ('BN' if k == 'type' and v == 'SyncBN' else bn(v)) for k, v in d.items()}
        if isinstance(d, (list, tuple)): return type(d)(bn(v) for v in d)
        return d
    return dict(bn(Config.fromfile(os.path.join(REPO, 'segnb', 'configs', rel)).to_dict()['model']), pretrained=None)


def _give_mmseg_our_psamask():
    "mmseg's PSAHead with segnb's pure-PyTorch PSAMask (mmcv's is compiled only)."
    import mmseg.models.decode_heads.psa_head as mm_psa
    from segnb.models.decode_heads.psa_head import PSAMask
    mm_psa.PSAMask = PSAMask


def build_pair(cfg):
    "segnb's and mmseg's model of `cfg` in eval mode, with the same (segnb's random) weights."
    import torch
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    _stub_mmcv_ext()
    from mmcv import ConfigDict
    from mmseg.models import build_segmentor as mm_build
    _give_mmseg_our_psamask()
    torch.manual_seed(0)
    ours, theirs = build_segmentor(cfg).eval(), mm_build(ConfigDict(cfg)).eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    return {'segnb': ours, 'mmseg': theirs}


def time_pair(models, fn, reps, warmup=1):
    """`fn(name)` for each model, `warmup + reps` rounds, the order reversed every other round (A B, B A, ...) so that
    neither model always runs first: {name: [(wall seconds, process CPU seconds) of each timed round]}."""
    times, names = {n: [] for n in models}, list(models)
    for r in range(warmup + reps):
        for n in (names if r % 2 == 0 else names[::-1]):
            t, c = time.perf_counter(), time.process_time()
            fn(n)
            if r >= warmup: times[n].append((time.perf_counter() - t, time.process_time() - c))
    return times


def ratio_row(times, a='segnb', b='mmseg', k=0):
    "Median seconds (`k` 0: wall, 1: CPU) of `a` and `b`, the ratio of the medians, and the min and max per-round ratio."
    ta, tb = [t[k] for t in times[a]], [t[k] for t in times[b]]
    ratios = [x / y for x, y in zip(ta, tb)]
    ma, mb = statistics.median(ta), statistics.median(tb)
    return ma, mb, ma / mb, min(ratios), max(ratios)


def bench_family(family, data, reps):
    "One row of the table: time segnb's and mmseg's model of `family` on `data`, alternating."
    models, preds = build_pair(model_cfg(FAMILIES[family])), {}
    times = time_pair(models, lambda n: preds.__setitem__(n, infer(models[n], data)), reps)
    ours, theirs, ratio, lo, hi = ratio_row(times)
    cpu_ratio = ratio_row(times, k=1)[2]
    same = float((preds['segnb'][0] == preds['mmseg'][0]).mean())
    print(f'{family:13s} {FAMILIES[family]:58s} {ours:8.3f} {theirs:8.3f} {ratio:6.2f} {lo:5.2f}-{hi:<5.2f} {cpu_ratio:6.2f} '
          f'{same:8.2%}', flush=True)


def run(args):
    "The table, in this process (the venv's python)."
    import torch
    torch.set_num_threads(args.threads)
    print(f'fp32, batch 1, {args.size}x{args.size}, {args.threads} threads, median of {args.reps} alternating rounds; '
          f'shared machines are noisy: read the per-round ratio range')
    print(f'{"family":13s} {"config":58s} {"segnb s":>8s} {"mmseg s":>8s} {"ratio":>6s} {"range":>11s} {"cpu":>6s} {"same px":>8s}')
    data = batch(1, args.size)
    for family in args.family: bench_family(family, data, args.reps)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--family', '--families', nargs='+', default=list(FAMILIES), choices=list(FAMILIES), metavar='FAMILY',
                    help='families to run (default: all); see --list')
    ap.add_argument('--list', action='store_true', help='print the families and their configs, and exit')
    ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--reps', type=int, default=5, help='timed rounds after one warm-up round')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--in-venv', action='store_true', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.list:
        for f, c in FAMILIES.items(): print(f'{f:13s} {c}')
        return
    warnings.filterwarnings('ignore')
    if args.in_venv: return run(args)
    venv = os.environ.get('SEGNB_MMSEG_VENV')
    if not venv: sys.exit('bench_zoo.py compares with mmseg: set SEGNB_MMSEG_VENV to a venv with mmsegmentation==0.30.0')
    py, env = python_for('mm0', venv)
    subprocess.run([py, os.path.abspath(__file__), '--in-venv'] + sys.argv[1:], env=env, check=True)


if __name__ == '__main__': main()
