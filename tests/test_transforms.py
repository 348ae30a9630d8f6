"""The pipeline against references: mmseg 0.30 itself on the same files and seeds (SEGNB_MMSEG_VENV), Python's colorsys
for the HSV steps, and geometric invariants (masks move with their images, labels are never blended)."""
import colorsys
import numpy as np, pytest, torch
from PIL import Image
from data_trees import blob_image_and_mask, save_jpg, save_palette_png, VOC_PALETTE
from mmseg_venv import needs_mmseg, run_mmseg
from segnb.data.transforms import Compose, scale_saturation, shift_hue, scale_shift_clip
from segnb.data.loading import to_chw

IMG_NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
VOC_TRAIN = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
             dict(type='Resize', img_scale=(2048, 512), ratio_range=(0.5, 2.0)),
             dict(type='RandomCrop', crop_size=(512, 512), cat_max_ratio=0.75), dict(type='RandomFlip', prob=0.5),
             dict(type='PhotoMetricDistortion'), dict(type='Normalize', **IMG_NORM),
             dict(type='Pad', size=(512, 512), pad_val=0, seg_pad_val=255)]
# Tolerances for images, in normalised units (1 grey level = 1/57 ≈ 0.018): JPEG decoders (libjpeg-turbo here,
# OpenCV's libjpeg there), bilinear fixed-point rounding, and OpenCV's 8-bit HSV round trips differ by a few levels.
MEAN_TOL, MAX_TOL = 0.03, 0.3


def make_files(root, n=3, size=(375, 500)):
    for i in range(n):
        img, mask = blob_image_and_mask(*size, labels=[0, 3, 8, 15, 20], seed=100 + i, border=255)
        save_jpg(img, f'{root}/{i}.jpg'); save_palette_png(mask, f'{root}/{i}.png', VOC_PALETTE)
    return [str(i) for i in range(n)]


def results_for(root, name):
    return dict(img_info=dict(filename=name + '.jpg'), ann_info=dict(seg_map=name + '.png'), img_prefix=root,
                seg_prefix=root, seg_fields=[])


def run_segnb(pipeline, root, names, seeds):
    c, out = Compose(pipeline), []
    for s in seeds:
        np.random.seed(s)
        out.append(c(results_for(root, names[s % len(names)])))
    return out


MMSEG_RUN = '''
import numpy as np
from mmseg.datasets.pipelines import Compose
c, out['r'] = Compose(inp['pipeline']), []
for s in inp['seeds']:
    np.random.seed(s)
    n = inp['names'][s % len(inp['names'])]
    r = c(dict(img_info=dict(filename=n + '.jpg'), ann_info=dict(seg_map=n + '.png'), img_prefix=inp['root'],
               seg_prefix=inp['root'], seg_fields=[]))
    out['r'].append({k: r[k] for k in inp['keys'] if k in r})
'''


def as_hwc(img): return to_chw(img).permute(1, 2, 0).float().numpy() if isinstance(img, torch.Tensor) else img.astype(np.float32)


def compare(ours, ref, meta_keys, tol=(MEAN_TOL, MAX_TOL)):
    for k in meta_keys: np.testing.assert_allclose(np.asarray(ours[k], float), np.asarray(ref[k], float), err_msg=k, rtol=1e-6)
    np.testing.assert_array_equal(ours['gt_semantic_seg'].numpy(), ref['gt_semantic_seg'])
    d = np.abs(as_hwc(ours['img']) - ref['img'])
    assert d.shape == ref['img'].shape[:2] + (3,) and d.mean() < tol[0] and d.max() < tol[1], (d.mean(), d.max())


@needs_mmseg
def test_voc_train_pipeline_matches_mmseg(tmp_path):
    names, seeds = make_files(tmp_path), list(range(8))
    keys = ['img', 'gt_semantic_seg', 'img_shape', 'pad_shape', 'ori_shape', 'scale_factor', 'flip', 'scale']
    ref = run_mmseg(MMSEG_RUN, pipeline=VOC_TRAIN, root=str(tmp_path), names=names, seeds=seeds, keys=keys)['r']
    ours = run_segnb(VOC_TRAIN, str(tmp_path), names, seeds)
    for o, r in zip(ours, ref): compare(o, r, ['img_shape', 'pad_shape', 'ori_shape', 'scale_factor', 'flip', 'scale'])
    assert len({r['flip'] for r in ref}) == 2 and len({r['scale'] for r in ref}) == 8    # the draws varied


@needs_mmseg
def test_geometric_steps_match_mmseg(tmp_path):
    names = make_files(tmp_path, n=2, size=(123, 157))
    pipe = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
            dict(type='Resize', img_scale=[(300, 200), (500, 100)], multiscale_mode='range', keep_ratio=False),
            dict(type='RandomFlip', prob=0.5, direction='vertical'), dict(type='Pad', size_divisor=32, seg_pad_val=255)]
    keys = ['img', 'gt_semantic_seg', 'img_shape', 'pad_shape', 'scale_factor', 'flip']
    ref = run_mmseg(MMSEG_RUN, pipeline=pipe, root=str(tmp_path), names=names, seeds=list(range(6)), keys=keys)['r']
    ours = run_segnb(pipe, str(tmp_path), names, range(6))
    for o, r in zip(ours, ref): compare(o, r, ['img_shape', 'pad_shape', 'scale_factor', 'flip'], tol=(0.5, 3))   # grey levels


@needs_mmseg
def test_test_time_pipeline_matches_mmseg(tmp_path):
    make_files(tmp_path, n=1)
    pipe = [dict(type='LoadImageFromFile'), dict(type='MultiScaleFlipAug', img_scale=(2048, 512), img_ratios=[0.5, 1.25],
                 flip=True, transforms=[dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'),
                                        dict(type='Normalize', **IMG_NORM), dict(type='ImageToTensor', keys=['img']),
                                        dict(type='Collect', keys=['img'])])]
    ref = run_mmseg('''
import numpy as np
from mmseg.datasets.pipelines import Compose
r = Compose(inp['pipeline'])(dict(img_info=dict(filename='0.jpg'), img_prefix=inp['root']))
out['img'] = [t.numpy() for t in r['img']]
out['metas'] = [{k: v for k, v in m.data.items() if k != 'img_norm_cfg'} for m in r['img_metas']]
''', pipeline=pipe, root=str(tmp_path))
    ours = Compose(pipe)(dict(img_info=dict(filename='0.jpg'), img_prefix=str(tmp_path)))
    assert len(ours['img']) == len(ref['img']) == 4
    for o, r, om, rm in zip(ours['img'], ref['img'], ours['img_metas'], ref['metas']):
        assert o.shape == r.shape and (np.abs(o.numpy() - r).mean() < MEAN_TOL)
        for k in ('img_shape', 'ori_shape', 'pad_shape', 'flip', 'flip_direction', 'filename', 'ori_filename'): assert om[k] == rm[k], k
        np.testing.assert_allclose(om['scale_factor'], rm['scale_factor'])


@needs_mmseg
def test_random_rotate_equals_mmseg(tmp_path, monkeypatch):
    "Bit-exact with the venv's OpenCV through the `opencv=` option that names its version (random angles: no ties)."
    from functools import partial
    from segnb.data import transforms
    from segnb.data.warp import imrotate
    from test_rotate import closest_option
    names = make_files(tmp_path, n=1, size=(120, 160))
    pipe = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='RandomRotate', prob=1., degree=30)]
    got = run_mmseg('import cv2\n' + MMSEG_RUN + "out['cv2'] = cv2.__version__\n", pipeline=pipe, root=str(tmp_path),
                    names=names, seeds=[0, 1], keys=['img', 'gt_semantic_seg'])
    monkeypatch.setattr(transforms, 'imrotate', partial(imrotate, opencv=closest_option(got['cv2'])))
    for o, r in zip(run_segnb(pipe, str(tmp_path), names, [0, 1]), got['r']):
        np.testing.assert_array_equal(o['gt_semantic_seg'].numpy(), r['gt_semantic_seg'])   # segnb.data.warp is bit-exact
        np.testing.assert_array_equal(as_hwc(o['img']), r['img'])          # (tests/test_rotate.py has 400 more cases)


# ---- references without mmseg -----------------------------------------------------------------------------------

def colorsys_apply(img_bgr, fn):
    "Apply `fn(h, s, v) -> (h, s, v)` per pixel with Python's colorsys (floats in [0, 1]) to a BGR uint8 image."
    out = np.empty_like(img_bgr)
    for y, x in np.ndindex(img_bgr.shape[:2]):
        b, g, r = img_bgr[y, x] / 255.
        r2, g2, b2 = colorsys.hsv_to_rgb(*fn(*colorsys.rgb_to_hsv(r, g, b)))
        out[y, x] = np.round(np.array([b2, g2, r2]) * 255)
    return out


@pytest.mark.parametrize('alpha', [0.3, 0.9, 1.4])
def test_saturation_matches_colorsys(alpha):
    img = np.random.default_rng(0).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    ref = colorsys_apply(img, lambda h, s, v: (h, min(s * alpha, 1.), v))
    ours = scale_saturation(to_chw(img), alpha).permute(1, 2, 0).numpy()
    d = np.abs(ours.astype(int) - ref)
    assert d.max() <= 1 and d.mean() < 0.05, (d.max(), d.mean())    # float32 rounding: off by 1 on a few pixels


@pytest.mark.parametrize('delta', [-18, -5, 1, 17])
def test_hue_matches_colorsys(delta):
    img = np.random.default_rng(1).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    ref = colorsys_apply(img, lambda h, s, v: ((h + delta / 180.) % 1., s, v))      # OpenCV hue unit = 2° = 1/180 turn
    ours = shift_hue(to_chw(img), delta).permute(1, 2, 0).numpy()
    d = np.abs(ours.astype(int) - ref)
    assert d.max() <= 1 and d.mean() < 0.05, (d.max(), d.mean())    # float32 hue arithmetic: off by 1 on a few pixels


def test_brightness_contrast_exact():
    img = np.random.default_rng(2).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    for alpha, beta in [(1., 20.5), (1., -31.9), (0.61, 0.), (1.49, 0.)]:
        ref = np.clip(img.astype(np.float32) * alpha + beta, 0, 255).astype(np.uint8)    # mmseg's convert
        np.testing.assert_array_equal(scale_shift_clip(to_chw(img), alpha, beta).permute(1, 2, 0).numpy(), ref)


def test_masks_move_with_images(tmp_path):
    "Blocks of distinct colours and labels: after resize/crop/flip/rotate, every pixel that kept a block's exact colour has that block's label."
    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255]], np.uint8)
    blocks = np.random.default_rng(3).integers(0, 6, (6, 8))
    labels = np.kron(blocks, np.ones((25, 25), int)).astype(np.uint8)
    Image.fromarray(colours[labels]).save(tmp_path / 'b.png'); save_palette_png(labels, str(tmp_path / 'b_m.png'), VOC_PALETTE)
    pipe = Compose([dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                    dict(type='Resize', img_scale=(400, 300), ratio_range=(0.5, 2.0)),
                    dict(type='RandomCrop', crop_size=(120, 170)), dict(type='RandomFlip', prob=0.5),
                    dict(type='RandomRotate', prob=0.5, degree=20), dict(type='Pad', size_divisor=64)])
    bgr = colours[:, ::-1].astype(int)
    for seed in range(8):
        np.random.seed(seed)
        r = pipe(dict(img_info=dict(filename='b.png'), ann_info=dict(seg_map='b_m.png'), img_prefix=str(tmp_path),
                      seg_prefix=str(tmp_path), seg_fields=[]))
        img, seg = r['img'].permute(1, 2, 0).numpy().astype(int), r['gt_semantic_seg'].numpy()
        assert img.shape[:2] == seg.shape
        assert set(np.unique(seg).tolist()) <= set(range(6)) | {255}          # never a blended label
        checked = 0
        for k, c in enumerate(bgr):
            exact = (img == c).all(-1)
            assert (seg[exact] == k).sum() >= 0.99 * exact.sum(), (seed, k)
            checked += exact.sum()
        assert checked > 0.3 * (seg != 255).sum()       # most labelled pixels kept an exact block colour


def test_palette_mask_keeps_indices(tmp_path):
    m = np.array([[0, 15, 255], [20, 1, 0]], np.uint8)
    save_palette_png(m, str(tmp_path / 'm.png'), VOC_PALETTE)
    r = Compose([dict(type='LoadAnnotations')])(dict(ann_info=dict(seg_map='m.png'), seg_prefix=str(tmp_path), seg_fields=[]))
    np.testing.assert_array_equal(r['gt_semantic_seg'].numpy(), m)


def test_pipeline_errors_name_the_problem():
    with pytest.raises(KeyError, match="'Normalise' is not in the pipeline registry.*Normalize"):
        Compose([dict(type='Normalise', mean=[0] * 3, std=[1] * 3)])
    with pytest.raises(KeyError, match="Collect: 'pad_shape' is not in the results"):
        Compose([dict(type='Collect', keys=['img'], meta_keys=['pad_shape'])])(dict(img=torch.zeros(3, 2, 2)))
    with pytest.raises(FileNotFoundError, match="image file '.*nope.jpg' does not exist"):
        Compose([dict(type='LoadImageFromFile')])(dict(img_info=dict(filename='nope.jpg'), img_prefix='/nonexistent'))
