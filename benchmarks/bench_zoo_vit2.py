"""Plain-ViT families' inference speed and memory: segnb against mmsegmentation 0.30 (Segmenter, DPT, BEiT, MAE).

The method of bench_zoo.py: the shipped segnb config's model (SyncBN -> BN, no pretrained weights) built by segnb and
by mmseg 0.30 from the same dict, segnb's weights loaded into mmseg's (strict), whole-image inference (`forward_test`)
at batch 1, fp32, `--threads` CPU threads; both models in ONE process, alternating call by call, one warm-up round
dropped, the median of `--reps` rounds, and the share of identical predicted pixels. The backbone's `img_size` is set
to `--size` (BEiT's relative position tables and MAE's position embedding fit one patch grid; mmseg's configs reach
that size by slide inference) and `test_cfg` to whole-image mode.

Memory (`--mem`): for each implementation, a fresh process builds only its model, resets the kernel's peak-RSS mark
(/proc/self/clear_refs), runs one inference and reports how far the peak RSS (VmHWM) rose above the resident memory
before it; the median of `--mem-reps` processes per side. The machine is shared:
compare the ratios of one run, not seconds across runs.

    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo_vit2.py --size 256 --reps 5
    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_zoo_vit2.py --families beit --size 256 --mem
"""
import argparse, json, os, statistics, subprocess, sys, warnings
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models import alternate, batch, infer, python_for
from bench_zoo import build_pair, model_cfg as shipped_model

FAMILIES = {   # family: segnb config under segnb/configs (mmseg has a config of the same name)
    'segmenter': 'segmenter/segmenter_vit-t_mask_8x1_512x512_160k_ade20k.py',
    'dpt': 'dpt/dpt_vit-b16_512x512_160k_ade20k.py',
    'beit': 'beit/upernet_beit-base_8x2_640x640_160k_ade20k.py',
    'mae': 'mae/upernet_mae-base_fp16_8x2_512x512_160k_ade20k.py',
}


def model_cfg(family, size):
    cfg = shipped_model(FAMILIES[family])
    return dict(cfg, backbone=dict(cfg['backbone'], img_size=(size, size)), test_cfg=dict(mode='whole'))


def run(args):
    "The speed table, in this process (the venv's python)."
    import torch
    torch.set_num_threads(args.threads)
    print(f'fp32, batch 1, {args.size}x{args.size}, {args.threads} threads, median of {args.reps}; shared machine: noisy')
    print(f'{"family":10s} {"segnb s":>8s} {"mmseg s":>8s} {"ratio":>6s} {"same px":>8s}')
    data = batch(1, args.size)
    for family in args.families:
        models, preds = build_pair(model_cfg(family, args.size)), {}
        med = alternate(models, lambda n: preds.__setitem__(n, infer(models[n], data)), args.reps)
        same = float((preds['segnb'][0] == preds['mmseg'][0]).mean())
        print(f'{family:10s} {med["segnb"]:8.3f} {med["mmseg"]:8.3f} {med["segnb"] / med["mmseg"]:6.2f} {same:8.2%}', flush=True)


def _status_mib(field):
    "`VmRSS` or `VmHWM` (peak) of this process from /proc/self/status, in MiB."
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) for l in f if l.startswith(field + ':')) / 1024


def mem_worker(args):
    "Peak RSS rise (MiB) of one inference above the built model, for one implementation, in this fresh process."
    import gc, torch
    torch.set_num_threads(args.threads)
    cfg = model_cfg(args.families[0], args.size)
    if args.mem_worker == 'segnb':
        from segnb.models.segmentors.encoder_decoder import build_segmentor
        model = build_segmentor(cfg).eval()
    else:
        from bench_models import _stub_mmcv_ext
        _stub_mmcv_ext()
        from mmcv import ConfigDict
        from mmseg.models import build_segmentor
        model = build_segmentor(ConfigDict(cfg)).eval()
    data = batch(1, args.size)
    gc.collect()
    with open('/proc/self/clear_refs', 'w') as f: f.write('5')      # reset the peak (VmHWM) to the current RSS
    before = _status_mib('VmRSS')
    infer(model, data)
    print(json.dumps(dict(rise=_status_mib('VmHWM') - before)))


def run_mem(args, py, env):
    print(f'peak RSS rise of one inference above the built model, {args.size}x{args.size}, '
          f'median of {args.mem_reps} fresh processes per side')
    print(f'{"family":10s} {"segnb MiB":>10s} {"mmseg MiB":>10s} {"ratio":>6s}')
    for family in args.families:
        rise = {'segnb': [], 'mmseg': []}
        for _ in range(args.mem_reps):
            for impl in rise:
                cmd = [py, os.path.abspath(__file__), '--in-venv', '--mem-worker', impl, '--families', family,
                       '--size', str(args.size), '--threads', str(args.threads)]
                out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
                rise[impl].append(json.loads(out.strip().splitlines()[-1])['rise'])
        med = {k: statistics.median(v) for k, v in rise.items()}
        print(f'{family:10s} {med["segnb"]:10.1f} {med["mmseg"]:10.1f} {med["segnb"] / med["mmseg"]:6.2f}', flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--families', nargs='+', default=list(FAMILIES), choices=list(FAMILIES))
    ap.add_argument('--size', type=int, default=256)
    ap.add_argument('--reps', type=int, default=5, help='timed rounds after one warm-up round')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--mem', action='store_true', help='measure peak memory instead of speed')
    ap.add_argument('--mem-reps', type=int, default=3, help='fresh processes per side for --mem')
    ap.add_argument('--in-venv', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--mem-worker', choices=['segnb', 'mmseg'], help=argparse.SUPPRESS)
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    if args.mem_worker: return mem_worker(args)
    if args.in_venv: return run(args)
    venv = os.environ.get('SEGNB_MMSEG_VENV')
    if not venv: sys.exit('bench_zoo_vit2.py compares with mmseg: set SEGNB_MMSEG_VENV to a venv with mmsegmentation==0.30.0')
    py, env = python_for('mm0', venv)
    if args.mem: return run_mem(args, py, env)
    subprocess.run([py, os.path.abspath(__file__), '--in-venv'] + sys.argv[1:], env=env, check=True)


if __name__ == '__main__': main()
