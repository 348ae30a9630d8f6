"""Datasets on miniature VOC / Cityscapes / ADE20K trees, loaded through segnb's shipped mmseg-style dataset configs."""
import os, warnings
import numpy as np, pytest, torch
from PIL import Image
from data_trees import make_voc, make_cityscapes, make_ade, save_palette_png, VOC_PALETTE
from mmseg_venv import needs_mmseg, run_mmseg
from segnb.config import Config
from segnb.data.datasets import (PascalVOCDataset, CityscapesDataset, ADE20KDataset, CustomDataset, ConcatDataset,
                                 labelids_to_trainids, convert_cityscapes)
from segnb.data.loader import build_dataset

CFG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'segnb', 'configs', '_base_', 'datasets')


def data_cfg(name, split, data_root):
    "The `data.<split>` dict of a shipped dataset config, pointed at `data_root`."
    cfg = Config.fromfile(os.path.join(CFG_DIR, name)).data[split]
    cfg['data_root'] = data_root
    return cfg


def test_voc_train_through_config(tmp_path):
    voc = make_voc(tmp_path)
    ds = build_dataset(data_cfg('pascal_voc12.py', 'train', voc))
    assert isinstance(ds, PascalVOCDataset) and len(ds) == 2 and len(ds.CLASSES) == 21
    assert [i['filename'] for i in ds.img_infos] == ['2007_000032.jpg', '2007_000039.jpg']
    np.random.seed(0)
    s = ds[1]
    assert s['img'].shape == (3, 512, 512) and s['img'].dtype == torch.float32
    assert s['gt_semantic_seg'].shape == (1, 512, 512) and s['gt_semantic_seg'].dtype == torch.int64
    assert set(s['gt_semantic_seg'].unique().tolist()) <= {0, 2, 15, 255}      # palette indices, never RGB
    assert s['img_metas']['ori_shape'] == (60, 80, 3) and s['img_metas']['ori_filename'] == '2007_000039.jpg'


def test_voc_gt_is_palette_index(tmp_path):
    voc = make_voc(tmp_path)
    ds = build_dataset(data_cfg('pascal_voc12.py', 'val', voc))
    gt = next(ds.get_gt_seg_maps())
    raw = np.array(Image.open(f'{voc}/SegmentationClass/2007_000033.png'))
    assert Image.open(f'{voc}/SegmentationClass/2007_000033.png').mode == 'P'
    np.testing.assert_array_equal(gt, raw)
    assert set(np.unique(gt).tolist()) == {0, 3, 15, 255}


def test_voc_val_test_pipeline(tmp_path):
    voc = make_voc(tmp_path)
    ds = build_dataset(data_cfg('pascal_voc12.py', 'val', voc))
    s = ds[0]
    assert len(s['img']) == 1 and s['img'][0].shape == (3, 512, 683)       # (2048, 512) fit of 80x60: short side 512
    m = s['img_metas'][0]
    assert (m['img_shape'], m['flip'], m['ori_shape']) == ((512, 683, 3), False, (60, 80, 3))
    np.testing.assert_allclose(m['scale_factor'], [683 / 80, 512 / 60] * 2, rtol=1e-6)


def test_voc_aug_concat(tmp_path):
    voc = make_voc(tmp_path)
    ds = build_dataset(data_cfg('pascal_voc12_aug.py', 'train', voc))
    assert isinstance(ds, ConcatDataset) and [len(d) for d in ds.datasets] == [2, 2]
    assert ds.datasets[1].ann_dir.endswith('SegmentationClassAug')
    assert ds.datasets[1].img_infos[0]['filename'] == '2008_000002.jpg'
    assert ds[3]['gt_semantic_seg'].shape == (1, 512, 512)


def test_cityscapes_layout_and_suffixes(tmp_path):
    cs = make_cityscapes(tmp_path)
    ds = build_dataset(data_cfg('cityscapes.py', 'val', cs))
    assert isinstance(ds, CityscapesDataset) and len(ds) == 2
    assert ds.img_infos[0] == dict(filename='frankfurt/frankfurt_000000_000019_leftImg8bit.png',
                                   ann=dict(seg_map='frankfurt/frankfurt_000000_000019_gtFine_labelTrainIds.png'))
    s = ds[1]
    assert s['img'][0].shape == (3, 1024, 2048) and s['img_metas'][0]['ori_filename'].startswith('lindau/')
    assert set(np.unique(next(ds.get_gt_seg_maps())).tolist()) == {0, 10, 11, 13}


def test_cityscapes_labelids_conversion(tmp_path):
    cs = make_cityscapes(tmp_path, label_ids=True)
    assert convert_cityscapes(f'{cs}/gtFine') == 2
    out = np.array(Image.open(f'{cs}/gtFine/val/frankfurt/frankfurt_000000_000019_gtFine_labelTrainIds.png'))
    ids = np.array(Image.open(f'{cs}/gtFine/val/frankfurt/frankfurt_000000_000019_gtFine_labelIds.png'))
    np.testing.assert_array_equal(out, labelids_to_trainids(ids))
    assert set(np.unique(out).tolist()) <= {0, 10, 11, 13, 255} and out[0, 0] == 255
    # the full table: cityscapesscripts' 19 trained ids, every other id ignored
    table = labelids_to_trainids(np.arange(256))
    assert {i: int(t) for i, t in enumerate(table) if t != 255} == {
        7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12, 26: 13, 27: 14,
        28: 15, 31: 16, 32: 17, 33: 18}


def test_ade_reduce_zero_label(tmp_path):
    ade = make_ade(tmp_path)
    cfg = data_cfg('ade20k.py', 'train', ade)
    ds = build_dataset(cfg)
    assert isinstance(ds, ADE20KDataset) and ds.reduce_zero_label and len(ds) == 2
    assert ds.img_infos[0]['filename'] == 'ADE_train_00000001.jpg'
    raw = np.array(Image.open(f'{ade}/annotations/training/ADE_train_00000001.png'))
    np.random.seed(1)
    seg = ds[0]['gt_semantic_seg']
    assert set(seg.unique().tolist()) <= {0, 2, 149, 255}                     # 1 -> 0, 3 -> 2, 150 -> 149, 0 -> 255
    # evaluation applies reduce_zero_label to the raw gt: a prediction equal to raw - 1 is perfect
    gt = next(ds.get_gt_seg_maps())
    np.testing.assert_array_equal(gt, raw)
    pred = (raw.astype(np.int64) - 1).clip(0)      # any class where the gt is ignored
    res = ds.evaluate(ds.pre_eval([pred], [0]), logger='silent')
    assert res['mIoU'] == 1.0 and res['IoU.wall'] == 1.0 and np.isnan(res['IoU.building'])


def test_ade_format_results(tmp_path):
    ade = make_ade(tmp_path, split='validation')
    ds = build_dataset(data_cfg('ade20k.py', 'val', ade))
    files = ds.format_results([np.full((4, 4), 2)], str(tmp_path / 'out'), indices=[1])
    assert os.path.basename(files[0]) == 'ADE_val_00000002.png'
    assert np.array(Image.open(files[0])).max() == 3


def test_class_subset_label_map(tmp_path):
    voc = make_voc(tmp_path)
    cfg = data_cfg('pascal_voc12.py', 'val', voc)
    ds = build_dataset({**cfg, 'classes': ('background', 'aeroplane', 'person')})
    assert ds.label_map[15] == 2 and ds.label_map[3] == -1 and ds.PALETTE == [[0, 0, 0], [128, 0, 0], [192, 128, 128]]
    gt = ds.get_gt_seg_map_by_idx(0)
    raw = np.array(Image.open(f'{voc}/SegmentationClass/2007_000033.png'))
    np.testing.assert_array_equal(gt == 2, raw == 15)
    assert (gt[raw == 3] == 255).all()


@needs_mmseg
def test_classes_palettes_and_label_map_match_mmseg(tmp_path):
    voc = make_voc(tmp_path)
    out = run_mmseg('''
from mmseg.datasets import PascalVOCDataset, CityscapesDataset, ADE20KDataset
out['meta'] = {c.__name__: (list(c.CLASSES), [list(p) for p in c.PALETTE]) for c in (PascalVOCDataset, CityscapesDataset, ADE20KDataset)}
ds = PascalVOCDataset(split='ImageSets/Segmentation/train.txt', data_root=inp['voc'], img_dir='JPEGImages',
                      ann_dir='SegmentationClass', pipeline=[], classes=('background', 'car', 'person'))
out['label_map'], out['palette'] = ds.label_map, [list(p) for p in ds.PALETTE]
out['infos'] = ds.img_infos
''', voc=voc)
    for cls in (PascalVOCDataset, CityscapesDataset, ADE20KDataset):
        assert (list(cls.CLASSES), [list(p) for p in cls.PALETTE]) == tuple(out['meta'][cls.__name__])
    ds = PascalVOCDataset(split='ImageSets/Segmentation/train.txt', data_root=voc, img_dir='JPEGImages',
                          ann_dir='SegmentationClass', pipeline=[], classes=('background', 'car', 'person'))
    assert ds.label_map == out['label_map'] and [list(p) for p in ds.PALETTE] == out['palette']
    assert ds.img_infos == out['infos']
    # (mmseg's own label remapping writes -1 into uint8, which numpy 2 refuses; segnb stores it as 255 = ignored)


# ---- bad input: each problem named with its file, all at once -------------------------------------------------

def test_check_reports_all_problems_on_voc(tmp_path):
    voc = make_voc(tmp_path, train=('a', 'b', 'c', 'd', 'e'), val=(), aug=())
    Image.fromarray(np.full((60, 80), 30, np.uint8)).save(f'{voc}/SegmentationClass/a.png')            # 30 > 20 classes
    save_palette_png(np.zeros((61, 80), np.uint8), f'{voc}/SegmentationClass/b.png', VOC_PALETTE)       # wrong size
    os.remove(f'{voc}/JPEGImages/c.jpg')                                                                 # missing image
    data = open(f'{voc}/JPEGImages/d.jpg', 'rb').read(); open(f'{voc}/JPEGImages/d.jpg', 'wb').write(data[:len(data) // 3])
    with open(f'{voc}/ImageSets/Segmentation/train.txt', 'a') as f: f.write('ghost\n')                 # listed, absent
    ds = build_dataset(data_cfg('pascal_voc12.py', 'train', voc))
    rep = ds.check(verbose=False)
    text = '\n'.join(rep.errors)
    assert "a.png' holds values [30] that are neither a class index (0..20) nor ignore_index 255" in text
    assert "b.png' is 80x61 (WxH) but its image is 80x60" in text
    assert "image file '" in text and 'c.jpg' in text
    assert 'd.jpg' in text and 'truncated or not an image' in text
    assert 'ghost.jpg' in text and 'ghost.png' in text
    with pytest.raises(ValueError, match='errors'): ds.check(strict=True, verbose=False)


def test_truncated_image_raises_or_skips(tmp_path):
    voc = make_voc(tmp_path)
    f = f'{voc}/JPEGImages/2007_000032.jpg'
    data = open(f, 'rb').read(); open(f, 'wb').write(data[:len(data) // 3])
    cfg = data_cfg('pascal_voc12.py', 'train', voc)
    with pytest.raises(Exception, match='truncated or not an image.*skip_bad_files=True'): build_dataset(cfg)[0]
    ds = build_dataset({**cfg, 'skip_bad_files': True})
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        s = ds[0]
    skipped = [str(m.message) for m in w if 'skipping' in str(m.message)]
    assert s['img_metas']['ori_filename'] == '2007_000039.jpg' and len(skipped) == 1 and '2007_000032.jpg' in skipped[0]


def test_binary_0_255_masks_warn(tmp_path):
    root = tmp_path / 'bin'
    for i in range(2):
        img = np.zeros((8, 8, 3), np.uint8); mask = np.zeros((8, 8), np.uint8); mask[2:5] = 255
        os.makedirs(root / 'img', exist_ok=True); os.makedirs(root / 'ann', exist_ok=True)
        Image.fromarray(img).save(root / 'img' / f'{i}.jpg'); Image.fromarray(mask).save(root / 'ann' / f'{i}.png')
    ds = CustomDataset([], img_dir=str(root / 'img'), ann_dir=str(root / 'ann'), classes=('bg', 'lesion'), palette=[[0, 0, 0], [255, 0, 0]])
    rep = ds.check(verbose=False)
    assert rep.ok and '255 is ignore_index' in rep.warnings[0] and 'Did you mean {0, 1}?' in rep.warnings[0]


def test_rgb_masks_explained_and_converted(tmp_path):
    voc = make_voc(tmp_path, train=('a', 'b'), val=(), aug=())
    for n in ('a', 'b'):   # re-save as RGB colour pictures, as people often do
        Image.open(f'{voc}/SegmentationClass/{n}.png').convert('RGB').save(f'{voc}/SegmentationClass/{n}.png')
    cfg = data_cfg('pascal_voc12.py', 'train', voc)
    ds = build_dataset(cfg)
    with pytest.raises(ValueError, match='3-channel colour image.*color_mask_to_index'): ds[0]
    rep = ds.check(verbose=False, convert_color_masks_to=f'{voc}/SegmentationClassIndex')
    assert len(rep.errors) == 2 and 'RGB colour image' in rep.errors[0] and 'set ann_dir=' in rep.warnings[0]
    fixed = build_dataset({**cfg, 'ann_dir': 'SegmentationClassIndex'})
    assert fixed.check(verbose=False).ok
    assert set(np.unique(fixed.get_gt_seg_map_by_idx(0)).tolist()) == {0, 1, 15, 255}


def test_config_mistakes(tmp_path):
    voc = make_voc(tmp_path)
    cfg = data_cfg('pascal_voc12.py', 'train', voc)
    with pytest.raises(TypeError, match=r"classes='water' is a string.*classes=\('water',\)"):
        build_dataset({**cfg, 'type': 'CustomDataset', 'classes': 'water'})
    with pytest.raises(ValueError, match='palette has 2 colours but there are 3 classes'):
        build_dataset({**cfg, 'type': 'CustomDataset', 'classes': ('a', 'b', 'c'), 'palette': [[0, 0, 0], [1, 1, 1]]})
    with pytest.raises(FileNotFoundError, match="img_dir '.*Nope' does not exist"):
        build_dataset({**cfg, 'img_dir': 'Nope'})
    with pytest.raises(FileNotFoundError, match='split file .*nope.txt'):
        build_dataset({**cfg, 'split': 'nope.txt'})
    names = tmp_path / 'classes.txt'; names.write_text('sky\nwater\n')
    assert build_dataset({**cfg, 'type': 'CustomDataset', 'classes': str(names)}).CLASSES == ['sky', 'water']


def _absent_class_case():
    "Class 'b' is predicted but never labelled; -1 and 254 are predicted where the label is ignored."
    gt = np.array([[0, 0, 1, 255]] * 4, np.uint8)
    return [np.array([[0, 2, 1, -1]] * 3 + [[0, 2, 1, 254]])], [gt]


def test_evaluate_logs_the_means_the_table_prints(tmp_path, capsys):
    from segnb.evaluation import intersect_and_union
    ds = CustomDataset([], img_dir=str(tmp_path), classes=('bg', 'a', 'b'), palette=[[0, 0, 0], [1, 1, 1], [2, 2, 2]])
    preds, gts = _absent_class_case()
    res = ds.evaluate(preds, gt_seg_maps=gts)                       # logger=None: the table is printed
    table = capsys.readouterr().out.splitlines()
    # by hand, mmseg 0.30's rule (np.nanmean over classes): IoU (4/8, 4/4, 0/4) -> 1/2 (present classes only: 3/4);
    # Acc (4/8, 4/4, 0/0) -> 3/4; aAcc 8/12
    assert [res[k] for k in ('aAcc', 'mIoU', 'mAcc')] == pytest.approx([0.6667, 0.5, 0.75], abs=1e-12)
    assert res['IoU.b'] == 0.0 and np.isnan(res['Acc.b'])
    assert table[-4].split() == ['|', 'aAcc', '|', 'mIoU', '|', 'mAcc', '|'] and table[-2] == '| 66.67 | 50.00 | 75.00 |'
    assert [float(x) / 100 for x in table[-2].strip('| ').split(' | ')] == pytest.approx([res['aAcc'], res['mIoU'], res['mAcc']])
    assert [l.split()[1] for l in table if l.startswith('|') and 'absent' in l] == ['b']
    staged = ds.evaluate([intersect_and_union(p, g, 3, 255) for p, g in zip(preds, gts)], logger='silent')
    assert staged.keys() == res.keys() and all(staged[k] == res[k] or np.isnan(res[k]) for k in res)


@needs_mmseg
def test_evaluate_matches_mmseg_with_absent_class_and_ignored_predictions(tmp_path):
    preds, gts = _absent_class_case()
    out = run_mmseg('''
from types import SimpleNamespace
from mmseg.datasets import CustomDataset
fake = SimpleNamespace(CLASSES=('bg', 'a', 'b'), ignore_index=255, reduce_zero_label=False)
out['res'] = dict(CustomDataset.evaluate(fake, [p.numpy() for p in inp['preds']], gt_seg_maps=[g.numpy() for g in inp['gts']], logger='silent'))
''', preds=[torch.from_numpy(p) for p in preds], gts=[torch.from_numpy(g) for g in gts])
    ds = CustomDataset([], img_dir=str(tmp_path), classes=('bg', 'a', 'b'), palette=[[0, 0, 0], [1, 1, 1], [2, 2, 2]])
    ours = ds.evaluate(preds, gt_seg_maps=gts, logger='silent')
    assert list(ours) == list(out['res'])
    np.testing.assert_allclose([ours[k] for k in ours], [out['res'][k] for k in ours], rtol=0, atol=1e-12)
