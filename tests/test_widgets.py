"""Widget logic without a display: controls change the produced image, the dashboard holds the logged values,
background training pauses/resumes/stops at iteration boundaries and leaves a loadable checkpoint."""
import logging, time
from pathlib import Path
import numpy as np, pytest, torch
import segnb.models.backbones.resnet, segnb.models.decode_heads.heads, segnb.models.losses.losses  # register the model parts
from segnb.models.segmentors.encoder_decoder import build_segmentor
from segnb.registry import HOOKS, build_from_cfg
from segnb.runner.runner import IterBasedRunner
from segnb.utils import get_logger
from segnb.checkpoint import load_checkpoint
from segnb.vis import overlay, to_rgb_image
from segnb.vis_features import channel_image, pca_rgb
from segnb.widgets import FeatureMapExplorer, PredictionBrowser, capture_features, feature_layers, predict_labels
from segnb.dashboard import LiveDashboardHook, BackgroundTraining

NORM = dict(type='BN', requires_grad=True)
META = dict(img_norm_cfg=dict(mean=[128.] * 3, std=[64.] * 3, to_rgb=True))


def pspnet_r18(num_classes=3):
    "PSPNet on ResNet-18 (mmseg's pspnet_r18-d8 sizes) without pretrained weights."
    cfg = dict(type='EncoderDecoder', pretrained=None,
               backbone=dict(type='ResNetV1c', depth=18, num_stages=4, out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4),
                             strides=(1, 2, 1, 1), norm_cfg=NORM, contract_dilation=True),
               decode_head=dict(type='PSPHead', in_channels=512, in_index=3, channels=32, pool_scales=(1, 2, 3, 6),
                                dropout_ratio=0.1, num_classes=num_classes, norm_cfg=NORM, align_corners=False,
                                loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
               train_cfg=dict(), test_cfg=dict(mode='whole'))
    torch.manual_seed(0)
    return build_segmentor(cfg)


class Squares:
    "Train-mode items: a normalized image with a bright square (class 1) and a bar (class 2)."
    CLASSES, PALETTE = ('background', 'square', 'bar'), [[0, 0, 0], [255, 200, 0], [0, 120, 255]]
    def __init__(self, n=4, size=32):
        g, self.items = torch.Generator().manual_seed(0), []
        for i in range(n):
            gt = torch.zeros(size, size, dtype=torch.long); gt[4 + 2 * i:16 + 2 * i, 4:16] = 1; gt[24:28] = 2
            img = torch.randn(3, size, size, generator=g) * 0.3 + gt.float()[None] - 0.5
            self.items.append(dict(img=img, gt_semantic_seg=gt[None], img_metas=dict(META, ori_shape=(size, size, 3),
                                   img_shape=(size, size, 3), pad_shape=(size, size, 3), flip=False)))
    def __len__(self): return len(self.items)
    def __getitem__(self, i): return self.items[i]
    def evaluate(self, results, logger=None, **kw): return {'mIoU': 0.5, 'aAcc': 0.9}


def batches(ds, bs=2):
    return [dict(img=torch.stack([ds[j]['img'] for j in range(i, i + bs)]),
                 gt_semantic_seg=torch.stack([ds[j]['gt_semantic_seg'] for j in range(i, i + bs)]),
                 img_metas=[ds[j]['img_metas'] for j in range(i, i + bs)]) for i in range(0, len(ds), bs)]


def make_runner(model, max_iters, work_dir, custom_hooks=()):
    runner = IterBasedRunner(model, optimizer=torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
                             work_dir=str(work_dir), logger=get_logger('segnb.test', log_level=logging.WARNING),
                             max_iters=max_iters)
    runner.register_training_hooks(lr_config=dict(policy='poly', power=0.9, min_lr=1e-4, by_epoch=False),
                                   optimizer_config=dict(), custom_hooks_config=list(custom_hooks))
    return runner


def test_feature_layers_of_pspnet():
    names = feature_layers(pspnet_r18())
    for n in ['backbone.stem', 'backbone.layer1', 'backbone.layer4', 'decode_head.psp_modules.0',
              'decode_head.psp_modules.3', 'decode_head.bottleneck']:
        assert n in names, n


def test_explorer_controls_change_the_image():
    model, x = pspnet_r18(), Squares()[0]['img']
    fx = FeatureMapExplorer(model, x, layers=['backbone.layer1', 'decode_head.bottleneck'])
    ref = capture_features(model, x[None], ['backbone.layer1', 'decode_head.bottleneck'])
    first = fx.array.copy()
    np.testing.assert_array_equal(first, channel_image(ref['backbone.layer1'], 0))
    fx.channel.value = 7
    assert not np.array_equal(fx.array, first)
    np.testing.assert_array_equal(fx.array, channel_image(ref['backbone.layer1'], 7))
    fx.layer.value = 'decode_head.bottleneck'
    assert fx.channel.max == 31
    fx.view.value = 'PCA'
    np.testing.assert_array_equal(fx.array, (pca_rgb(ref['decode_head.bottleneck']) * 255).round().astype(np.uint8))


def test_prediction_browser_opacity_and_index():
    model, ds = pspnet_r18(), Squares()
    pb = PredictionBrowser(model, ds, opacity=0.5)
    a = pb.array.copy()
    pb.opacity.value = 1.0
    assert not np.array_equal(pb.array, a)
    img = to_rgb_image(ds[0]['img'], META['img_norm_cfg'])
    pred = predict_labels(model, ds[0]['img'][None], ds[0]['img_metas'])
    np.testing.assert_array_equal(pb.array[:, -32:], overlay(img, pred, ds.PALETTE, 1.0))
    pb.index.value = 3
    np.testing.assert_array_equal(pb.array[:, :32], to_rgb_image(ds[3]['img'], META['img_norm_cfg']))
    assert pb.iou.shape == (3,)


def test_dashboard_from_custom_hooks_holds_logged_values(tmp_path):
    ds = Squares()
    runner = make_runner(pspnet_r18(), 6, tmp_path, [dict(type='LiveDashboardHook', interval=3, num_images=2, dataset=ds)])
    dash = next(h for h in runner.hooks if isinstance(h, LiveDashboardHook))
    seen = []
    class Spy(segnb.runner.hooks.Hook):
        def after_train_iter(self, runner): seen.append((runner.outputs['log_vars']['loss'], runner.current_lr()[0]))
    runner.register_hook(Spy(), 'LOWEST')
    runner.run([batches(ds)], [('train', 1)])
    assert [r['iter'] for r in dash.log['train']] == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose([(r['loss'], r['lr']) for r in dash.log['train']], seen)
    assert dash.refreshes == 3 and dash.preds_array.shape == (2 * 32 + 4, 3 * 32 + 8, 3)


def test_dashboard_interval_error():
    with pytest.raises(ValueError, match='interval must be a positive number of iterations, got 0'):
        build_from_cfg(dict(type='LiveDashboardHook', interval=0), HOOKS)


def test_background_pause_resume_stop_checkpoint(tmp_path):
    ds = Squares()
    runner = make_runner(pspnet_r18(), 10_000, tmp_path)
    bg = BackgroundTraining(runner, [batches(ds)], [('train', 1)])
    try:
        at = bg.pause(timeout=120)
        assert bg.state == 'paused'
        time.sleep(0.5)
        assert runner.iter == at
        snap = bg.snapshot()
        bg.resume()
        deadline = time.time() + 120
        while runner.iter < at + 2 and time.time() < deadline: time.sleep(0.05)
        assert runner.iter >= at + 2
        ckpt = bg.stop(timeout=120)
    finally:
        bg.control.stop_requested = True; bg.control.go.set(); bg.thread.join(120)
    assert bg.state == 'stopped' and runner.iter < 10_000
    assert Path(ckpt).is_file() and Path(ckpt).name == f'iter_{runner.iter}.pth'
    fresh = pspnet_r18()
    load_checkpoint(fresh, str(ckpt), strict=True)
    for k, v in runner.model.state_dict().items(): assert torch.equal(fresh.state_dict()[k], v), k
    assert not all(torch.equal(snap.state_dict()[k], v) for k, v in runner.model.state_dict().items())


def test_dashboard_builds_a_dataset_given_as_config(tmp_path):
    "A dict-valued `dataset` is built through segnb.data.loader.build_dataset (it once raised ImportError)."
    from segnb.registry import DATASETS
    DATASETS.register_module('SquaresForDashboardTest', force=True, module=Squares)
    ds = Squares()
    runner = make_runner(pspnet_r18(), 2, tmp_path, [dict(type='LiveDashboardHook', interval=1, num_images=2,
                                                          dataset=dict(type='SquaresForDashboardTest', n=3))])
    dash = next(h for h in runner.hooks if isinstance(h, LiveDashboardHook))
    runner.run([batches(ds)], [('train', 1)])
    assert isinstance(dash.dataset, Squares) and len(dash.dataset) == 3
    assert dash.preds_array.shape == (2 * 32 + 4, 3 * 32 + 8, 3)


def test_dashboard_finds_the_dataset_through_the_runners_iter_loader(tmp_path):
    "No `dataset` given, no EvalHook: the dashboard takes the training DataLoader's dataset via `IterLoader.dataset`."
    from segnb.runner.iter_loader import IterLoader
    from segnb.data.loader import collate
    ds = Squares()
    loader = torch.utils.data.DataLoader(ds, batch_size=2, collate_fn=collate)
    assert IterLoader(loader).dataset is ds and IterLoader(batches(ds)).dataset is None
    runner = make_runner(pspnet_r18(), 2, tmp_path, [dict(type='LiveDashboardHook', interval=1, num_images=2)])
    dash = next(h for h in runner.hooks if isinstance(h, LiveDashboardHook))
    runner.run([loader], [('train', 1)])
    from segnb.dashboard import _pick_dataset
    assert _pick_dataset(dash, runner) is ds and dash.preds_array.shape == (2 * 32 + 4, 3 * 32 + 8, 3)
