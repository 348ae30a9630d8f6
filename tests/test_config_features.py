"""Every mmcv 1.x config feature on small valid files (tests/config_features), pinned by hand and, when
SEGNB_MMSEG_VENV names a venv with mmcv 1.7.2, compared with what mmcv itself gives."""
import os, pickle, subprocess
from pathlib import Path
import pytest
from segnb.config import Config, DictAction

HERE = Path(__file__).parent/'config_features'
FILES = ['base.py', 'schedule.yaml', 'child.py', 'child.json', 'deep/grandchild.yaml', 'deep/leaf.py']
VENV = os.environ.get('SEGNB_MMSEG_VENV')
OVERRIDES = ['a=1', 'b=1,2', 'c=(1,2)', 'd=[(1,2),(3,4)]', 'e=true', 'f=False', 'g=None', 'h=0.5', 'i=abc',
             "j='x y'", 'k=[a,[b,(c,d)]]', 'l=', 'm=1e-4', 'n=[]', 'o=-3', 'p=(1,)']
MERGES = {'model.decode_head.num_classes': 5, 'model.decode_head.loss.0.type': 'FocalLoss',
          'optimizer.paramwise_cfg.custom_keys.head.lr_mult': 1.0,
          'new.key': [1, 2]}


def test_references_predefined_vars_and_formats():
    leaf = Config.fromfile(HERE/'deep/leaf.py')
    assert leaf.crop == (64, 64) and leaf.first_step == [1, 2, 3] and leaf.steps == (4,)     # {{ _base_.x }}
    assert leaf.size == (64, 64) and leaf.n == 7                              # references from JSON and YAML
    assert leaf.model.decode_head.sizes == [(64, 64)]                         # a reference inside a list
    assert leaf.model.backbone == dict(type='ResNet', depth=50)               # _delete_=True replaced it
    assert leaf.model.decode_head.loss == [dict(type='DiceLoss')]             # lists replace, never merge
    assert leaf.model.decode_head.num_classes == 7 and leaf.model.decode_head.dropout_ratio == 0.1
    assert leaf.optimizer == dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=0.0005,
                                  paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.0)}))
    assert leaf.work_dir == './work_dirs/base' and leaf.ext == '.py'          # predefined vars of the base file
    assert leaf.here == 'child.py' and leaf.name == 'child'
    assert leaf.classes == ('sky', 'water') and leaf.runner == dict(type='IterBasedRunner', max_iters=80)
    assert leaf.scale == 2.0 and 'math' not in leaf and 'helper' not in leaf  # modules and functions are dropped
    assert leaf.norm_cfg == dict(type='BN', requires_grad=True)               # helper variables stay as keys


def test_source_of_follows_the_chain():
    leaf = Config.fromfile(HERE/'deep/leaf.py')
    src = lambda k: Path(leaf.source_of(k)).relative_to(HERE).as_posix()
    assert src('model.backbone.depth') == 'child.py' and src('model.backbone') == 'child.py'
    assert src('model.decode_head.type') == 'base.py' and src('model.decode_head.num_classes') == 'child.json'
    assert src('model.decode_head.dropout_ratio') == 'deep/grandchild.yaml' and src('runner.max_iters') == 'deep/leaf.py'
    assert src('runner.type') == 'schedule.yaml' and src('model.decode_head.loss.0.type') == 'child.py'
    assert set(leaf.sources('runner')) == {'runner.type', 'runner.max_iters'}


def test_override_replaces_a_list_element():
    "Beyond mmcv (which fails with `'tuple' object has no attribute 'copy'`): a non-dict list element is replaced."
    leaf = Config.fromfile(HERE/'deep/leaf.py')
    leaf.merge_from_dict({'model.decode_head.sizes.0': (32, 32), 'palette.1': [0, 255, 0]})
    assert leaf.model.decode_head.sizes == [(32, 32)] and leaf.palette == [[0, 0, 255], [0, 255, 0]]


def test_quoted_reference_in_json(tmp_path):
    "Beyond mmcv (whose JSON then fails to parse): a quoted `\"{{ _base_.x }}\"` works as the whole value."
    (tmp_path/'b.py').write_text('crop_size = (8, 8)\n')
    (tmp_path/'c.json').write_text('{"_base_": "b.py", "size": "{{ _base_.crop_size }}", "s": "{{_base_.crop_size}}"}')
    assert Config.fromfile(tmp_path/'c.json').size == (8, 8)


def test_reference_inside_a_string(tmp_path):
    "Beyond mmcv (which leaves a random placeholder there): the value's text is put inside the string."
    (tmp_path/'b.py').write_text("name = 'psp'\n")
    (tmp_path/'c.py').write_text("_base_ = 'b.py'\nwork_dir = './work_dirs/{{ _base_.name }}_voc'\n")
    assert Config.fromfile(tmp_path/'c.py').work_dir == './work_dirs/psp_voc'


def test_use_predefined_variables_false_keeps_the_text():
    assert Config.fromfile(HERE/'base.py', use_predefined_variables=False).work_dir == \
        './work_dirs/{{ fileBasenameNoExtension }}'


def test_text_lists_every_file_bases_first():
    text = Config.fromfile(HERE/'deep/leaf.py').text
    heads = [l for l in text.splitlines() if l.startswith(str(HERE))]
    assert [Path(h).relative_to(HERE).as_posix() for h in heads] == [
        'base.py', 'schedule.yaml', 'child.py', 'child.json', 'deep/grandchild.yaml', 'deep/leaf.py']


def test_dump_round_trips(tmp_path):
    leaf = Config.fromfile(HERE/'deep/leaf.py')
    for ext in ('.py', '.yaml'):
        leaf.dump(tmp_path/f'out{ext}')
        assert Config.fromfile(tmp_path/f'out{ext}').to_dict() == leaf.to_dict()
    assert Config.fromstring(leaf.pretty_text, '.py').to_dict() == leaf.to_dict()


MMCV_SIDE = '''
import pickle, sys, types, warnings
sys.modules.setdefault('mmcv._ext', types.ModuleType('mmcv._ext')); warnings.filterwarnings('ignore')
from mmcv import Config, DictAction
here, files, overrides, merges, out = sys.argv[1], sys.argv[2].split(','), sys.argv[3].split('|'), sys.argv[4], sys.argv[5]
cfgs = {f: (Config.fromfile(here + '/' + f)._cfg_dict.to_dict(), Config.fromfile(here + '/' + f).text) for f in files}
parsed = {o: DictAction._parse_iterable(o.split('=', 1)[1]) for o in overrides}
leaf = Config.fromfile(here + '/deep/leaf.py'); leaf.merge_from_dict(pickle.loads(bytes.fromhex(merges)))
pickle.dump(dict(cfgs=cfgs, parsed=parsed, merged=leaf._cfg_dict.to_dict()), open(out, 'wb'))
'''


@pytest.mark.skipif(not VENV, reason='set SEGNB_MMSEG_VENV to a venv with mmcv 1.7.2')
def test_same_as_mmcv(tmp_path):
    out = tmp_path/'mmcv.pkl'
    r = subprocess.run([f'{VENV}/bin/python', '-c', MMCV_SIDE, str(HERE), ','.join(FILES), '|'.join(OVERRIDES),
                        pickle.dumps(MERGES).hex(), str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    ref = pickle.loads(out.read_bytes())
    for f in FILES:
        cfg = Config.fromfile(HERE/f)
        assert repr(cfg.to_dict()) == repr(ref['cfgs'][f][0]), f     # values, types and key order
        assert cfg.text == ref['cfgs'][f][1], f
    for o in OVERRIDES: assert repr(DictAction._parse_iterable(o.split('=', 1)[1])) == repr(ref['parsed'][o]), o
    leaf = Config.fromfile(HERE/'deep/leaf.py')
    leaf.merge_from_dict(MERGES)
    assert repr(leaf.to_dict()) == repr(ref['merged'])


def _heads(model):
    "Every head config of a model config: decode heads (a cascade's list too) and auxiliary heads."
    heads = []
    for key in ('decode_head', 'auxiliary_head'):
        h = model.get(key)
        heads += list(h) if isinstance(h, (list, tuple)) else [h] if h else []
    return [part for h in heads for part in _iterative_parts(h)]

def _iterative_parts(head):
    "K-Net's IterativeDecodeHead holds its classes in the heads it iterates: the kernel-generating head and each update head."
    if head.type != 'IterativeDecodeHead': return [head]
    return [head.kernel_generate_head, *head.kernel_update_head]


def test_every_shipped_config_loads():
    """The configs in segnb/configs load without mmseg around, find_config finds each by name, and every head has as
    many classes as the training set's dataset class names."""
    from segnb.config_tools import find_config, list_configs
    from segnb.registry import DATASETS
    import segnb.data  # noqa: F401 (registers the datasets)
    names = [p for p in list_configs() if not p.startswith('shapes/')]
    assert len(names) >= 40
    for rel in names:
        cfg = Config.fromfile(find_config(Path(rel).stem))
        assert cfg.model.type in ('EncoderDecoder', 'CascadeEncoderDecoder'), rel
        assert cfg.get('runner', {}).get('type', 'IterBasedRunner') == 'IterBasedRunner' or 'total_iters' in cfg, rel
        train = cfg.data.train
        while 'type' not in train or train.type == 'RepeatDataset': train = train.dataset   # wrappers hold the dataset
        want = len(DATASETS.get(train.type).CLASSES)
        assert {h.num_classes for h in _heads(cfg.model) if h.type != 'STDCHead'} == {want}, rel   # STDC's detail head: 2 (edge or not)
        if rel.split('/')[0] in ('deeplabv3', 'deeplabv3plus', 'fcn', 'pspnet', 'upernet'):
            assert cfg.model.backbone.depth == (18 if '_r18' in rel else 101 if '_r101' in rel else 50), rel


def test_deprecation_key_warns(tmp_path):
    "mmcv's `_deprecation_` key is popped and becomes a DeprecationWarning naming the successor."
    (tmp_path/'old.py').write_text("_deprecation_ = dict(expected='new.py', reference='https://x')\na = 1\n")
    with pytest.warns(DeprecationWarning, match='Please use new.py instead. More information can be found at https://x'):
        cfg = Config.fromfile(tmp_path/'old.py')
    assert cfg.to_dict() == dict(a=1)
