"""Model zoo inference speed and memory: segnb against mmsegmentation 0.30, one representative config per family (issues 13, 14).

For each family in FAMILIES: the shipped segnb config's model (SyncBN -> BN, no pretrained weights), built by segnb
and by mmseg 0.30 from the same dict, segnb's weights loaded into mmseg's model (strict), then whole-image inference
(`forward_test`: logits, softmax, argmax, numpy) at batch 1, fp32, `--threads` CPU threads. Both models run in ONE
process, alternating call by call, the order reversed every other round (`time_pair`); one warm-up round is dropped.
Each row prints the median wall seconds, the ratio of the medians, the spread of the per-round ratios (min-max: the
noise of a shared machine), the ratio of median process CPU times (less disturbed by other processes' load; with 2
threads it includes OpenMP's spin-waiting) and the share of identical predicted pixels (both compute the same thing).
On a loaded machine 2 threads time mostly OpenMP's waits for a descheduled thread, on both sides alike (CGNet, a model
of many small ops, once read 3x either way): there `--threads 1` gives steady CPU-time ratios.
mmseg cannot run PSANet without mmcv's compiled PSAMask: its head gets segnb's pure-PyTorch `PSAMask` (that row
times everything but the mask).

mmseg lives in a scratch venv named by SEGNB_MMSEG_VENV (never a segnb dependency); this script re-runs itself with
that venv's python and the repo on PYTHONPATH, as bench_models.py does. Compare the ratios of one run, not seconds
across runs. Add a family by adding a line to FAMILIES (family: segnb config; mmseg has a config of the same name).

    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo.py                        # every family, 512x512
    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo.py --family hrnet ocrnet --size 256 --reps 3
    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo.py --list                 # the table of families
    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo.py --family swin --reps 0 --mem-reps 3   # peak memory
    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo.py --family cgnet --reps 0 --profile 3   # per-op CPU time

`--profile N` runs N inferences of each model under torch.profiler (same input, same weights) and prints, per operator,
the total self CPU time of each side and the difference, largest differences first: where a ratio above 1.0 comes from.
"""
import argparse, json, os, statistics, subprocess, sys, time, warnings
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
    # transformers (issue 14)
    'vit': 'vit/upernet_vit-b16_mln_512x512_80k_ade20k.py',
    'setr_naive': 'setr/setr_naive_512x512_160k_b16_ade20k.py',
    'setr_pup': 'setr/setr_pup_512x512_160k_b16_ade20k.py',
    'setr_mla': 'setr/setr_mla_512x512_160k_b8_ade20k.py',
    'segmenter': 'segmenter/segmenter_vit-t_mask_8x1_512x512_160k_ade20k.py',
    'dpt': 'dpt/dpt_vit-b16_512x512_160k_ade20k.py',
    'beit': 'beit/upernet_beit-base_8x2_640x640_160k_ade20k.py',        # relative position tables for 640x640: SIZES
    'mae': 'mae/upernet_mae-base_fp16_8x2_512x512_160k_ade20k.py',
    'segformer': 'segformer/segformer_mit-b0_512x512_160k_ade20k.py',
    'twins_pcpvt': 'twins/twins_pcpvt-s_uperhead_8x4_512x512_160k_ade20k.py',
    'twins_svt': 'twins/twins_svt-s_fpn_fpnhead_8x4_512x512_80k_ade20k.py',
    'swin': 'swin/upernet_swin_tiny_patch4_window7_512x512_160k_ade20k_pretrain_224x224_1K.py',
    'knet': 'knet/knet_s3_fcn_r50-d8_8x2_512x512_adamw_80k_ade20k.py',
    'convnext': 'convnext/upernet_convnext_tiny_fp16_512x512_160k_ade20k.py',   # mmcls.ConvNeXt (mmcls 0.25 in the venv)
    'poolformer': 'poolformer/fpn_poolformer_s12_8x4_512x512_40k_ade20k.py',
}
SIZES = {'beit': 640, 'mae': 512}   # models whose position tables are fixed to one input size (mmseg's too)


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


def build_mmseg(cfg):
    "mmseg's model of `cfg` in eval mode (mmcls's backbones registered when mmcls is in the venv)."
    _stub_mmcv_ext()
    from mmcv import ConfigDict
    from mmseg.models import build_segmentor
    try: import mmcls.models   # noqa: F401  mmcls.ConvNeXt / mmcls.PoolFormer
    except ImportError: pass
    _give_mmseg_our_psamask()
    return build_segmentor(ConfigDict(cfg)).eval()


def build_segnb(cfg):
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    return build_segmentor(cfg).eval()


def build_pair(cfg):
    "segnb's and mmseg's model of `cfg` in eval mode, with the same (segnb's random) weights."
    import torch
    torch.manual_seed(0)
    ours, theirs = build_segnb(cfg), build_mmseg(cfg)
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


def profile_family(family, data, reps, top=15, rounds=3):
    """Per-operator self CPU time (ms per `reps` inferences) of segnb's and mmseg's model: `rounds` profiles of each,
    alternating (A B, B A, ...), each operator's minimum over the rounds (a loaded machine only adds time); largest
    gaps first."""
    from torch.profiler import ProfilerActivity, profile
    models = build_pair(model_cfg(FAMILIES[family]))
    names, ops = list(models), {n: {} for n in models}
    for n in names: infer(models[n], data)                    # warm-up, outside the profiles
    for r in range(rounds):
        for n in (names if r % 2 == 0 else names[::-1]):
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                for _ in range(reps): infer(models[n], data)
            for e in prof.key_averages():
                t = e.self_cpu_time_total / 1e3
                ops[n][e.key] = (min(t, ops[n][e.key][0]) if e.key in ops[n] else t, e.count)
    get = lambda n, k: ops[n].get(k, (0.0, 0))
    total = {n: sum(t for t, _ in ops[n].values()) for n in ops}
    print(f'\n{family}: self CPU ms per {reps} inferences (min of {rounds} profiles): segnb {total["segnb"]:.1f}, '
          f'mmseg {total["mmseg"]:.1f} ({total["segnb"] / total["mmseg"]:.2f}x)')
    print(f'{"op":40s} {"segnb ms":>9s} {"calls":>6s} {"mmseg ms":>9s} {"calls":>6s} {"diff ms":>8s}')
    for k in sorted(set(ops['segnb']) | set(ops['mmseg']), key=lambda k: -abs(get('segnb', k)[0] - get('mmseg', k)[0]))[:top]:
        (a, na), (b, nb) = get('segnb', k), get('mmseg', k)
        print(f'{k[:40]:40s} {a:9.1f} {na:6d} {b:9.1f} {nb:6d} {a - b:8.1f}')


def _peak_mib():
    "This process's peak resident memory (VmHWM, MiB): unlike ru_maxrss, it starts afresh at exec."
    with open('/proc/self/status') as f: return int(next(line for line in f if line.startswith('VmHWM:')).split()[1]) / 1024


def mem_worker(family, impl, size, threads):
    "In a fresh process: build only `impl`'s model of `family`, run one inference, print the peak RSS."
    import torch
    torch.set_num_threads(threads)
    model = (build_segnb if impl == 'segnb' else build_mmseg)(model_cfg(FAMILIES[family]))
    infer(model, batch(1, SIZES.get(family, size)))
    print(json.dumps(dict(peak=_peak_mib())))


def mem_row(family, args):
    "Median peak RSS (MiB) of `args.mem_reps` fresh processes per side, each building the model and inferring once."
    peaks = {'segnb': [], 'mmseg': []}
    for _ in range(args.mem_reps):
        for impl in peaks:
            out = subprocess.run([sys.executable, os.path.abspath(__file__), '--mem-worker', family, impl, '--size',
                                  str(args.size), '--threads', str(args.threads)], capture_output=True, text=True, check=True)
            peaks[impl].append(json.loads(out.stdout.strip().splitlines()[-1])['peak'])
    ours, theirs = statistics.median(peaks['segnb']), statistics.median(peaks['mmseg'])
    print(f'{family:13s} {ours:8.0f} {theirs:8.0f} {ours / theirs:6.2f}', flush=True)


def run(args):
    "The speed table, in this process (the venv's python), then the memory table from fresh processes."
    import torch
    torch.set_num_threads(args.threads)
    if args.reps:
        print(f'fp32, batch 1, {args.size}x{args.size} (beit 640x640, mae 512x512), {args.threads} threads, median of {args.reps} '
              f'alternating rounds; shared machines are noisy: read the per-round ratio range')
        print(f'{"family":13s} {"config":58s} {"segnb s":>8s} {"mmseg s":>8s} {"ratio":>6s} {"range":>11s} {"cpu":>6s} {"same px":>8s}')
        for family in args.family: bench_family(family, batch(1, SIZES.get(family, args.size)), args.reps)
    if args.profile:
        for family in args.family: profile_family(family, batch(1, SIZES.get(family, args.size)), args.profile)
    if args.mem_reps:
        print(f'\npeak RSS (MiB) of a process that builds the model and infers once, median of {args.mem_reps} per side')
        print(f'{"family":13s} {"segnb":>8s} {"mmseg":>8s} {"ratio":>6s}')
        for family in args.family: mem_row(family, args)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--family', '--families', nargs='+', default=list(FAMILIES), choices=list(FAMILIES), metavar='FAMILY',
                    help='families to run (default: all); see --list')
    ap.add_argument('--list', action='store_true', help='print the families and their configs, and exit')
    ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--reps', type=int, default=5, help='timed rounds after one warm-up round (0: no speed table)')
    ap.add_argument('--mem-reps', type=int, default=0, help='fresh processes per side for the peak-memory table (0: none)')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--profile', type=int, default=0, help='inferences per side under torch.profiler (0: no op table)')
    ap.add_argument('--in-venv', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--mem-worker', nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.list:
        for f, c in FAMILIES.items(): print(f'{f:13s} {c}')
        return
    warnings.filterwarnings('ignore')
    if args.mem_worker: return mem_worker(*args.mem_worker, args.size, args.threads)
    if args.in_venv: return run(args)
    venv = os.environ.get('SEGNB_MMSEG_VENV')
    if not venv: sys.exit('bench_zoo.py compares with mmseg: set SEGNB_MMSEG_VENV to a venv with mmsegmentation==0.30.0')
    py, env = python_for('mm0', venv)
    subprocess.run([py, os.path.abspath(__file__), '--in-venv'] + sys.argv[1:], env=env, check=True)


if __name__ == '__main__': main()
