"""RandomRotate's pixel work: segnb's OpenCV-exact imrotate vs torchvision's F.rotate (baseline), and mmcv's if given.

    python benchmarks/bench_rotate.py [--mmseg-python /path/to/venv/bin/python] [--repeats 30]

One 512x512 BGR uint8 image (bilinear) and its uint8 mask (nearest), turned by 17.3 degrees about the centre, one
thread (as in a DataLoader worker). Prints the median milliseconds of each and the ratio to torchvision's F.rotate
measured in the same run. mmcv (OpenCV's warpAffine) runs in its own venv right after, so its figure saw a different
moment of a shared, noisy machine: compare ratios within one run, not runs with each other.
"""
import argparse, os, statistics, subprocess, time
import numpy as np, torch

MMCV = '''
import sys, time, statistics, numpy as np, cv2, warnings
warnings.filterwarnings('ignore'); cv2.setNumThreads(1)
import types; sys.modules['mmcv._ext'] = types.ModuleType('mmcv._ext')
import mmcv
rng = np.random.default_rng(0)
img, seg = rng.integers(0, 256, (512, 512, 3), dtype=np.uint8), rng.integers(0, 21, (512, 512), dtype=np.uint8)
def med(f, n):
    ts = []
    for _ in range(n): t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1000
print(med(lambda: mmcv.imrotate(img, 17.3), int(sys.argv[1])), med(lambda: mmcv.imrotate(seg, 17.3, border_value=255, interpolation='nearest'), int(sys.argv[1])))
'''


def median_ms(f, n):
    f()
    times = []
    for _ in range(n):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--mmseg-python', default=os.path.join(os.environ['SEGNB_MMSEG_VENV'], 'bin', 'python')
                    if os.environ.get('SEGNB_MMSEG_VENV') else None)
    ap.add_argument('--repeats', type=int, default=30)
    a = ap.parse_args()
    torch.set_num_threads(1)
    from torchvision.transforms.v2 import functional as F
    from torchvision.transforms import InterpolationMode as IM
    from segnb.data.warp import imrotate
    rng = np.random.default_rng(0)
    img = torch.from_numpy(rng.integers(0, 256, (3, 512, 512), dtype=np.uint8))
    seg = torch.from_numpy(rng.integers(0, 21, (512, 512), dtype=np.uint8))
    rows = [('torchvision F.rotate (baseline)', lambda: F.rotate(img, -17.3, IM.BILINEAR), lambda: F.rotate(seg[None], -17.3, IM.NEAREST, fill=[255.]))]
    for ocv in ('5.1', '5.0', '4'):
        rows.append((f'segnb imrotate opencv={ocv}', lambda o=ocv: imrotate(img, 17.3, opencv=o),
                     lambda o=ocv: imrotate(seg, 17.3, border_value=255, interpolation='nearest', opencv=o)))
    results = [(name, median_ms(fi, a.repeats), median_ms(fs, a.repeats)) for name, fi, fs in rows]
    if a.mmseg_python:
        out = subprocess.run([a.mmseg_python, '-c', MMCV, str(a.repeats)], capture_output=True, text=True, check=True)
        results.append(('mmcv.imrotate (OpenCV, other venv)', *map(float, out.stdout.split()[-2:])))
    base_i, base_s = results[0][1], results[0][2]
    print(f'{"512x512, 17.3 deg, 1 thread":38s} {"image ms":>9s} {"x base":>7s} {"mask ms":>9s} {"x base":>7s}')
    for name, ti, ts in results:
        print(f'{name:38s} {ti:9.2f} {ti / base_i:7.2f} {ts:9.2f} {ts / base_s:7.2f}')


if __name__ == '__main__':
    main()
