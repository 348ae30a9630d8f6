"""Miniature dataset trees with the real layouts and file-name conventions (VOC, Cityscapes, ADE20K), for tests."""
import os
import numpy as np
from PIL import Image

VOC_PALETTE = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128], [128, 0, 128], [0, 128, 128],
               [128, 128, 128], [64, 0, 0], [192, 0, 0], [64, 128, 0], [192, 128, 0], [64, 0, 128], [192, 0, 128],
               [64, 128, 128], [192, 128, 128], [0, 64, 0], [128, 64, 0], [0, 192, 0], [128, 192, 0], [0, 64, 128]]


def blob_image_and_mask(h, w, labels, seed, border=None):
    "An RGB image of a few discs on a gradient and its mask (disc k gets labels[k]; background labels[0])."
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    img = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), np.full((h, w), 90)], -1).astype(np.float64)
    mask = np.full((h, w), labels[0], np.uint8)
    for lab in labels[1:]:
        cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(max(2, min(h, w) // 6), max(3, min(h, w) // 2))
        inside = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        mask[inside] = lab; img[inside] = rng.integers(0, 256, 3)
    if border is not None: mask[:1], mask[-1:] = border, border
    return img.clip(0, 255).astype(np.uint8), mask


def save_palette_png(mask, path, palette):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    im = Image.fromarray(mask, mode='P')
    im.putpalette(np.asarray(palette, np.uint8).flatten().tolist() + [224, 224, 192] * (256 - len(palette)))
    im.save(path)


def save_jpg(img, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(img).save(path, quality=95)


def make_voc(root, train=('2007_000032', '2007_000039'), val=('2007_000033',), aug=('2008_000002', '2008_000003'), size=(60, 80)):
    "data/VOCdevkit/VOC2012 with JPEGImages, palette SegmentationClass(+Aug), ImageSets/Segmentation/{train,val,aug}.txt."
    voc = os.path.join(root, 'VOCdevkit', 'VOC2012')
    for i, name in enumerate(train + val + aug):
        img, mask = blob_image_and_mask(*size, labels=[0, 1 + i % 20, 15], seed=i, border=255)
        save_jpg(img, f'{voc}/JPEGImages/{name}.jpg')
        ann = 'SegmentationClassAug' if name in aug else 'SegmentationClass'
        save_palette_png(mask, f'{voc}/{ann}/{name}.png', VOC_PALETTE)
    os.makedirs(f'{voc}/ImageSets/Segmentation', exist_ok=True)
    for split, names in [('train', train), ('val', val), ('aug', aug)]:
        with open(f'{voc}/ImageSets/Segmentation/{split}.txt', 'w') as f: f.write('\n'.join(names) + '\n')
    return voc


def make_cityscapes(root, split='val', cities=('frankfurt', 'lindau'), size=(32, 64), label_ids=False):
    "data/cityscapes with leftImg8bit/<split>/<city>/*_leftImg8bit.png and gtFine/... *_gtFine_labelTrainIds.png."
    cs = os.path.join(root, 'cityscapes')
    for i, city in enumerate(cities):
        stem = f'{city}_000000_{19 + i:06d}'
        img, mask = blob_image_and_mask(*size, labels=[0, 13, 11, 10], seed=10 + i)
        os.makedirs(f'{cs}/leftImg8bit/{split}/{city}', exist_ok=True); os.makedirs(f'{cs}/gtFine/{split}/{city}', exist_ok=True)
        Image.fromarray(img).save(f'{cs}/leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png')
        if label_ids:   # the ids Cityscapes ships: road 7, car 26, person 24, sky 23; 0 unlabeled
            ids = np.select([mask == 0, mask == 13, mask == 11, mask == 10], [7, 26, 24, 23], 0).astype(np.uint8)
            ids[0, 0] = 0
            Image.fromarray(ids).save(f'{cs}/gtFine/{split}/{city}/{stem}_gtFine_labelIds.png')
        else:
            Image.fromarray(mask).save(f'{cs}/gtFine/{split}/{city}/{stem}_gtFine_labelTrainIds.png')
    return cs


def make_ade(root, split='training', n=2, size=(48, 64)):
    "data/ade/ADEChallengeData2016 with images/<split>/ADE_*.jpg and annotations/<split>/ADE_*.png (0 = other)."
    ade = os.path.join(root, 'ade', 'ADEChallengeData2016')
    tag = 'train' if split == 'training' else 'val'
    for i in range(n):
        img, mask = blob_image_and_mask(*size, labels=[0, 1, 3, 150], seed=20 + i)
        save_jpg(img, f'{ade}/images/{split}/ADE_{tag}_{i + 1:08d}.jpg')
        os.makedirs(f'{ade}/annotations/{split}', exist_ok=True)
        Image.fromarray(mask).save(f'{ade}/annotations/{split}/ADE_{tag}_{i + 1:08d}.png')
    return ade
