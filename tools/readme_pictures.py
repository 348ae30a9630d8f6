"""Make the README's pictures with segnb's own code.

    python tools/readme_pictures.py [--checkpoint CKPT | --iters N] [--skip-browser] [--out docs/images]

1. `shapes_predictions.png`: image / ground truth / prediction for 4 Shapes validation images, from PSPNet-R18
   (the default config) trained for `--iters` iterations (default: the config's own, the README's run), or loaded
   from `--checkpoint` (e.g.
   `work_dirs/pspnet_r18-d8_shapes/latest.pth` after `segnb train`).
2. `dashboard.png`: the live dashboard as Chromium shows it after the tutorial's full default training, taken by
   `tests/test_browser.py` with SEGNB_BROWSER_FULL_RUN=1 (run here unless `--skip-browser`; it then reuses
   `tests/artifacts/dashboard.png`).
Both are written as palette PNGs, well under 200 KB.
"""
import argparse, os, subprocess, sys, tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def small_png(src_or_img, dst, max_width=900):
    "Save as an optimized 256-colour PNG, at most `max_width` pixels wide; the size in KB."
    from PIL import Image
    im = Image.open(src_or_img) if isinstance(src_or_img, (str, Path)) else src_or_img
    im = im.convert('RGB')
    if im.width > max_width: im = im.resize((max_width, round(im.height * max_width / im.width)), Image.LANCZOS)
    im.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(dst, optimize=True)
    return Path(dst).stat().st_size / 1024


def trained_model(checkpoint, iters):
    "PSPNet-R18 of the default config: loaded from `checkpoint`, or trained for `iters` iterations."
    from segnb.config import Config
    from segnb.config_tools import find_config
    from segnb.apis import train_segmentor, set_random_seed
    from segnb.checkpoint import load_checkpoint
    from segnb.data.loader import build_dataset
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    cfg = Config.fromfile(find_config('shapes/pspnet_r18-d8_shapes.py'))
    set_random_seed(0)
    model = build_segmentor(cfg.model)
    if checkpoint: load_checkpoint(model, checkpoint, strict=True)
    else:
        cfg.runner.max_iters = iters = iters or cfg.runner.max_iters
        cfg.work_dir = tempfile.mkdtemp(prefix='readme_')
        cfg.evaluation.interval = cfg.checkpoint_config.interval = iters
        train_segmentor(model, [build_dataset(cfg.data.train)], cfg, validate=False)
    return model.eval(), build_dataset(cfg.data.val)


def prediction_grid(model, val, out, indices=(0, 1, 2, 3)):
    from PIL import Image
    from segnb.vis import plot_predictions, fig_to_array
    from segnb.widgets import dataset_sample, predict_labels
    from segnb.vis import to_rgb_image
    imgs, gts, preds = [], [], []
    for i in indices:
        x, meta, gt = dataset_sample(val, i)
        imgs.append(to_rgb_image(x[0], meta.get('img_norm_cfg'))); gts.append(gt); preds.append(predict_labels(model, x, meta))
    fig = plot_predictions(imgs, gts, preds, val.PALETTE, val.CLASSES, opacity=1.0, size=1.6)
    return small_png(Image.fromarray(fig_to_array(fig)), out)


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--checkpoint'); ap.add_argument('--iters', type=int, default=None)
    ap.add_argument('--skip-browser', action='store_true'); ap.add_argument('--out', default=str(REPO / 'docs/images'))
    a = ap.parse_args()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    model, val = trained_model(a.checkpoint, a.iters)
    print(f'{out / "shapes_predictions.png"}: {prediction_grid(model, val, out / "shapes_predictions.png"):.0f} KB')
    if not a.skip_browser:
        subprocess.run([sys.executable, '-m', 'pytest', '-q', str(REPO / 'tests/test_browser.py')], check=True, cwd=REPO,
                       env=dict(os.environ, SEGNB_BROWSER_FULL_RUN='1'))
    shot = REPO / 'tests/artifacts/dashboard.png'
    print(f'{out / "dashboard.png"}: {small_png(shot, out / "dashboard.png"):.0f} KB')
