"""Train-pipeline throughput: segnb vs mmsegmentation 0.30 on the same 50 VOC-sized images, same process layout.

    python benchmarks/bench_pipeline.py [--mmseg-python /path/to/venv/bin/python] [--passes 5] [--skip-loader]

50 synthetic 500x375 JPEGs with palette-PNG masks go through PSPNet's VOC train pipeline (Resize ratio_range
(0.5, 2.0), 512x512 RandomCrop cat_max_ratio=0.75, RandomFlip, PhotoMetricDistortion, Normalize, Pad). Each
pipeline runs in one process with one thread (torch and OpenCV), as in a DataLoader worker; the figure is the median
over passes of images per second. mmseg runs in its own venv (SEGNB_MMSEG_VENV or --mmseg-python); without it only
segnb's figures print. The two processes run at the same time for the same wall-clock window, so that on a shared,
noisy machine both see the same load. Then both DataLoaders (2 workers, batch 4), also side by side. Compare the
columns of one run, not runs with each other.
"""
import argparse, itertools, json, os, statistics, subprocess, sys, tempfile, time
import numpy as np
from PIL import Image

IMG_NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
            dict(type='Resize', img_scale=(2048, 512), ratio_range=(0.5, 2.0)),
            dict(type='RandomCrop', crop_size=(512, 512), cat_max_ratio=0.75), dict(type='RandomFlip', prob=0.5),
            dict(type='PhotoMetricDistortion'), dict(type='Normalize', **IMG_NORM),
            dict(type='Pad', size=(512, 512), pad_val=0, seg_pad_val=255),
            dict(type='DefaultFormatBundle'), dict(type='Collect', keys=['img', 'gt_semantic_seg'])]


def make_images(root, n=50, w=500, h=375, seed=0):
    "n VOC-sized JPEGs with blobby palette masks (classes 0..20, a 255 border) in root/img and root/ann."
    rng = np.random.default_rng(seed)
    os.makedirs(f'{root}/img', exist_ok=True); os.makedirs(f'{root}/ann', exist_ok=True)
    yy, xx = np.mgrid[:h, :w]
    for i in range(n):
        img = np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) % 256], -1) + rng.normal(0, 20, (h, w, 3))
        mask = np.zeros((h, w), np.uint8)
        for _ in range(rng.integers(2, 6)):
            cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(30, 150)
            inside = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
            mask[inside] = rng.integers(1, 21); img[inside] += rng.integers(-60, 60, 3)
        mask[:2] = 255
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(f'{root}/img/{i:03d}.jpg', quality=90)
        p = Image.fromarray(mask, mode='P'); p.putpalette(rng.integers(0, 256, 768).astype(np.uint8).tolist()); p.save(f'{root}/ann/{i:03d}.png')


def time_pipeline(pipeline, root, passes, seconds=0):
    "Median images/s of `pipeline` over `passes` passes of the 50 images (more while under `seconds`)."
    names = sorted(f[:-4] for f in os.listdir(f'{root}/img'))
    rates, start = [], time.perf_counter()
    for p in itertools.count():
        if p >= passes and time.perf_counter() - start > seconds: break
        np.random.seed(p)
        t = time.perf_counter()
        for n in names:
            pipeline(dict(img_info=dict(filename=n + '.jpg'), ann_info=dict(seg_map=n + '.png'),
                          img_prefix=f'{root}/img', seg_prefix=f'{root}/ann', seg_fields=[]))
        rates.append(len(names) / (time.perf_counter() - t))
    return statistics.median(rates)


def time_loader(loader, epochs, seconds=0):
    "Median images/s of iterating `loader` (first epoch, with worker start-up, excluded; more epochs while under `seconds`)."
    rates, start = [], time.perf_counter()
    for e in itertools.count():
        if e > epochs and time.perf_counter() - start > seconds: break
        t, n = time.perf_counter(), 0
        for batch in loader: n += len(batch['img_metas'].data[0]) if hasattr(batch['img_metas'], 'data') else len(batch['img_metas'])
        if e: rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates)


def measure(Compose, dataset_cls, build_loader, root, a):
    "images/s of the pipeline, or of a 2-worker DataLoader over a CustomDataset, for one library."
    if a.phase == 'pipeline': return time_pipeline(Compose(PIPELINE), root, a.passes, a.seconds)
    ds = dataset_cls(PIPELINE, img_dir=f'{root}/img', ann_dir=f'{root}/ann', classes=[str(i) for i in range(21)],
                     palette=[[i, i, i] for i in range(21)])
    return time_loader(build_loader(ds), max(2, a.passes // 2), a.seconds)


def run_segnb(root, a):
    import torch
    torch.set_num_threads(1)
    from segnb.data.transforms import Compose
    from segnb.data.datasets import CustomDataset
    from segnb.data.loader import build_dataloader
    return measure(Compose, CustomDataset, lambda ds: build_dataloader(ds, 4, 2, seed=0), root, a)


def run_mmseg(root, a):
    import types, warnings
    warnings.filterwarnings('ignore')
    sys.modules['mmcv._ext'] = types.ModuleType('mmcv._ext')
    import cv2, torch
    cv2.setNumThreads(1); torch.set_num_threads(1)
    from mmseg.datasets import build_dataloader, CustomDataset
    from mmseg.datasets.pipelines import Compose
    return measure(Compose, CustomDataset, lambda ds: build_dataloader(ds, 4, 2, dist=False, seed=0), root, a)


def start_worker(name, py, root, a, phase):
    cmd = [py, os.path.abspath(__file__), '--worker', name, '--root', root, '--passes', str(a.passes),
           '--seconds', str(a.seconds), '--phase', phase]
    env = {**os.environ, 'PYTHONPATH': os.path.dirname(os.path.dirname(os.path.abspath(__file__)))} if name == 'segnb' else os.environ
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--passes', type=int, default=3, help='at least this many passes over the 50 images')
    ap.add_argument('--seconds', type=float, default=30, help='keep measuring for this long (both side by side)')
    ap.add_argument('--skip-loader', action='store_true')
    ap.add_argument('--mmseg-python', default=None)
    ap.add_argument('--worker', choices=['segnb', 'mmseg'], help=argparse.SUPPRESS)
    ap.add_argument('--phase', choices=['pipeline', 'loader'], help=argparse.SUPPRESS)
    ap.add_argument('--root', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:   # child process: one library, one phase, print JSON
        print(json.dumps((run_segnb if a.worker == 'segnb' else run_mmseg)(a.root, a)))
        return
    venv = os.environ.get('SEGNB_MMSEG_VENV')
    mm_py = a.mmseg_python or (os.path.join(venv, 'bin', 'python') if venv else None)
    libs = [('segnb', sys.executable)] + ([('mmseg', mm_py)] if mm_py else [])
    res = {}
    with tempfile.TemporaryDirectory() as root:
        make_images(root)
        for phase in ['pipeline'] + ([] if a.skip_loader else ['loader']):
            procs = {name: start_worker(name, py, root, a, phase) for name, py in libs}
            for name, p in procs.items():
                out, err = p.communicate()
                if p.returncode: sys.exit(f'{name} {phase} worker failed:\n{err[-2000:]}')
                res[name, phase] = json.loads(out.strip().splitlines()[-1])
    print(f'50 images 500x375, PSPNet VOC train pipeline, images/s (median; both libraries measured side by side; noisy shared machine)')
    for phase, label in [('pipeline', 'one process, 1 thread'), ('loader', 'DataLoader, 2 workers, batch 4')]:
        if ('segnb', phase) not in res: continue
        row = f'{label:32s} segnb {res["segnb", phase]:7.1f}'
        if ('mmseg', phase) in res: row += f'   mmseg 0.30 {res["mmseg", phase]:7.1f}   ratio {res["segnb", phase] / res["mmseg", phase]:.2f}x'
        print(row)


if __name__ == '__main__':
    main()
