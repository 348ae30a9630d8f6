"""The shipped Shapes copy (`data/shapes/`): reproducible bit for bit, the layout configs expect, every class present,
not solvable by colour, and loadable through the shipped dataset config from any working directory."""
import subprocess, sys
from pathlib import Path
import numpy as np, pytest
from PIL import Image
from segnb.data.shapes import SHAPES_CLASSES as CLASSES, SHAPES_PALETTE as PALETTE, make_shapes, colour_baseline, find_shapes_root

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / 'data' / 'shapes'
SPLITS = dict(train=1000, val=200)


def files(root):
    return sorted(p.relative_to(root) for p in Path(root).rglob('*') if p.is_file())


@pytest.fixture(scope='module')
def regenerated(tmp_path_factory):
    return make_shapes(tmp_path_factory.mktemp('shapes') / 'shapes')


def test_layout_and_size():
    for split, n in SPLITS.items():
        imgs = sorted((SHIPPED / 'img_dir' / split).iterdir())
        anns = sorted((SHIPPED / 'ann_dir' / split).iterdir())
        assert len(imgs) == len(anns) == n
        assert [p.stem for p in imgs] == [p.stem for p in anns] == [f'{i:05d}' for i in range(n)]
        assert {p.suffix for p in imgs} == {'.jpg'} and {p.suffix for p in anns} == {'.png'}
    assert sum(p.stat().st_size for p in SHIPPED.rglob('*') if p.is_file()) < 8 * 2**20


def test_regenerating_reproduces_the_shipped_copy(regenerated):
    assert files(regenerated) == files(SHIPPED)
    for rel in files(SHIPPED):
        a, b = Image.open(SHIPPED / rel), Image.open(regenerated / rel)
        assert a.mode == b.mode and np.array_equal(np.array(a), np.array(b)), f'{rel}: pixels differ'
        if rel.suffix == '.png': assert a.getpalette() == b.getpalette(), f'{rel}: palette differs'
        assert (SHIPPED / rel).read_bytes() == (regenerated / rel).read_bytes(), \
            f'{rel}: same pixels but different bytes (another libjpeg/zlib build?)'


def test_masks_are_palette_pngs_with_every_class():
    for split in SPLITS:
        counts = np.zeros(len(CLASSES), np.int64)
        for p in sorted((SHIPPED / 'ann_dir' / split).glob('*.png')):
            im = Image.open(p)
            assert im.mode == 'P' and im.size == (64, 64), p
            m = np.array(im)
            assert m.max() < len(CLASSES), f'{p}: value {m.max()}'
            counts += np.bincount(m.ravel(), minlength=len(CLASSES))
        assert (counts > 0).all(), (split, counts)
        assert counts[1:].min() > 0.08 * counts.sum(), f'{split}: a shape class covers under 8% of pixels: {counts}'
    assert Image.open(SHIPPED / 'ann_dir/val/00000.png').getpalette()[:3 * len(PALETTE)] == sum(PALETTE, [])


def test_colour_alone_does_not_solve_it():
    ret = colour_baseline(SHIPPED)
    assert ret['mIoU'] <= 0.5, ret


def test_shipped_config_finds_the_data_from_any_directory(tmp_path):
    code = ("from segnb.data.loader import build_dataset; from segnb.apis import load_config\n"
            "cfg = load_config('shapes/pspnet_r18-d8_shapes.py')\n"
            "ds = build_dataset(cfg.data.val); s = ds[0]\n"
            "print(len(ds), type(ds).__name__, tuple(s['img'][0].shape))")
    out = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-5:] == ['200', 'ShapesDataset', '(3,', '64,', '64)']


def test_missing_data_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='segnb make-shapes nowhere/shapes'):
        find_shapes_root('nowhere/shapes')


def test_config_pipelines_feed_the_images_unchanged():
    "No resize or crop happens: train and test samples are the 64x64 files, normalised, with their masks."
    import torch
    from segnb.apis import load_config
    from segnb.data.loader import build_dataset
    cfg = load_config('shapes/pspnet_r18-d8_shapes.py')
    raw = torch.from_numpy(np.array(Image.open(SHIPPED / 'img_dir/val/00000.jpg'))).permute(2, 0, 1).float()
    mean, std = torch.tensor(cfg.img_norm_cfg.mean).view(3, 1, 1), torch.tensor(cfg.img_norm_cfg.std).view(3, 1, 1)
    val = build_dataset(cfg.data.val, dict(test_mode=True))[0]
    torch.testing.assert_close(val['img'][0], (raw - mean) / std)
    train = build_dataset(cfg.data.train)
    names = [info['filename'] for info in train.img_infos]
    sample = train[names.index('00001.jpg')]
    mask = np.array(Image.open(SHIPPED / 'ann_dir/train/00001.png'))
    seg = sample['gt_semantic_seg'][0].numpy()
    assert np.array_equal(seg, mask) or np.array_equal(seg, mask[:, ::-1])   # RandomFlip may mirror it
