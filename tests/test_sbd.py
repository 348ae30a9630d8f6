"SBD -> VOC-aug: the MAT v5 reader (vs scipy.io.savemat when scipy is there, vs a committed fixture when not) and the converter."
import os, shutil, struct, sys, zlib
import numpy as np, pytest
from PIL import Image
from data_trees import make_voc
from mmseg_venv import needs_mmseg, run_mmseg
from segnb.config import Config
from segnb.data.datasets import ConcatDataset
from segnb.data.loader import build_dataset
from segnb.data.sbd import read_mat, sbd_segmentation, convert_voc_aug, voc_aug_main, MatFileError, AUG_LEN

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, 'fixtures', 'sbd_2008_000002.mat')
sys.path.insert(0, os.path.join(HERE, 'tools'))
from make_sbd_fixture import fixture_mask, class_edges


# ---- the committed fixture (no scipy needed) ---------------------------------------------------------------------

def test_fixture_has_sbd_structure():
    assert os.path.getsize(FIXTURE) < 20_000
    gt = read_mat(FIXTURE)['GTcls']
    assert sorted(gt) == ['Boundaries', 'CategoriesPresent', 'Segmentation']
    assert gt['Segmentation'].dtype == np.uint8 and gt['Segmentation'].shape == (37, 50)
    np.testing.assert_array_equal(gt['Segmentation'], fixture_mask())
    assert gt['Boundaries'].shape == (20, 1) and gt['Boundaries'].dtype == object
    for k, edge in enumerate(class_edges(fixture_mask())):
        b = gt['Boundaries'][k, 0]
        assert b.dtype == bool and b.shape == (37, 50)
        np.testing.assert_array_equal(b, edge)
    assert gt['Boundaries'][0, 0].sum() > 0 and gt['Boundaries'][14, 0].sum() > 0 and gt['Boundaries'][5, 0].sum() == 0
    np.testing.assert_array_equal(gt['CategoriesPresent'], np.array([[1], [15]], np.uint8))
    np.testing.assert_array_equal(sbd_segmentation(FIXTURE), fixture_mask())


# ---- hand-built files: the format pieces and the errors ----------------------------------------------------------

HEADER = b'MATLAB 5.0 MAT-file, written by test_sbd'.ljust(116) + bytes(8) + b'\x00\x01IM'


def el(t, data):
    return struct.pack('<II', t, len(data)) + data + b'\0' * (-len(data) % 8)


def matrix(cls, dims, name, *rest, flags=0):
    return el(14, el(6, struct.pack('<II', cls | flags, 0)) + el(5, np.array(dims, '<i4').tobytes()) + el(1, name) + b''.join(rest))


def write(tmp_path, name, *variables, header=HEADER):
    p = tmp_path / name
    p.write_bytes(header + b''.join(variables))
    return str(p)


def big_endian_matrix(cls, dims, name, data_type, data):
    e = lambda t, d: struct.pack('>II', t, len(d)) + d + b'\0' * (-len(d) % 8)
    return e(14, e(6, struct.pack('>II', cls, 0)) + e(5, np.array(dims, '>i4').tobytes()) + e(1, name) + e(data_type, data))


def test_big_endian_and_double_stored_as_uint8(tmp_path):
    "A big-endian file (header mark 'MI'), and a double array saved in a narrower type, as MATLAB does to save space."
    p = write(tmp_path, 'be.mat', big_endian_matrix(6, (2, 2), b'x', 3, np.array([1, -2, 300, 4], '>i2').tobytes()),
              header=HEADER[:126] + b'MI')
    x = read_mat(p)['x']
    assert x.dtype == np.float64 and x.tolist() == [[1., 300.], [-2., 4.]]       # column-major


def test_compressed_and_plain_variables_mix(tmp_path):
    a = matrix(9, (1, 3), b'a', el(2, bytes([1, 2, 3])))
    z = zlib.compress(matrix(11, (2, 1), b'b', el(4, np.array([7, 65535], '<u2').tobytes())))
    p = write(tmp_path, 'mix.mat', a, struct.pack('<II', 15, len(z)) + z, a.replace(b'a\0', b'c\0', 1))
    d = read_mat(p)
    assert list(d) == ['a', 'b', 'c'] and d['b'].dtype == np.uint16 and d['b'].tolist() == [[7], [65535]]


def test_errors_name_the_file(tmp_path):
    h5 = tmp_path / 'v73.mat'
    h5.write_bytes(b'MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .'.ljust(512) + b'\x89HDF\r\n\x1a\n' + bytes(64))
    with pytest.raises(MatFileError, match=r"v73.mat is a MATLAB v7.3 MAT-file \(HDF5\).*save\(name, '-v7'\).*h5py"):
        read_mat(str(h5))
    with pytest.raises(MatFileError, match=r'png.mat is not a MATLAB v5/v7 MAT-file'):
        read_mat(write(tmp_path, 'png.mat', b'', header=b'\x89PNG\r\n\x1a\n' + bytes(200)))
    data = open(FIXTURE, 'rb').read()
    (tmp_path / 'cut.mat').write_bytes(data[:300])
    with pytest.raises(MatFileError, match=r'cut.mat is truncated'): read_mat(str(tmp_path / 'cut.mat'))
    (tmp_path / 'bad.mat').write_bytes(data[:150] + bytes(20) + data[170:])
    with pytest.raises(MatFileError, match=r'bad.mat: a compressed variable is corrupt .*re-extract'): read_mat(str(tmp_path / 'bad.mat'))
    with pytest.raises(MatFileError, match=r"fh.mat: 'f' is a function handle, which this reader does not handle"):
        read_mat(write(tmp_path, 'fh.mat', matrix(16, (1, 1), b'f')))
    with pytest.raises(MatFileError, match=r"cx.mat: 'z' is a complex array"):
        read_mat(write(tmp_path, 'cx.mat', matrix(6, (1, 1), b'z', el(9, b'\0' * 8), el(9, b'\0' * 8), flags=0x800)))
    inst = matrix(2, (1, 1), b'GTinst', el(5, struct.pack('<i', 4)), el(1, b'Seg\0'), matrix(9, (1, 1), b'', el(2, b'\1')))
    with pytest.raises(MatFileError, match=r"inst.mat has no GTcls.Segmentation \(found variables \['GTinst'\]\)"):
        sbd_segmentation(write(tmp_path, 'inst.mat', inst))
    with pytest.raises(FileNotFoundError, match='nope.mat'): read_mat(str(tmp_path / 'nope.mat'))


# ---- scipy as the reference writer --------------------------------------------------------------------------------

def random_variables(rng):
    "SBD-like and general variables of odd sizes: numbers of many dtypes, logical, char, sparse, cells, structs."
    h, w = (int(v) for v in rng.integers(1, 40, 2))
    seg = rng.integers(0, 21, (h, w)).astype(np.uint8)
    v = dict(seg=seg, d=rng.normal(size=(h, 3)), f=rng.normal(size=(1, w)).astype(np.float32),
             i16=rng.integers(-300, 300, (3, h)).astype(np.int16), u16=rng.integers(0, 60000, (h, 1)).astype(np.uint16),
             i32=rng.integers(-2**31, 2**31 - 1, (2, 5), dtype=np.int64).astype(np.int32),
             i64=rng.integers(-2**40, 2**40, (1, 3)), cube=rng.integers(0, 9, (2, 3, 4)).astype(np.uint8),
             mask=rng.random((h, w)) < 0.3, one=np.array([[7.5]]), text='GTcls v5', empty=np.zeros((0, 0)))
    cell = np.empty((int(rng.integers(1, 4)), 2), object)
    for i in np.ndindex(cell.shape): cell[i] = rng.integers(0, 5, (1, int(rng.integers(1, 6)))).astype(np.uint8)
    v['cell'] = cell
    v['GTcls'] = dict(Segmentation=seg, CategoriesPresent=np.unique(seg)[None, 1:].T.astype(np.uint8), Boundaries=None)
    v['arr'] = np.zeros((1, 3), dtype=[('a', object), ('b', object)])
    for j in range(3): v['arr'][0, j] = (np.full((1, j + 1), j, np.int8), f'name{j}')
    return v


def test_reader_matches_scipy_savemat(tmp_path):
    sio, sparse = pytest.importorskip('scipy.io'), pytest.importorskip('scipy.sparse')
    for trial in range(12):
        rng = np.random.default_rng(trial)
        v = random_variables(rng)
        seg = v['seg']
        edges = np.empty((20, 1), object)
        for k in range(20): edges[k, 0] = sparse.csc_matrix(seg == k + 1)
        v['GTcls']['Boundaries'] = edges
        v['sp'] = sparse.random(*seg.shape, density=0.2, random_state=trial, format='csc')
        p = str(tmp_path / f'{trial}.mat')
        sio.savemat(p, v, do_compression=bool(trial % 2))
        d = read_mat(p)
        for k in ('seg', 'd', 'f', 'i16', 'u16', 'i32', 'i64', 'cube', 'mask', 'one', 'empty'):
            assert d[k].dtype == np.asarray(v[k]).dtype and np.array_equal(d[k], v[k]), (trial, k)
        assert d['text'] == 'GTcls v5'
        assert d['cell'].shape == v['cell'].shape and all(np.array_equal(d['cell'][i], v['cell'][i]) for i in np.ndindex(v['cell'].shape))
        assert np.array_equal(d['sp'], v['sp'].toarray()) and d['sp'].dtype == np.float64
        gt = d['GTcls']
        assert np.array_equal(gt['Segmentation'], seg) and gt['Segmentation'].dtype == np.uint8
        assert all(np.array_equal(gt['Boundaries'][k, 0], seg == k + 1) for k in range(20))
        np.testing.assert_array_equal(gt['CategoriesPresent'], v['GTcls']['CategoriesPresent'])
        assert d['arr'].shape == (1, 3) and [(s['a'].tolist(), s['b']) for s in d['arr'][0]] == \
            [([[0]], 'name0'), ([[1, 1]], 'name1'), ([[2, 2, 2]], 'name2')]
        np.testing.assert_array_equal(sbd_segmentation(p), seg)


# ---- the conversion, then loading through the VOC-aug config ------------------------------------------------------

def make_sbd(root, train, val, masks):
    "benchmark_RELEASE/dataset/{cls/*.mat, train.txt, val.txt}, each .mat a copy of the fixture (or a given file)."
    cls = os.path.join(root, 'benchmark_RELEASE', 'dataset', 'cls')
    os.makedirs(cls)
    for name in train + val: shutil.copy(masks.get(name, FIXTURE), os.path.join(cls, name + '.mat'))
    for split, names in (('train', train), ('val', val)):
        with open(os.path.join(cls, '..', f'{split}.txt'), 'w') as f: f.write(''.join(n + '\n' for n in names))
    return os.path.join(root, 'benchmark_RELEASE')


def test_convert_then_load_voc_aug(tmp_path):
    voc = make_voc(tmp_path, train=('2007_000032', '2007_000039'), val=('2007_000033',), aug=(), size=(37, 50))
    sbd_train, sbd_val = ['2007_000039', '2008_000002', '2008_000003'], ['2007_000033', '2008_000008']
    for n in ('2008_000002', '2008_000003', '2008_000008'):     # SBD's own images, same size as their masks
        Image.fromarray(np.full((37, 50, 3), 99, np.uint8)).save(f'{voc}/JPEGImages/{n}.jpg')
    sbd = make_sbd(tmp_path, sbd_train, sbd_val, {})
    r = voc_aug_main([str(tmp_path / 'VOCdevkit'), sbd, '--no-check', '--nproc', '2'])
    sets = f'{voc}/ImageSets/Segmentation'
    assert open(f'{sets}/trainaug.txt').read().split() == ['2007_000032', '2007_000039', '2008_000002', '2008_000003', '2008_000008']
    assert open(f'{sets}/aug.txt').read().split() == ['2008_000002', '2008_000003', '2008_000008']
    assert (r['masks'], r['trainaug'], r['aug']) == (5, 5, 3)
    png = Image.open(f'{voc}/SegmentationClassAug/2008_000002.png')
    assert png.mode == 'P' and png.getpalette()[255 * 3:256 * 3] == [224, 224, 192]
    np.testing.assert_array_equal(np.array(png), fixture_mask())

    cfg = Config.fromfile(os.path.join(HERE, '..', 'segnb', 'configs', '_base_', 'datasets', 'pascal_voc12_aug.py')).data.train
    cfg['data_root'] = voc
    cfg['pipeline'] = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
    ds = build_dataset(cfg)
    assert isinstance(ds, ConcatDataset) and [len(d) for d in ds.datasets] == [2, 3]
    aug = [ds[i] for i in range(2, 5)]
    assert [s['ori_filename'] for s in aug] == ['2008_000002.jpg', '2008_000003.jpg', '2008_000008.jpg']
    for s in aug: np.testing.assert_array_equal(s['gt_semantic_seg'].numpy(), fixture_mask())


def test_convert_checks_counts_and_paths_first(tmp_path):
    voc = make_voc(tmp_path, aug=(), size=(37, 50))
    sbd = make_sbd(tmp_path, ['2008_000002'], [], {})
    with pytest.raises(ValueError, match=rf'trainaug would list 3 images and aug 1, but the full VOC 2012 \+ SBD give {AUG_LEN}'):
        convert_voc_aug(str(tmp_path / 'VOCdevkit'), sbd)
    assert not os.path.exists(f'{voc}/SegmentationClassAug')       # nothing written before the check
    with pytest.raises(FileNotFoundError, match="aug_path must be SBD's benchmark_RELEASE"):
        convert_voc_aug(str(tmp_path / 'VOCdevkit'), str(tmp_path))
    os.remove(f'{voc}/ImageSets/Segmentation/val.txt')
    with pytest.raises(FileNotFoundError, match=r"split file .*val.txt' does not exist"):
        convert_voc_aug(str(tmp_path / 'VOCdevkit'), sbd)


def test_segmentation_is_what_mmseg_reads():
    "mmseg's voc_aug.py takes `loadmat(f)['GTcls'][0]['Segmentation'][0].astype(np.uint8)`: the same array."
    sio = pytest.importorskip('scipy.io')
    ref = sio.loadmat(FIXTURE)['GTcls'][0]['Segmentation'][0].astype(np.uint8)
    np.testing.assert_array_equal(sbd_segmentation(FIXTURE), ref)


MMSEG_VOC_AUG = '''
import importlib.util, os, sys, types, numpy as np, mmseg
from PIL import Image
spec = importlib.util.spec_from_file_location('sbd', inp['sbd_py']); sbd = importlib.util.module_from_spec(spec); spec.loader.exec_module(sbd)
def loadmat(path):     # scipy is not in the venv: hand mmseg the struct layout scipy.io.loadmat returns
    s = np.empty((1, 1), dtype=[('Segmentation', object)]); s[0, 0] = (sbd.read_mat(path)['GTcls']['Segmentation'],)
    return {'GTcls': s}
scipy = types.ModuleType('scipy'); scipy.io = types.ModuleType('scipy.io'); scipy.io.loadmat = loadmat
sys.modules.update({'scipy': scipy, 'scipy.io': scipy.io})
tool = os.path.join(os.path.dirname(mmseg.__file__), '.mim', 'tools', 'convert_datasets', 'voc_aug.py')
spec = importlib.util.spec_from_file_location('voc_aug', tool); va = importlib.util.module_from_spec(spec)
sys.modules['voc_aug'] = va          # its worker pool pickles voc_aug.convert_mat by name
spec.loader.exec_module(va)
va.AUG_LEN = inp['aug_len']            # mmseg asserts the full 10,582; this tree is a miniature
sys.argv = ['voc_aug.py', inp['devkit'], inp['aug']]
va.main()
sets = os.path.join(inp['devkit'], 'VOC2012', 'ImageSets', 'Segmentation')
out['lists'] = {n: open(os.path.join(sets, n)).read().split() for n in ('trainaug.txt', 'aug.txt')}
d = os.path.join(inp['devkit'], 'VOC2012', 'SegmentationClassAug')
out['masks'] = {f: np.array(Image.open(os.path.join(d, f))) for f in sorted(os.listdir(d))}
'''


@needs_mmseg
def test_same_lists_and_masks_as_mmseg_script(tmp_path):
    "mmseg's own tools/convert_datasets/voc_aug.py on one copy of a miniature tree, segnb's converter on another."
    trees = []
    for side in ('mmseg', 'segnb'):
        root = tmp_path / side
        make_voc(root, train=('2007_000032', '2007_000039'), val=('2007_000033',), aug=(), size=(37, 50))
        trees.append((str(root / 'VOCdevkit'), make_sbd(root, ['2007_000039', '2008_000002', '2008_000003'], ['2007_000033', '2008_000008'], {})))
    import segnb.data.sbd as sbd_module
    ref = run_mmseg(MMSEG_VOC_AUG, sbd_py=sbd_module.__file__, devkit=trees[0][0], aug=trees[0][1], aug_len=5)
    r = convert_voc_aug(*trees[1], expected_len=None)
    sets = os.path.join(trees[1][0], 'VOC2012', 'ImageSets', 'Segmentation')
    for name in ('trainaug.txt', 'aug.txt'):
        ours = open(os.path.join(sets, name)).read().split()
        assert sorted(ref['lists'][name]) == ours, name          # same names; mmseg's order is Python's set order
    assert sorted(ref['masks']) == sorted(os.listdir(r['out_dir'])) and len(ref['masks']) == 5
    for f, mask in ref['masks'].items():
        np.testing.assert_array_equal(np.array(Image.open(os.path.join(r['out_dir'], f))), mask)
