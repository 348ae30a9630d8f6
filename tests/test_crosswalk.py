"""The crosswalk lesson (issue 11, item 6): its tables name only what segnb defines, and they cover mmseg 0.30's and
mmcv 1.7's source trees file by file (the coverage tests read the reference venv; they skip without it)."""
from pathlib import Path
import pytest
from mmseg_venv import needs_mmseg, VENV
from segnb import crosswalk as cw

def test_every_name_in_the_tables_exists():
    tables = cw.all_rows()
    assert {k: len(v) for k, v in tables.items()}['tools/train.py'] >= 20
    for rs in tables.values():
        for r in rs: assert r.target == '-' or r.notebook, r      # every segnb name has its notebook

def test_check_fails_on_a_missing_name():
    with pytest.raises(ValueError, match=r'1 crosswalk rows name what segnb does not define: x.py: segnb.cli.no_such_flag'):
        cw.check(cw.rows('x.py | segnb.cli.no_such_flag |'))
    with pytest.raises(ValueError, match='segnb.apis.gone'):
        cw.check(cw.rows('x.py | - | replaced by segnb.apis.gone.'))

def test_defines_reads_modules_functions_methods_and_constants():
    assert cw.defines('segnb.registry.MODELS') and cw.defines('segnb.cli.TRAIN_FLAGS')
    assert cw.defines('segnb.runner.runner.IterBasedRunner.register_training_hooks') and cw.defines('segnb.models')
    assert not cw.defines('segnb.registry.MODELZ') and not cw.defines('segnb.models.backbones.resnet.ResNet.nope')

def test_pending_and_same_place_rows_resolve_when_the_module_exists():
    r = cw.rows('a.py | ?segnb.models.backbones.resnet.ResNetV1c |\nb.py | ?segnb.nowhere.X |', ['models/backbones/resnet.py', 'models/backbones/zzz.py'])
    assert [x.target for x in r] == ['segnb.models.backbones.resnet.ResNetV1c', '-', 'segnb.models.backbones.resnet', '-']
    assert r[0].notebook.endswith('models.backbones.resnet.ipynb')

def _tree(pkg):
    root = Path(VENV, 'lib', 'python3.11', 'site-packages', pkg)
    return sorted(str(p.relative_to(root)) for p in root.rglob('*.py') if p.name != '__init__.py' and '.mim' not in p.parts)

@needs_mmseg
def test_mmseg_tree_listed_file_by_file():
    listed = [r.source for r in cw.all_rows()['mmseg']]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == _tree('mmseg')

@needs_mmseg
def test_mmcv_tree_covered():
    listed = [r.source for r in cw.all_rows()['mmcv']]
    files = _tree('mmcv')
    uncovered = [f for f in files if f not in listed and not any(s.endswith('/') and f.startswith(s) for s in listed)]
    assert not uncovered, uncovered
    assert all(s in files or any(f.startswith(s) for f in files) for s in listed)   # no row names a file mmcv lacks
