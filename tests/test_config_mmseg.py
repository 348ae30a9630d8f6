"""segnb's Config against mmcv 1.7.2 on the real thing: every leaf config of mmsegmentation 0.30.0.

Needs two things outside the repo, named by environment variables (the tests skip without them):
- SEGNB_MMSEG_CONFIGS: the `configs` folder of the mmsegmentation 0.30.0 wheel (`mmseg/.mim/configs`);
- SEGNB_MMCV_CONFIG_REF: the merged dicts mmcv 1.7.2 gives for them, written by
  `python tests/tools/mmcv_config_reference.py $SEGNB_MMSEG_CONFIGS OUT.pkl` run in a venv that has mmcv 1.7.2;
  or, instead, SEGNB_MMSEG_VENV: that venv, and the reference is written into a temporary folder first (~1 min).
"""
import os, pickle, subprocess
from pathlib import Path
import pytest
from segnb.config import Config
from segnb.config_tools import configs_dir, list_configs, PROVIDED_BY_SEGNB

ROOT = os.environ.get('SEGNB_MMSEG_CONFIGS')
REF = os.environ.get('SEGNB_MMCV_CONFIG_REF')
VENV = os.environ.get('SEGNB_MMSEG_VENV')
needs_configs = pytest.mark.skipif(not ROOT, reason='set SEGNB_MMSEG_CONFIGS to the mmseg 0.30.0 configs folder')
needs_ref = pytest.mark.skipif(not (ROOT and (REF or VENV)),
                               reason='set SEGNB_MMSEG_CONFIGS, and SEGNB_MMCV_CONFIG_REF or SEGNB_MMSEG_VENV')


@pytest.fixture(scope='module')
def ref(tmp_path_factory):
    "mmcv's merged dicts: the file SEGNB_MMCV_CONFIG_REF names, or one written now with SEGNB_MMSEG_VENV's python."
    path = REF
    if not path:
        path = tmp_path_factory.mktemp('mmcv')/'ref.pkl'
        tool = Path(__file__).parent/'tools'/'mmcv_config_reference.py'
        subprocess.run([f'{VENV}/bin/python', str(tool), ROOT, str(path)], check=True, capture_output=True)
    with open(path, 'rb') as f: return pickle.load(f)


def load_segnb(path):
    "('ok', cfg): every mmseg config loads with its custom_imports (segnb provides `mmcls.models` itself)."
    return 'ok', Config.fromfile(path)


def same_kind(kind, want_kind, cfg):
    """segnb's kind equals mmcv's, except where mmcv could not import `mmcls.models` (mmcls missing, or its mmcv ops)
    and segnb, which provides it, loaded the config: the merged dicts are compared all the same."""
    provided = set(PROVIDED_BY_SEGNB)
    imports = cfg.get('custom_imports', {}).get('imports', [])
    imports = {imports} if isinstance(imports, str) else set(imports)
    return kind == want_kind or ((kind, want_kind) == ("ok", "no_custom_imports") and bool(imports) and imports <= provided)


def first_difference(a, b, path=''):
    "The first dotted path where `a` and `b` differ in value, type or key order (None if identical)."
    if type(a) is not type(b): return f'{path}: {type(a).__name__} {a!r} vs {type(b).__name__} {b!r}'
    if isinstance(a, dict):
        if list(a) != list(b): return f'{path}: keys {list(a)} vs {list(b)}'
        return next((d for k in a if (d := first_difference(a[k], b[k], f'{path}.{k}'))), None)
    if isinstance(a, (list, tuple)):
        if len(a) != len(b): return f'{path}: length {len(a)} vs {len(b)}'
        return next((d for i, (x, y) in enumerate(zip(a, b)) if (d := first_difference(x, y, f'{path}.{i}'))), None)
    return None if a == b else f'{path}: {a!r} vs {b!r}'


@needs_configs
def test_leaf_count():
    "mmsegmentation 0.30.0 has 644 leaf configs (the .py files outside _base_)."
    assert len(list_configs(ROOT)) == 644


@needs_ref
def test_every_mmseg_config_gives_mmcvs_merged_dict(ref):
    leaves = list_configs(ROOT)
    assert sorted(ref) == leaves
    bad, kinds = [], {}
    for rel in leaves:
        kind, cfg = load_segnb(Path(ROOT)/rel)
        got = cfg.to_dict()
        kinds[kind] = kinds.get(kind, 0) + 1
        want_kind, want, want_text = ref[rel]
        diff = f'{kind} vs {want_kind}' if not same_kind(kind, want_kind, got) else first_difference(got, want)
        if diff: bad.append(f'{rel}: {diff}')
        elif cfg.text != want_text: bad.append(f'{rel}: Config.text differs from the one mmcv gives')
        elif (diff := first_difference(Config.fromstring(Config(got).pretty_text, '.py').to_dict(), got)):
            bad.append(f'{rel}: pretty_text does not load back equal: {diff}')
    assert not bad, f'{len(bad)} configs differ from mmcv 1.7.2, first ones:\n' + '\n'.join(bad[:10])
    assert kinds == {'ok': 644}     # the 11 convnext/poolformer configs too: their `mmcls.models` is segnb's


@needs_ref
def test_shipped_configs_match_mmseg(ref):
    "segnb's own configs (written by us) merge to exactly what mmcv gives for mmseg's file of the same name."
    mine = [p for p in list_configs(configs_dir()) if p in ref]   # configs of our own (Shapes) have no counterpart
    assert {'pspnet/pspnet_r50-d8_512x512_20k_voc12aug.py', 'fcn/fcn_r50-d8_512x512_20k_voc12aug.py'} <= set(mine)
    assert len(mine) >= 40
    for rel in mine:
        assert ref[rel][0] == 'ok' or rel.startswith(('convnext/', 'poolformer/')), rel   # mmcv: mmcls may not import
        assert first_difference(Config.fromfile(configs_dir()/rel).to_dict(), ref[rel][1]) is None, rel


@needs_configs
def test_shipped_bases_match_mmseg_bases():
    "Each `_base_` file segnb ships loads to the same dict as mmseg's file of the same name."
    base = configs_dir()/'_base_'
    files = [p for p in base.rglob('*.py') if (Path(ROOT)/'_base_'/p.relative_to(base)).is_file()]
    assert len(files) >= 11
    for p in files:
        theirs = Path(ROOT)/'_base_'/p.relative_to(base)
        got, want = Config.fromfile(p).to_dict(), Config.fromfile(theirs).to_dict()
        assert first_difference(got, want) is None, (p, first_difference(got, want))
