"""segnb.vis and segnb.vis_features against hand-made expectations and, when SEGNB_MMSEG_VENV is set, mmsegmentation 0.30 itself."""
import json, warnings
import numpy as np, pytest, torch
from segnb.data.datasets import VOC_PALETTE, PascalVOCDataset, CityscapesDataset, ADE20KDataset
from segnb.vis import (colorize, overlay, show_result, load_json_log,
                       log_series, plot_training_curves, fig_to_array, distinct_palette)
from segnb.vis_features import pca_rgb, feature_grid, topk_channels
from mmseg_venv import needs_mmseg, run_mmseg


def test_colorize_matches_hand_made_image():
    pal = np.array([[10, 20, 30], [40, 50, 60], [70, 80, 90]], np.uint8)
    mask = np.array([[2, 0, 255], [1, 1, 0]])
    want = np.array([[[70, 80, 90], [10, 20, 30], [0, 0, 0]], [[40, 50, 60], [40, 50, 60], [10, 20, 30]]], np.uint8)
    np.testing.assert_array_equal(colorize(mask, pal), want)
    np.testing.assert_array_equal(colorize(torch.from_numpy(mask), pal), want)


@pytest.mark.parametrize('opacity', [0.0, 0.3, 0.5, 1.0])
def test_overlay_blend_arithmetic(opacity):
    rng = np.random.RandomState(0)
    img, mask = rng.randint(0, 256, (5, 6, 3)).astype(np.uint8), rng.randint(0, 21, (5, 6))
    want = np.floor(img.astype(np.float64) * (1 - opacity) + VOC_PALETTE[mask] * opacity).astype(np.uint8)
    np.testing.assert_array_equal(overlay(img, mask, 'voc', opacity), want)


def test_pca_view_of_two_region_map():
    "Two regions with opposite feature vectors: the red channel is 1 on one region and 0 on the other."
    f = torch.zeros(16, 8, 8); v = torch.linspace(0.1, 1, 16)
    f[:, :, :4] = v[:, None, None]; f[:, :, 4:] = -v[:, None, None]
    view = pca_rgb(f)
    np.testing.assert_allclose(view[:, :4, 0], 1, atol=1e-6); np.testing.assert_allclose(view[:, 4:, 0], 0, atol=1e-6)


def test_feature_grid_orders_by_energy():
    f = torch.zeros(4, 2, 2); f[2] = 3; f[2, 0, 0] = 0; f[0] = 1; f[0, 1, 1] = 2
    assert topk_channels(f, 2) == [2, 0]
    np.testing.assert_allclose(feature_grid(f, k=2, ncols=2, pad=0), [[0, 1, 0, 0], [1, 1, 0, 1]])


def test_distinct_palette_many_classes():
    pal = distinct_palette(200)
    assert len({tuple(c) for c in pal}) == 200


def test_training_curves_from_work_dir(tmp_path):
    rows = [dict(mode='train', iter=i, lr=0.01 / i, loss=1 / i) for i in range(1, 6)] + [dict(mode='val', iter=5, mIoU=0.3)]
    (tmp_path / '20260101_000001.log.json').write_text('\n'.join(map(json.dumps, rows)))
    log = load_json_log(tmp_path)
    np.testing.assert_allclose(log_series(log['train'], 'loss')[1], [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    assert fig_to_array(plot_training_curves(tmp_path)).shape[2] == 3


def test_bad_log_line_names_file_and_line(tmp_path):
    (tmp_path / 'x.log.json').write_text('{"mode": "train", "iter": 1}\nnot json\n')
    with pytest.raises(ValueError, match='line 2 is not JSON'): load_json_log(tmp_path)


@needs_mmseg
def test_palettes_equal_mmseg():
    out = run_mmseg('''
from mmseg.datasets import PascalVOCDataset, CityscapesDataset, ADE20KDataset
for k, c in [('voc', PascalVOCDataset), ('cityscapes', CityscapesDataset), ('ade', ADE20KDataset)]: out[k] = c.PALETTE
''')
    for k, ours in [('voc', PascalVOCDataset), ('cityscapes', CityscapesDataset), ('ade', ADE20KDataset)]:
        np.testing.assert_array_equal(np.array(out[k]), np.array(ours.PALETTE), err_msg=k)


@needs_mmseg
@pytest.mark.parametrize('use_palette', [True, False])
def test_show_result_equals_mmseg(use_palette):
    rng = np.random.RandomState(2)
    img, seg = rng.randint(0, 256, (7, 9, 3)).astype(np.uint8), rng.randint(0, 5, (7, 9))
    palette = rng.randint(0, 256, (5, 3)).tolist() if use_palette else None
    out = run_mmseg('''
import types, warnings
from mmseg.models.segmentors.base import BaseSegmentor
fake = types.SimpleNamespace(CLASSES=list('abcde'), PALETTE=None)
out['img'] = BaseSegmentor.show_result(fake, inp['img'], [inp['seg']], palette=inp['palette'], opacity=0.7)
''', img=img, seg=seg, palette=palette)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ours = show_result(img, [seg], palette=palette, classes=list('abcde'), opacity=0.7)
    np.testing.assert_array_equal(ours, out['img'])


def test_import_all_loads_neither_matplotlib_nor_ipywidgets():
    "Importing segnb stays fast: matplotlib and ipywidgets (with IPython) load only when a picture or widget is made."
    import subprocess, sys
    code = ("import sys, segnb.all\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'ipywidgets', 'IPython')))")
    out = subprocess.run([sys.executable, '-c', code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == '[]', out
    code = "import sys\nfrom segnb.widgets import W\nW.IntSlider(1)\nprint('ipywidgets' in sys.modules)"
    assert subprocess.run([sys.executable, '-c', code], check=True, capture_output=True, text=True).stdout.strip() == 'True'
