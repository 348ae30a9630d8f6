"""Widget costs, each against a baseline measured in the same run.

    python benchmarks/bench_widgets.py [--iters 60] [--repeat 3] [--size 512] [--skip-train] [--skip-explorer]

1. Training slowdown of the live dashboard: the default config (PSPNet-R18 on Shapes) trained for `--iters`
   iterations without and with `LiveDashboardHook(interval=10)`, alternating `--repeat` times; the median seconds per
   iteration of each and their ratio (goal: <= 1.05). Because other processes make A/B timings drift, the time spent
   inside the hook is also measured within the dashboard runs (total / (total - hook)). The dashboard does its full
   work (curves and predictions on 4 validation images) although no browser shows it.
2. Explorer latency on a ResNet-50 feature map: PSPNet-R50-D8 on a `--size`^2 image (layer4 is 2048 x size/8 x
   size/8); the median time from setting the channel slider's value to the new PNG in the Image widget (goal:
   <= 300 ms on CPU), with the top-k and PCA views and a layer switch for reference.
Other processes on the machine make timings noisy: compare the ratio, not the absolute numbers.
"""
import argparse, logging, statistics, sys, tempfile, time
from pathlib import Path
import numpy as np, torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def shapes_cfg(iters, dashboard):
    from segnb.config import Config
    cfg = Config.fromfile(str(REPO / 'segnb/configs/shapes/pspnet_r18-d8_shapes.py'))
    for split in ('train', 'val', 'test'): cfg.data[split].data_root = str(REPO / 'data/shapes')
    cfg.work_dir, cfg.runner.max_iters = tempfile.mkdtemp(), iters
    cfg.checkpoint_config = dict(by_epoch=False, interval=10 ** 9)
    cfg.log_config = dict(interval=10 ** 9, hooks=[])
    cfg.custom_hooks = [dict(type='LiveDashboardHook', interval=10, num_images=4, dataset=cfg.data.val)] if dashboard else []
    return cfg


def time_training(iters, dashboard, spent=None):
    "Seconds per iteration of `train_segmentor` (first 5 iterations excluded as warm-up); dashboard seconds into `spent`."
    from segnb.apis import train_segmentor, set_random_seed
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    from segnb.data.loader import build_dataset
    from segnb.runner.hooks import Hook
    cfg = shapes_cfg(iters, dashboard)
    set_random_seed(0)
    model, ds = build_segmentor(cfg.model), build_dataset(cfg.data.train)
    from segnb.registry import HOOKS
    import segnb.dashboard  # registers LiveDashboardHook (configs name it in custom_hooks)
    stamps = []
    @HOOKS.register_module(force=True)
    class BenchClock(Hook):
        def after_train_iter(self, runner): stamps.append(time.perf_counter())
    cfg.custom_hooks = cfg.custom_hooks + [dict(type='BenchClock', priority='LOWEST')]
    logging.getLogger('segnb').setLevel(logging.WARNING)
    dash_iter = segnb.dashboard.LiveDashboardHook.after_train_iter
    def timed(self, runner):
        t = time.perf_counter(); dash_iter(self, runner)
        if spent is not None and runner.iter >= 5: spent.append(time.perf_counter() - t)
    segnb.dashboard.LiveDashboardHook.after_train_iter = timed
    try: train_segmentor(model, ds, cfg, validate=False)
    finally: segnb.dashboard.LiveDashboardHook.after_train_iter = dash_iter
    return (stamps[-1] - stamps[4]) / (len(stamps) - 5)


def bench_training(iters, repeat):
    base, dash, share = [], [], []
    for _ in range(repeat):
        spent = []
        base.append(time_training(iters, False)); dash.append(time_training(iters, True, spent))
        share.append(sum(spent) / (dash[-1] * (iters - 5)))
    b, d, f = statistics.median(base), statistics.median(dash), statistics.median(share)
    print(f'training, s/iter (median of {repeat}): without dashboard {b:.4f}, with dashboard every 10 iters {d:.4f}, '
          f'ratio {d / b:.3f} (goal <= 1.05)')
    print(f'  within the dashboard runs, the hook took {100 * f:.1f}% of the time: slowdown {1 / (1 - f):.3f} measured '
          f'in the same run (robust to load from other processes)')


def _median_ms(f, n):
    ts = []
    for i in range(n):
        t = time.perf_counter(); f(i); ts.append(time.perf_counter() - t)
    return 1000 * statistics.median(ts)


def bench_explorer(size, n=15):
    from segnb.config import Config
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    from segnb.widgets import FeatureMapExplorer
    cfg = Config.fromfile(str(REPO / 'segnb/configs/_base_/models/pspnet_r50-d8.py'))
    cfg.model.pretrained = None
    for part in ('backbone', 'decode_head', 'auxiliary_head'): cfg.model[part].norm_cfg = dict(type='BN', requires_grad=True)
    torch.manual_seed(0)
    model = build_segmentor(cfg.model).eval()
    img = np.random.RandomState(0).randint(0, 256, (size, size, 3)).astype(np.uint8)
    t = time.perf_counter()
    fx = FeatureMapExplorer(model, img, layers=['backbone.layer1', 'backbone.layer4', 'decode_head.bottleneck'])
    print(f'explorer: forward pass with hooks and first picture {1000 * (time.perf_counter() - t):.0f} ms (once per model state)')
    fx.layer.value = 'backbone.layer4'
    shape = tuple(fx.feature.shape)
    ms = _median_ms(lambda i: setattr(fx.channel, 'value', (i * 37 + 1) % shape[0]), n)
    print(f'explorer: channel slider -> new PNG on backbone.layer4 {shape}: median {ms:.1f} ms (goal <= 300 ms)')
    fx.view.value = 'top-k'
    ms_k = _median_ms(lambda i: setattr(fx.channel, 'value', i % 5), n)
    fx.view.value = 'channel'
    ms_switch = _median_ms(lambda i: setattr(fx.layer, 'value', ['backbone.layer1', 'backbone.layer4'][i % 2]), n)
    fx.layer.value = 'backbone.layer4'
    t = time.perf_counter(); fx.view.value = 'PCA'; ms_pca = 1000 * (time.perf_counter() - t)
    print(f'explorer: top-16 grid redraw {ms_k:.1f} ms; layer switch {ms_switch:.1f} ms; PCA view of layer4 {ms_pca:.0f} ms '
          f'(first time; cached after)')


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--iters', type=int, default=60); ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--skip-train', action='store_true'); ap.add_argument('--skip-explorer', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(2)
    if not a.skip_explorer: bench_explorer(a.size)
    if not a.skip_train: bench_training(a.iters, a.repeat)
