"""Write tests/fixtures/sbd_2008_000002.mat once, with scipy, in SBD's exact structure (scipy is not a segnb dependency).

SBD's benchmark_RELEASE/dataset/cls/<name>.mat holds one 1x1 struct `GTcls` with fields `Boundaries` (a 20x1 cell of
sparse logical HxW edge maps, one per VOC class), `Segmentation` (uint8 HxW class mask) and `CategoriesPresent`
(the classes present, a column). Run: python tests/tools/make_sbd_fixture.py"""
import os.path as osp
import numpy as np


def fixture_mask(h=37, w=50):
    "Background with a disc of class 15 (person) and a box of class 1 (aeroplane); odd sizes on purpose."
    yy, xx = np.mgrid[:h, :w]
    seg = np.zeros((h, w), np.uint8)
    seg[(yy - 18) ** 2 + (xx - 14) ** 2 < 81] = 15
    seg[5:20, 30:46] = 1
    return seg


def class_edges(seg, n_classes=20):
    "One dense boolean edge map per class k+1: its pixels that touch a different label (4-neighbourhood)."
    pad = np.pad(seg, 1, mode='edge')
    c = pad[1:-1, 1:-1]
    edge = (c != pad[:-2, 1:-1]) | (c != pad[2:, 1:-1]) | (c != pad[1:-1, :-2]) | (c != pad[1:-1, 2:])
    return [edge & (seg == k + 1) for k in range(n_classes)]


if __name__ == '__main__':
    import scipy.io as sio, scipy.sparse as sp
    seg = fixture_mask()
    cell = np.empty((20, 1), object)
    for k, e in enumerate(class_edges(seg)): cell[k, 0] = sp.csc_matrix(e)
    gt = dict(Boundaries=cell, Segmentation=seg, CategoriesPresent=np.array([[c] for c in np.unique(seg) if c], np.uint8))
    out = osp.join(osp.dirname(__file__), '..', 'fixtures', 'sbd_2008_000002.mat')
    sio.savemat(out, dict(GTcls=gt), do_compression=True)
    print(out, osp.getsize(out), 'bytes')
