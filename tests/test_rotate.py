"RandomRotate / imrotate against mmcv 1.7.2 + whatever OpenCV the mmseg venv has (bit-exact where an option reproduces it), and against hand-computed facts."
import os, pickle, subprocess, tempfile
from functools import partial
import numpy as np, pytest, torch
from segnb.data import transforms as geometry   # RandomRotate looks up imrotate here
from segnb.data.warp import imrotate, warp_affine, cv_rotation_matrix, invert_affine, warp_coords64, _bound
from segnb.data.transforms import Compose, RandomRotate
from mmseg_venv import needs_mmseg, run_mmseg


def rotate_cases(n, seed=0, max_side=70):
    "Random imrotate arguments: odd/even sizes (down to 1 px), angles incl. multiples of 45°, centres in and out of the image."
    rng = np.random.default_rng(seed)
    for i in range(n):
        h, w = (int(v) for v in rng.integers(1, max_side, 2))
        angle = float(rng.choice([rng.uniform(-180, 180), rng.uniform(-5, 5), 90, -90, 180, 45, -135, 30, 0.]))
        auto_bound = bool(rng.random() < 0.3)
        center = None
        if not auto_bound and rng.random() < 0.5:
            center = (float(rng.uniform(-3, w + 3)), float(rng.uniform(-3, h + 3)))
            if rng.random() < 0.4: center = (int(center[0]), int(center[1]))
        c = int(rng.choice([1, 3]))
        pad = int(rng.choice([0, 7, 255])) if rng.random() < 0.7 else (5, 6, 7)[:c]
        img = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
        seg = rng.integers(0, 21, (h, w), dtype=np.uint8)
        yield dict(img=img, seg=seg, angle=angle, center=center, auto_bound=auto_bound, pad=pad, fimg=i % 5 == 0)


MMCV_ROTATE = """
import cv2, mmcv, numpy as np
out['version'], out['r'] = cv2.__version__, []
for k in inp['cases']:
    img = k['img'] if k['img'].shape[2] == 3 else k['img'][..., 0]
    kw = dict(center=k['center'], auto_bound=k['auto_bound'])
    r = dict(img=mmcv.imrotate(img, k['angle'], border_value=k['pad'], **kw),
             seg=mmcv.imrotate(k['seg'], k['angle'], border_value=255, interpolation='nearest', **kw))
    if k['fimg']: r['fimg'] = mmcv.imrotate(img.astype(np.float32), k['angle'], border_value=k['pad'], **kw)
    out['r'].append(r)
"""

def ours(k, img, opencv='5.1'):
    t = torch.from_numpy(img).permute(2, 0, 1)
    return imrotate(t if t.shape[0] == 3 else t[0], k['angle'], k['center'], border_value=k['pad'],
                    auto_bound=k['auto_bound'], opencv=opencv)


def as_hwc(t):
    "A `[C, H, W]` / `[H, W]` tensor as numpy `H×W×C` / `H×W` (numpy passes through: no rotation drawn)."
    if isinstance(t, np.ndarray): return t
    return (t.permute(1, 2, 0) if t.ndim == 3 else t).numpy()


# ---- which arithmetic to expect from which OpenCV ---------------------------------------------------------------
# Bit for bit: opencv='4' reproduces OpenCV 4.x (checked against 4.10.0 and 4.14.0) and opencv='5.0' OpenCV 5.0.0,
# on x86-64. opencv='5.1' is the closest to 5.1.0 but not exact (see the lesson): for 5.1 only the tolerance applies.
EXACT_OPTIONS = ('4', '5.0')
TIE = 1 / 1024      # OpenCV 4.x puts source points on a 1/1024-pixel grid (5.0: float32, 5.1: float64), so a mask
                    # pixel whose point lies within 1/1024 of a rounding boundary may take either neighbour


def closest_option(version):
    "The `opencv=` option whose arithmetic is closest to OpenCV `version` (e.g. '4.10.0', '5.1.0')."
    major, minor = (int(v) for v in version.split('.')[:2])
    if major < 5: return '4'
    return '5.0' if (major, minor) == (5, 0) else '5.1'


def exact_option(version):
    "The option that reproduces OpenCV `version` bit for bit, or None where none is known to."
    opt = closest_option(version)
    return opt if opt in EXACT_OPTIONS else None


def test_version_options():
    assert [closest_option(v) for v in ('4.5.4', '4.10.0', '4.14.0', '5.0.0', '5.1.0', '5.2.0')] == ['4', '4', '4', '5.0', '5.1', '5.1']
    assert [exact_option(v) for v in ('4.10.0', '5.0.0', '5.1.0', '6.0.0')] == ['4', '5.0', None, None]


def at_tie(shape, angle, center=None, auto_bound=False):
    "Output pixels of `imrotate` whose float64 source point is within `TIE` of a nearest-rounding boundary (k + 1/2)."
    h, w = shape
    if center is None: center = ((w - 1) * 0.5, (h - 1) * 0.5)
    m, size = cv_rotation_matrix(tuple(center), -angle), (h, w)
    if auto_bound: m, size = _bound(m, h, w)
    near = lambda s: ((s - torch.floor(s)) - 0.5).abs() <= TIE
    sx, sy = warp_coords64(invert_affine(m), *size)
    return (near(sx) | near(sy)).numpy()


def test_at_tie_marks_half_pixel_points():
    "90° about the centre of a 4×5 image maps pixel centres onto half pixels, of a 5×5 one onto pixel centres."
    assert at_tie((4, 5), 90).all() and at_tie((5, 5), 90).sum() == 0
    assert at_tie((40, 51), 90).all() and at_tie((40, 51), 91.).mean() < 0.01


def compare(cases, ref, opencv):
    "Counts of segnb's imrotate with `opencv=` against `ref`: differing pixels, mask pixels differing off ties, max diffs."
    c = dict(seg_bad=0, seg_off_tie=0, img_bad=0, img_max=0, float_bad=0, float_max=0.)
    for k, r in zip(cases, ref):
        kw = dict(auto_bound=k['auto_bound'], opencv=opencv)
        seg = imrotate(torch.from_numpy(k['seg']), k['angle'], k['center'], border_value=255, interpolation='nearest', **kw).numpy()
        img = as_hwc(ours(k, k['img'], opencv))
        assert seg.shape == r['seg'].shape and img.shape == r['img'].shape, (k['angle'], k['img'].shape)
        bad = seg != r['seg']
        c['seg_bad'] += int(bad.sum())
        c['seg_off_tie'] += int((bad & ~at_tie(k['seg'].shape, k['angle'], k['center'], k['auto_bound'])).sum())
        d = np.abs(img.astype(int) - r['img'])
        c['img_bad'] += int((d > 0).sum()); c['img_max'] = max(c['img_max'], int(d.max(initial=0)))
        if k['fimg']:
            fd = np.abs(as_hwc(ours(k, k['img'].astype(np.float32), opencv)) - r['fimg'])
            c['float_bad'] += int((fd > 0).sum()); c['float_max'] = max(c['float_max'], float(fd.max(initial=0)))
    return c


def exact(c): return c['seg_bad'] == c['img_bad'] == c['float_bad'] == 0


def within_tolerance(c):
    "Masks equal except at ties, 8-bit images within one grey level, float images (0..255) within one level too."
    return c['seg_off_tie'] == 0 and c['img_max'] <= 1 and c['float_max'] <= 1


@pytest.fixture(scope='module')
def mmcv_rotations():
    cases = list(rotate_cases(400))
    res = run_mmseg(MMCV_ROTATE, cases=cases)
    return res['version'], cases, res['r']


@needs_mmseg
def test_imrotate_agrees_with_mmcv(mmcv_rotations):
    version, cases, ref = mmcv_rotations
    c = compare(cases, ref, closest_option(version))
    assert within_tolerance(c), (version, c)
    # measured against OpenCV 5.1.0 (x86-64, AVX-512) with opencv='5.1': 736 of 532346 mask pixels differ, all at
    # exact half-pixel ties; 2 of 1064458 8-bit image values by 1; 426 of 207342 float values by <= 0.00084
    assert c['img_bad'] <= 1e-4 * sum(r['img'].size for r in ref), (version, c)


def random_turn(k):
    "A case whose angle is not a multiple of 15° and whose image is at least 2 px each way: no exact ties."
    return not (float(k['angle']).is_integer() and int(k['angle']) % 15 == 0) and min(k['seg'].shape) > 1


def check_exactness(version, cases, ref):
    """Bit-exactness where an option names `version`: all cases for 4.x and 5.0; random turns for 5.1 (exact turns
    put a few pixels on half-pixel ties that 5.1 rounds by last-bit noise). Any other version: the tolerance only."""
    if exact_option(version): return assert_exact(compare(cases, ref, exact_option(version)), version)
    if version.startswith('5.1.'):
        keep = [i for i, k in enumerate(cases) if random_turn(k)]
        assert len(keep) >= len(cases) // 10, len(keep)       # measured: 84 of 400 cases
        return assert_exact(compare([cases[i] for i in keep], [ref[i] for i in keep], '5.1'), version)
    assert within_tolerance(compare(cases, ref, closest_option(version))), version


def assert_exact(c, version): assert exact(c), (version, c)


@needs_mmseg
def test_imrotate_bit_exact_where_an_option_names_the_version(mmcv_rotations):
    check_exactness(*mmcv_rotations)


OPENCV4 = os.environ.get('SEGNB_OPENCV4_PYTHON')    # a python with numpy and opencv-python 4.x (no mmcv needed)
OPENCV_ANY = os.environ.get('SEGNB_OPENCV_PYTHON')  # a python with numpy and any opencv-python 4.x or 5.x

CV_ROTATE = """
import pickle, sys, numpy as np, cv2
assert sys.argv[3] == 'any' or cv2.__version__.startswith(sys.argv[3]), cv2.__version__
def imrotate(img, angle, center, border_value, interp, auto_bound):     # mmcv 1.7.2's imrotate, line for line
    h, w = img.shape[:2]
    if center is None: center = ((w - 1) * 0.5, (h - 1) * 0.5)
    m = cv2.getRotationMatrix2D(center, -angle, 1.0)
    if auto_bound:
        cos, sin = np.abs(m[0, 0]), np.abs(m[0, 1]); nw, nh = h * sin + w * cos, h * cos + w * sin
        m[0, 2] += (nw - w) * 0.5; m[1, 2] += (nh - h) * 0.5; w, h = int(np.round(nw)), int(np.round(nh))
    return cv2.warpAffine(img, m, (w, h), flags=interp, borderMode=cv2.BORDER_CONSTANT, borderValue=border_value)
cases = pickle.load(open(sys.argv[1], 'rb'))
out = []
for k in cases:
    img = k['img'] if k['img'].shape[2] == 3 else k['img'][..., 0]
    a = (k['angle'], k['center'])
    r = dict(img=imrotate(img, *a, k['pad'], cv2.INTER_LINEAR, k['auto_bound']),
             seg=imrotate(k['seg'], *a, 255, cv2.INTER_NEAREST, k['auto_bound']))
    if k['fimg']: r['fimg'] = imrotate(img.astype(np.float32), *a, k['pad'], cv2.INTER_LINEAR, k['auto_bound'])
    out.append(r)
pickle.dump((cv2.__version__, out), open(sys.argv[2], 'wb'))
"""


def cv_rotations(python, cases, major='any'):
    "OpenCV's rotations of `cases` (mmcv's imrotate, written out) run by `python`: (cv2 version, results)."
    with tempfile.TemporaryDirectory() as d:
        i, o, script = (os.path.join(d, n) for n in ('in.pkl', 'out.pkl', 'cv.py'))
        with open(i, 'wb') as f: pickle.dump(cases, f)
        with open(script, 'w') as f: f.write(CV_ROTATE)
        subprocess.run([python, script, i, o, major], check=True, timeout=300)
        with open(o, 'rb') as f: return pickle.load(f)


@pytest.mark.skipif(not OPENCV4, reason='set SEGNB_OPENCV4_PYTHON to a python with numpy and opencv-python 4.x')
def test_imrotate_opencv4_bit_exact():
    cases = list(rotate_cases(300, seed=4))
    version, ref = cv_rotations(OPENCV4, cases, '4.')
    # measured here against OpenCV 4.10.0 and 4.14.0: exact; OpenCV 5's float arithmetic differs by up to 7 levels
    assert exact(compare(cases, ref, '4')), version
    assert compare(cases, ref, '5.1')['img_max'] > 1


@pytest.mark.skipif(not OPENCV_ANY, reason='set SEGNB_OPENCV_PYTHON to a python with numpy and opencv-python 4.x or 5.x')
def test_imrotate_vs_any_opencv():
    "Whatever OpenCV that python has: within tolerance of the closest option, and bit-exact where one is known to be."
    cases = list(rotate_cases(300, seed=6))
    version, ref = cv_rotations(OPENCV_ANY, cases)
    assert within_tolerance(compare(cases, ref, closest_option(version))), version
    check_exactness(version, cases, ref)


MMSEG_ROTATE = """
import cv2, numpy as np
from mmseg.datasets.pipelines import RandomRotate
out['version'], out['r'] = cv2.__version__, []
for cfg, seed in inp['runs']:
    np.random.seed(seed)
    r = RandomRotate(**cfg)(dict(img=inp['img'].copy(), gt_semantic_seg=inp['seg'].copy(), seg_fields=['gt_semantic_seg']))
    out['r'].append((r['img'], r['gt_semantic_seg'], np.random.rand()))
"""

ROTATE_CFGS = [dict(prob=0.5, degree=30), dict(prob=1., degree=(-45, 10), pad_val=3, seg_pad_val=200),
               dict(prob=1., degree=180, center=(10.5, 3)), dict(prob=0.7, degree=(90, 90.), auto_bound=True),
               dict(prob=1., degree=12.5, auto_bound=True, pad_val=(1, 2, 3))]


def replayed_angle(seed, prob, degree, skip=0):
    "The angle RandomRotate turns by after `np.random.seed(seed)` and `skip` other draws, or None when it does not turn."
    deg = (-degree, degree) if isinstance(degree, (int, float)) else degree
    np.random.seed(seed)
    for _ in range(skip): np.random.rand()
    turn = np.random.rand() < prob
    angle = np.random.uniform(min(*deg), max(*deg))
    return angle if turn else None


def assert_like_opencv(ours_img, ours_seg, ref_img, ref_seg, version, tie, msg):
    "Bit-exact where an option reproduces `version`, else masks equal off `tie` pixels and images within one level."
    if exact_option(version):
        np.testing.assert_array_equal(ours_seg, ref_seg, err_msg=msg); np.testing.assert_array_equal(ours_img, ref_img, err_msg=msg)
        return
    assert ours_seg.shape == ref_seg.shape and not ((ours_seg != ref_seg) & ~tie).any(), msg
    assert np.abs(ours_img.astype(int) - ref_img).max(initial=0) <= 1, msg


@needs_mmseg
@pytest.mark.parametrize('shape', [(37, 50), (64, 48)])
def test_random_rotate_same_draws_and_pixels_as_mmseg(shape, monkeypatch):
    rng = np.random.default_rng(1)
    img, seg = rng.integers(0, 256, (*shape, 3), dtype=np.uint8), rng.integers(0, 21, shape, dtype=np.uint8)
    runs = [(cfg, seed) for cfg in ROTATE_CFGS for seed in range(6)]
    res = run_mmseg(MMSEG_ROTATE, runs=runs, img=img, seg=seg)
    version = res['version']
    monkeypatch.setattr(geometry, 'imrotate', partial(imrotate, opencv=closest_option(version)))
    for (cfg, seed), (rimg, rseg, rnext) in zip(runs, res['r']):
        np.random.seed(seed)
        r = RandomRotate(**cfg)(dict(img=img.copy(), gt_semantic_seg=torch.from_numpy(seg.copy()), seg_fields=['gt_semantic_seg']))
        assert np.random.rand() == rnext, (cfg, seed)                     # the same random stream afterwards
        angle = replayed_angle(seed, cfg['prob'], cfg['degree'])
        tie = at_tie(shape, angle, cfg.get('center'), cfg.get('auto_bound', False)) if angle is not None else False
        assert_like_opencv(as_hwc(r['img']), r['gt_semantic_seg'].numpy(), rimg, rseg, version, tie, str((cfg, seed)))


# ---- facts that need no mmseg ------------------------------------------------------------------------------------

@pytest.mark.parametrize('size', [1, 2, 5, 6, 17, 32])
def test_quarter_turns_are_rot90(size):
    img = torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
    for angle, k in ((90, -1), (-90, 1), (180, 2), (270, 1), (-180, 2)):
        for interp, opencv in ((i, o) for i in ('bilinear', 'nearest') for o in ('4', '5.0', '5.1')):
            out = imrotate(img, angle, interpolation=interp, opencv=opencv)
            assert torch.equal(out, torch.rot90(img, k, (1, 2))), (size, angle, interp, opencv)


@pytest.mark.parametrize('h,w', [(6, 10), (7, 13), (10, 6), (4, 12)])
def test_quarter_turn_of_a_rectangle(h, w):
    "Sides differing by an even number keep the pixel grids aligned: auto_bound gives rot90, the same size its middle."
    img = torch.randint(0, 256, (h, w), dtype=torch.uint8)
    r, d = torch.rot90(img, -1), abs(w - h) // 2
    assert torch.equal(imrotate(img, 90, auto_bound=True), r)
    out = imrotate(img, 90)
    if w > h: assert torch.equal(out[:, d:d + h], r[d:d + h, :])
    else: assert torch.equal(out[d:d + w, :], r[:, d:d + w])


def test_masks_hold_only_their_labels_and_the_pad_value():
    seg = torch.randint(0, 5, (41, 30), dtype=torch.uint8)
    for angle, opencv in ((a, o) for a in np.linspace(-180, 180, 37) for o in ('4', '5.0', '5.1')):
        out = imrotate(seg, float(angle), border_value=255, interpolation='nearest', opencv=opencv)
        assert set(out.unique().tolist()) <= {0, 1, 2, 3, 4, 255}
        vals, counts = torch.unique(out, return_counts=True)
        assert (counts[vals < 5].sum() > 0.5 * seg.numel())


def test_zero_angle_and_fixed_centre():
    img = torch.randint(0, 256, (3, 9, 12), dtype=torch.uint8)
    assert torch.equal(imrotate(img, 0.), img)
    out = imrotate(img, 37., center=(4, 6), interpolation='nearest')
    assert torch.equal(out[:, 6, 4], img[:, 6, 4])                   # the centre pixel does not move


def test_bilinear_halfway_and_border():
    "Shift by half a pixel: each output is the rounded (half to even) mean of two neighbours; the border mixes in."
    img = torch.tensor([[0, 3, 10, 255]], dtype=torch.uint8)
    out = warp_affine(img, [[1., 0., -0.5], [0., 1., 0.]], (1, 4), border_value=100)
    assert out.tolist() == [[2, 6, 132, 178]]        # 1.5 -> 2, 6.5 -> 6, 132.5 -> 132, (255 + 100) / 2 = 177.5 -> 178


def test_float_images_stay_float():
    img = torch.rand(3, 8, 8)
    out = imrotate(img, 45)
    assert out.dtype == torch.float32 and out.max() <= 1 and out[:, 0, 0].tolist() == [0., 0., 0.]


def test_border_number_fills_first_channel_only():
    out = imrotate(torch.full((3, 10, 10), 50, dtype=torch.uint8), 45, border_value=9)
    assert out[:, 0, 0].tolist() == [9, 0, 0]                           # OpenCV's Scalar(9) = (9, 0, 0, 0), as in mmseg


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r'auto_bound=True conflicts with center=\(1, 2\)'):
        imrotate(torch.zeros(4, 4), 10, center=(1, 2), auto_bound=True)
    with pytest.raises(ValueError, match=r"RandomRotate: auto_bound=True conflicts with center=\(1, 2\)"):
        Compose([dict(type='RandomRotate', prob=1., degree=10, center=(1, 2), auto_bound=True)])
    with pytest.raises(ValueError, match="interpolation must be 'bilinear' or 'nearest', got 'bicubic'"):
        warp_affine(torch.zeros(4, 4), cv_rotation_matrix((1, 1), 10), (4, 4), 'bicubic')
    with pytest.raises(ValueError, match=r"opencv must be one of '5.1', '5.0', '4' \(whose arithmetic to copy\), got 5"):
        imrotate(torch.zeros(4, 4), 10, opencv=5)
    with pytest.raises(AssertionError, match=r'degree -3 should be positive'):
        RandomRotate(prob=1., degree=-3)


MMSEG_PIPELINE = '''
import cv2, numpy as np
from mmseg.datasets.pipelines import Compose
c, out['r'], out['version'] = Compose(inp['pipeline']), [], cv2.__version__
for s in inp['seeds']:
    np.random.seed(s)
    r = c(dict(img_info=dict(filename='a.png'), ann_info=dict(seg_map='a_mask.png'), img_prefix=inp['root'],
               seg_prefix=inp['root'], seg_fields=[]))
    out['r'].append((r['img'], r['gt_semantic_seg'], r['flip'], np.random.rand()))
'''


@needs_mmseg
def test_pipeline_with_rotate_is_mmsegs(tmp_path, monkeypatch):
    "occlude_face.py's flip + rotate steps on a lossless PNG: mmseg's Compose and segnb's give the same samples."
    from PIL import Image
    from data_trees import blob_image_and_mask, save_palette_png, VOC_PALETTE
    img, mask = blob_image_and_mask(75, 101, labels=[0, 3, 8, 15], seed=5, border=255)
    Image.fromarray(img).save(tmp_path / 'a.png'); save_palette_png(mask, str(tmp_path / 'a_mask.png'), VOC_PALETTE)
    pipe = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='RandomFlip', prob=0.5),
            dict(type='RandomRotate', degree=(-30, 30), prob=0.5)]
    seeds = list(range(10))
    res = run_mmseg(MMSEG_PIPELINE, pipeline=pipe, root=str(tmp_path), seeds=seeds)
    version, ref = res['version'], res['r']
    monkeypatch.setattr(geometry, 'imrotate', partial(imrotate, opencv=closest_option(version)))
    compose, rotated = Compose(pipe), 0
    for s, (rimg, rseg, rflip, rnext) in zip(seeds, ref):
        rotated += not np.array_equal(rseg, mask[:, ::-1] if rflip else mask)
        np.random.seed(s)
        r = compose(dict(img_info=dict(filename='a.png'), ann_info=dict(seg_map='a_mask.png'), img_prefix=str(tmp_path),
                         seg_prefix=str(tmp_path), seg_fields=[]))
        assert (r['flip'], np.random.rand()) == (rflip, rnext), s
        angle = replayed_angle(s, 0.5, (-30, 30), skip=1)                     # after RandomFlip's one draw
        tie = at_tie(mask.shape, angle) if angle is not None else False
        assert_like_opencv(as_hwc(r['img']), r['gt_semantic_seg'].numpy(), rimg, rseg, version, tie, f'seed {s}')
    assert 2 <= rotated <= 8, rotated        # both branches of prob=0.5 were taken
