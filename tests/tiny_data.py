"""A tiny on-disk segmentation dataset (32x32 JPEG images, palette PNG masks) for the CLI/resume/dist tests."""
import os
import numpy as np
from PIL import Image

PALETTE = [0, 0, 0, 255, 0, 0, 0, 0, 255]

def _sample(rng, size):
    img = rng.integers(90, 140, (size, size, 3)).astype(np.uint8)
    mask = np.zeros((size, size), np.uint8)
    yy, xx = np.mgrid[:size, :size]
    for cls in (1, 2):
        cy, cx, r = rng.integers(6, size - 6, 2).tolist() + [int(rng.integers(3, 7))]
        shape = (abs(yy - cy) <= r) & (abs(xx - cx) <= r) if cls == 1 else (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        mask[shape] = cls
        img[shape] = (230, 40, 40) if cls == 1 else (40, 40, 230)
    return img, mask

def make_tiny_dataset(root, n_train=16, n_val=4, size=32, seed=0):
    "Write `root/img_dir/{train,val}/*.jpg` and `root/ann_dir/{train,val}/*.png`; returns `root`."
    rng = np.random.default_rng(seed)
    for split, n in (('train', n_train), ('val', n_val)):
        os.makedirs(f'{root}/img_dir/{split}', exist_ok=True); os.makedirs(f'{root}/ann_dir/{split}', exist_ok=True)
        for i in range(n):
            img, mask = _sample(rng, size)
            Image.fromarray(img).save(f'{root}/img_dir/{split}/{i:03d}.jpg', quality=95)
            m = Image.fromarray(mask, mode='P'); m.putpalette(PALETTE); m.save(f'{root}/ann_dir/{split}/{i:03d}.png')
    return str(root)

# ---- running the `segnb` command in a subprocess -------------------------------------------------------------
import glob, json, sys
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_CONFIG = os.path.join(REPO, 'tests', 'configs', 'tiny_pspnet.py')

def segnb_env(**extra):
    "Environment for segnb subprocesses: one thread (deterministic, kind to a shared 2-core machine), tests on the path."
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONPATH=os.pathsep.join(
        [REPO, os.path.join(REPO, 'tests'), os.environ.get('PYTHONPATH', '')]))
    env.update(extra)
    return env

def data_options(root):
    "`--cfg-options` values pointing every split of the tiny config at `root`."
    return [f'data.{s}.data_root={root}' for s in ('train', 'val', 'test')]

def train_cmd(work_dir, root, *extra, options=(), config=TINY_CONFIG):
    return [sys.executable, '-m', 'segnb', 'train', config, '--work-dir', str(work_dir), '--seed', '0', '--deterministic',
            '--no-progress', *extra, '--cfg-options', *data_options(root), *options]

def losses(work_dir):
    "{iter: loss} from every `*.log.json` of `work_dir` (later files win)."
    out = {}
    for f in sorted(glob.glob(f'{work_dir}/*.log.json')):
        for line in open(f):
            rec = json.loads(line)
            if rec.get('mode') == 'train' and 'loss' in rec: out[rec['iter']] = rec['loss']
    return out
