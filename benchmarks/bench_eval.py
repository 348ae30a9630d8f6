"""Evaluation time: segnb.evaluation.mean_iou vs mmseg 0.30's mean_iou on 100 predictions of 512x512, 21 classes.

Usage: python benchmarks/bench_eval.py [--mmseg-python /path/to/venv/bin/python] [--repeats 5]
mmseg runs in a subprocess of that python (same data, same machine, same run) three times: with torch's default
threads, the same with OMP_WAIT_POLICY=PASSIVE (what the segnb command sets), and with one thread (segnb's counting
runs on one thread). Prints medians and ratios. Timings are noisy when other processes load the machine.
"""
import argparse, os, subprocess, tempfile
import numpy as np

def make_data(n=100, size=512, classes=21, seed=0):
    rng = np.random.default_rng(seed)
    labels = [rng.integers(0, classes, (size, size)).astype(np.uint8) for _ in range(n)]
    preds = [np.where(rng.random((size, size)) < 0.7, l, rng.integers(0, classes, (size, size))).astype(np.int64) for l in labels]
    for l in labels: l[:16] = 255
    return preds, labels

TIMER = '''
import time, numpy as np
def bench(f, repeats):
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); r = f(); ts.append(time.perf_counter() - t)
    return float(np.median(ts)), r
'''

MMSEG = TIMER + '''
import sys, types, torch; sys.modules['mmcv._ext'] = types.ModuleType('mmcv._ext')
if sys.argv[3] == '1': torch.set_num_threads(1)
from mmseg.core.evaluation import mean_iou
d = np.load(sys.argv[1]); a = [d[k] for k in d.files]; n = len(a) // 2
t, r = bench(lambda: mean_iou(a[:n], a[n:], 21, 255), int(sys.argv[2]))
print(t, float(np.nanmean(r['IoU'])))
'''

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--mmseg-python', default=os.environ.get('SEGNB_MMSEG_PYTHON', ''),
                    help="python of a venv with mmsegmentation 0.30 (default: $SEGNB_MMSEG_PYTHON); without it, no baseline")
    ap.add_argument('--repeats', type=int, default=5)
    args = ap.parse_args()
    from segnb.evaluation import mean_iou
    preds, labels = make_data()
    ns = {}; exec(TIMER, ns)
    t_ours, r = ns['bench'](lambda: mean_iou(preds, labels, 21, 255), args.repeats)
    miou = float(np.nanmean(r['IoU']))
    print(f'segnb mean_iou: median {t_ours * 1e3:.1f} ms for 100 x 512x512 (mIoU {miou:.4f})')
    if not (args.mmseg_python and os.path.exists(args.mmseg_python)):
        return print(f'mmseg python {args.mmseg_python!r} not found (set SEGNB_MMSEG_PYTHON): no baseline')
    with tempfile.TemporaryDirectory() as d:
        np.savez(f'{d}/data.npz', *preds, *labels)
        for threads in ('default', 'default+passive', '1'):
            env = dict(os.environ, OMP_WAIT_POLICY='PASSIVE') if 'passive' in threads else None
            out = subprocess.run([args.mmseg_python, '-c', MMSEG, f'{d}/data.npz', str(args.repeats), threads],
                                 capture_output=True, text=True, check=True, env=env).stdout.split()
            t_mm, miou_mm = float(out[-2]), float(out[-1])
            print(f'mmseg 0.30 mean_iou, torch threads {threads}: median {t_mm * 1e3:.1f} ms (mIoU {miou_mm:.4f}); '
                  f'ratio segnb / mmseg: {t_ours / t_mm:.3f} (goal <= 0.1); same mIoU: {abs(miou - miou_mm) < 1e-6}')

if __name__ == '__main__': main()
