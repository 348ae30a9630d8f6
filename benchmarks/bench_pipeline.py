"""Train-pipeline throughput: segnb vs mmsegmentation 0.30 on the same 50 VOC-sized images, same process layout.

    python benchmarks/bench_pipeline.py [--mmseg-python /path/to/venv/bin/python] [--passes 5] [--skip-loader]

50 synthetic 500x375 JPEGs with palette-PNG masks go through PSPNet's VOC train pipeline (Resize ratio_range
(0.5, 2.0), 512x512 RandomCrop cat_max_ratio=0.75, RandomFlip, PhotoMetricDistortion, Normalize, Pad). Each
pipeline runs in one process with one thread (torch and OpenCV), as in a DataLoader worker; the figure is the median
over passes of images per second. mmseg runs as a subprocess of its own venv (SEGNB_MMSEG_VENV or --mmseg-python);
without it only segnb's figures print. Then both DataLoaders with 2 workers, batch 4. Timings on a shared 2-core
machine are noisy: compare the two columns of one run, not runs with each other.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time
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


def time_pipeline(pipeline, root, passes):
    "Median images/s of `pipeline` (a callable on mmseg results dicts) over `passes` passes of the 50 images."
    names = sorted(f[:-4] for f in os.listdir(f'{root}/img'))
    rates = []
    for p in range(passes):
        np.random.seed(p)
        t = time.perf_counter()
        for n in names:
            pipeline(dict(img_info=dict(filename=n + '.jpg'), ann_info=dict(seg_map=n + '.png'),
                          img_prefix=f'{root}/img', seg_prefix=f'{root}/ann', seg_fields=[]))
        rates.append(len(names) / (time.perf_counter() - t))
    return statistics.median(rates)


def time_loader(loader, epochs):
    "Median images/s of iterating `loader` (first epoch, with worker start-up, excluded)."
    rates = []
    for e in range(epochs + 1):
        t, n = time.perf_counter(), 0
        for batch in loader: n += len(batch['img_metas'].data[0]) if hasattr(batch['img_metas'], 'data') else len(batch['img_metas'])
        if e: rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates)


def run_segnb(root, passes, loader):
    import torch
    torch.set_num_threads(1)
    from segnb.data.transforms import Compose
    from segnb.data.datasets import CustomDataset
    from segnb.data.loader import build_dataloader
    out = dict(pipeline=time_pipeline(Compose(PIPELINE), root, passes))
    if loader:
        ds = CustomDataset(PIPELINE, img_dir=f'{root}/img', ann_dir=f'{root}/ann', classes=[str(i) for i in range(21)],
                           palette=[[i, i, i] for i in range(21)])
        out['loader'] = time_loader(build_dataloader(ds, 4, 2, seed=0), max(2, passes // 2))
    return out


def run_mmseg(root, passes, loader):
    import types, warnings
    warnings.filterwarnings('ignore')
    sys.modules['mmcv._ext'] = types.ModuleType('mmcv._ext')
    import cv2, torch
    cv2.setNumThreads(1); torch.set_num_threads(1)
    from mmseg.datasets import build_dataloader, CustomDataset
    from mmseg.datasets.pipelines import Compose
    out = dict(pipeline=time_pipeline(Compose(PIPELINE), root, passes))
    if loader:
        ds = CustomDataset(PIPELINE, img_dir=f'{root}/img', ann_dir=f'{root}/ann', classes=[str(i) for i in range(21)],
                           palette=[[i, i, i] for i in range(21)])
        out['loader'] = time_loader(build_dataloader(ds, 4, 2, dist=False, seed=0), max(2, passes // 2))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--passes', type=int, default=5)
    ap.add_argument('--skip-loader', action='store_true')
    ap.add_argument('--mmseg-python', default=None)
    ap.add_argument('--worker', choices=['segnb', 'mmseg'], help=argparse.SUPPRESS)
    ap.add_argument('--root', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:   # child process: one library, print JSON
        print(json.dumps((run_segnb if a.worker == 'segnb' else run_mmseg)(a.root, a.passes, not a.skip_loader)))
        return
    venv = os.environ.get('SEGNB_MMSEG_VENV')
    mm_py = a.mmseg_python or (os.path.join(venv, 'bin', 'python') if venv else None)
    with tempfile.TemporaryDirectory() as root:
        make_images(root)
        res = {}
        for name, py in [('segnb', sys.executable), ('mmseg 0.30', mm_py)]:
            if py is None: continue
            cmd = [py, os.path.abspath(__file__), '--worker', name.split()[0], '--root', root, '--passes', str(a.passes)]
            if a.skip_loader: cmd.append('--skip-loader')
            env = {**os.environ, 'PYTHONPATH': os.path.dirname(os.path.dirname(os.path.abspath(__file__)))} if name == 'segnb' else os.environ
            r = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if r.returncode: sys.exit(f'{name} worker failed:\n{r.stderr[-2000:]}')
            res[name] = json.loads(r.stdout.strip().splitlines()[-1])
    print('50 images 500x375, PSPNet VOC train pipeline, images/s (median; noisy shared machine)')
    for key, label in [('pipeline', 'one process, 1 thread'), ('loader', 'DataLoader, 2 workers, batch 4')]:
        if key not in res['segnb']: continue
        row = f'{label:32s} segnb {res["segnb"][key]:7.1f}'
        if 'mmseg 0.30' in res: row += f'   mmseg {res["mmseg 0.30"][key]:7.1f}   ratio {res["segnb"][key] / res["mmseg 0.30"][key]:.2f}x'
        print(row)


if __name__ == '__main__':
    main()
