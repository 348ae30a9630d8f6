"""Malformed configs and overrides (tests/config_corpus) give errors that name the file and key and say what to do.

Each case pins the exception type and the message text. A failed load must leave nothing behind on disk: mmcv
1.x writes temporary copies of config files, segnb compiles them in memory.
"""
import argparse, hashlib, json, sys, tempfile, warnings
from pathlib import Path
import pytest
from segnb.config import Config, ConfigKeyError, DictAction
from segnb.registry import Registry, build_from_cfg

CORPUS = Path(__file__).parent/'config_corpus'

# file -> (exception type, pieces of the message, beyond the file's path which every message must contain)
CASES = {
    'syntax_error.py': (SyntaxError, ["line 1: '(' was never closed", 'a missing comma, quote or bracket']),
    'missing_base.py': (FileNotFoundError, ['bases/no_such_model.py (a _base_ of', 'missing_base.py) does not exist',
                                            'relative to the file that names it']),
    'self_include.py': (RecursionError, ['includes itself through _base_', 'self_include.py -> ']),
    'cycle_a.py': (RecursionError, ['cycle_a.py -> ', 'cycle_b.py -> ', 'includes itself', 'remove one _base_ entry']),
    'duplicate_keys.py': (KeyError, ["key 'model' is set by two of its _base_ files", 'bases/model.py and ',
                                     'bases/model_copy.py', 'remove it from one of the two files']),
    'dict_over_tuple.py': (TypeError, ['crop_size is a dict here (keys: height, width) but tuple (64, 64) in the base',
                                       'Set _delete_=True in this dict']),
    'dict_over_int.py': (TypeError, ['model.backbone.depth is a dict here (keys: value) but int 18',
                                     'Set _delete_=True', 'give a value of type int']),
    'delete_nothing.py': (KeyError, ['optimizer sets _delete_=True but no base config has optimizer',
                                     'Remove _delete_=True, or check the key name']),
    'delete_not_bool.py': (ValueError, ["model.backbone._delete_ must be True or False, got 'yes'"]),
    'delete_top_level.py': (KeyError, ['a top-level _delete_ deletes nothing', 'model = dict(_delete_=True, type=...)']),
    'base_not_a_path.py': (TypeError, ['_base_ must be a file name or a list of file names, got 3']),
    'undefined_name.py': (RuntimeError, ["NameError: name 'norm_cfg' is not defined",
                                         'use {{ _base_.norm_cfg }}']),
    'bad_base_ref.py': (KeyError, ['{{ _base_.model.neck }}', "'model.neck' not found: 'neck' is not in model (its keys are: type, backbone, "
                                   "decode_head)"]),
    'ref_without_base.py': (KeyError, ['uses {{ _base_.crop_size }} but has no _base_', 'or write the value itself']),
    'classes_water.py': (ValueError, ["data.train.classes='water' is a str", "write classes=('water',)",
                                      'trailing comma']),
    'reserved_key.py': (KeyError, ["'filename' is reserved for config file", 'rename that key']),
    'custom_imports_missing.py': (ImportError, ["custom_imports could not import 'segnb_no_such_module.models'",
                                                'allow_failed_imports=True', 'import_custom_modules=False']),
    'tab.yaml': (ValueError, ['invalid YAML in config file', 'YAML does not allow tabs for indentation']),
    'trailing_comma.json': (ValueError, ['invalid JSON in config file', 'line 1 column 37', 'no trailing commas']),
    'list_top.yaml': (TypeError, ['must hold a mapping of keys to values, got a list', '`key: value` entries']),
    'config.toml': (OSError, ['has an unsupported extension; use one of .py, .json, .yaml, .yml']),
    'base_is_directory.py': (IsADirectoryError, ['bases (a _base_ of ', 'base_is_directory.py) is a directory; name a '
                                                 'config file instead (it holds data.py, model.py, model_copy.py)']),
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_bad_config_message(name):
    exc, pieces = CASES[name]
    with pytest.raises(exc) as info: Config.fromfile(CORPUS/name)
    msg = str(info.value)
    assert name in msg
    for piece in pieces: assert piece in msg, f'{piece!r} not in {msg!r}'


def test_corpus_is_complete():
    "Every file in the corpus has a pinned case (and the corpus is big enough)."
    files = {p.name for p in CORPUS.iterdir() if p.is_file()} - {'README.md', 'bad_overrides.json', 'good.py',
                                                                  'cycle_b.py', 'unknown_type.py'}
    assert files == set(CASES) and len(CASES) + len(json.loads((CORPUS/'bad_overrides.json').read_text())) >= 20


def test_key_errors_print_readably():
    "KeyError subclasses print the message, not its repr with escaped quotes."
    with pytest.raises(ConfigKeyError) as info: Config.fromfile(CORPUS/'duplicate_keys.py')
    assert str(info.value).startswith(str(CORPUS/'duplicate_keys.py'))


def test_custom_imports_escape_hatches():
    cfg = Config.fromfile(CORPUS/'custom_imports_missing.py', import_custom_modules=False)
    assert cfg.model.type == 'segnb_no_such_module.Net'
    cfg.custom_imports.allow_failed_imports = True
    from segnb.config import import_modules_from_strings
    with pytest.warns(UserWarning, match='segnb_no_such_module.models failed to import and is ignored'):
        assert import_modules_from_strings(**cfg.custom_imports) == [None]


def test_unknown_type_is_the_registrys_error():
    "The config loads; building names the registry, the near miss and the missing-import hint."
    cfg = Config.fromfile(CORPUS/'unknown_type.py')
    heads = Registry('models', scope='test')
    for name in ('PSPHead', 'FCNHead', 'ASPPHead'): heads.register_module(name=name, module=type(name, (), {}))
    with pytest.raises(KeyError) as info: build_from_cfg(cfg.model.decode_head, heads)
    msg = str(info.value)
    assert "'PSPHaed' is not in the models registry" in msg and 'Closest registered names: PSPHead' in msg
    assert 'make sure that module is imported' in msg


def parse_overrides(args):
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument('--cfg-options', '--options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *args]).cfg_options


@pytest.mark.parametrize('case', json.loads((CORPUS/'bad_overrides.json').read_text()), ids=lambda c: c['args'][0])
def test_bad_override_message(case):
    "Malformed --cfg-options fail in parsing or in merging, naming the item or the dotted key."
    cfg = Config.fromfile(CORPUS/'good.py')
    before = cfg.to_dict()
    with pytest.raises((argparse.ArgumentError, KeyError, TypeError, ValueError, IndexError)) as info:
        cfg.merge_from_dict(parse_overrides(case['args']), origin='--cfg-options')
    assert case['error'] in str(info.value), str(info.value)
    assert cfg.to_dict() == before                                   # a failed override changes nothing


def test_good_overrides_reach_into_lists():
    cfg = Config.fromfile(CORPUS/'good.py')
    cfg.merge_from_dict(parse_overrides(['data.train.pipeline.2.img_scale=(256,128)', 'model.backbone.depth=50',
                                         "data.train.classes=('water',)"]), origin='--cfg-options')
    assert cfg.data.train.pipeline[2].img_scale == (256, 128) and cfg.data.train.pipeline[2].ratio_range == (0.5, 2.0)
    assert cfg.model.backbone.depth == 50 and cfg.data.train.classes == ('water',)
    assert cfg.source_of('data.train.pipeline.2.img_scale') == '--cfg-options'


def snapshot(folder):
    "{relative path: sha1} of every file under `folder`."
    return {str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob('*')) if p.is_file()}


def test_failed_loads_leave_nothing_on_disk(tmp_path, monkeypatch):
    "No temp files, no __pycache__, no change in the corpus, whatever fails."
    tmp, cwd = tmp_path/'tmp', tmp_path/'cwd'
    tmp.mkdir(); cwd.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp))
    monkeypatch.setenv('TMPDIR', str(tmp))
    monkeypatch.chdir(cwd)
    before = snapshot(CORPUS)
    for name in CASES:
        with pytest.raises(Exception), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            Config.fromfile(CORPUS/name)
    for case in json.loads((CORPUS/'bad_overrides.json').read_text()):
        with pytest.raises(Exception): Config.fromfile(CORPUS/'good.py').merge_from_dict(parse_overrides(case['args']))
    assert snapshot(CORPUS) == before
    assert not any(tmp.iterdir()) and not any(cwd.iterdir())


# ---- build errors read as one line: a chain of classes, no escaped quotes, a suggestion for a misspelled keyword ----

def build_message(**overrides):
    "The message of the error that building the tiny config's model with `overrides` (dotted keys) raises."
    from tiny_data import TINY_CONFIG
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.merge_from_dict(overrides)
    with pytest.raises(Exception) as info: build_segmentor(cfg.model)
    return info.value, str(info.value)


def test_build_error_is_a_chain_without_escapes():
    e, msg = build_message(**{'model.backbone.depth': 17})
    assert isinstance(e, KeyError)
    assert msg == 'EncoderDecoder → ResNetV1c: invalid depth 17; choose one of 18, 34, 50, 101, 152'


def test_misspelled_keyword_suggests_the_closest():
    e, msg = build_message(**{'model.backbone.dpeth': 50})
    assert isinstance(e, TypeError)
    assert msg == "EncoderDecoder → ResNetV1c: unexpected keyword 'dpeth' for ResNetV1c; did you mean 'depth'?"
    _, msg = build_message(**{'model.decode_head.pool_scale': (1, 2)})
    assert msg == "EncoderDecoder → PSPHead: unexpected keyword 'pool_scale' for PSPHead; did you mean 'pool_scales'?"
    _, msg = build_message(**{'model.decode_head.loss_decode.use_sigmod': False})
    assert msg == ("EncoderDecoder → PSPHead → CrossEntropyLoss: unexpected keyword 'use_sigmod' for CrossEntropyLoss; "
                   "did you mean 'use_sigmoid'?")


def test_unknown_type_inside_a_build_has_no_escaped_quotes():
    _, msg = build_message(**{'model.backbone.type': 'ResNetV9'})
    assert msg.startswith("EncoderDecoder: 'ResNetV9' is not in the models registry (scope segnb). Closest registered "
                          "names: ResNet, ")      # the list grows with the zoo
    assert 'ResNetV1c' in msg and 'custom_imports=dict(imports=[...])' in msg
    assert '\\' not in msg and '"' not in msg


def test_directory_as_the_config(tmp_path):
    from segnb.config_tools import find_config
    (tmp_path/'a.py').write_text('x = 1')
    with pytest.raises(IsADirectoryError) as info: find_config(str(tmp_path))
    assert str(info.value) == f"config '{tmp_path}' is a directory; name one config file in it (a.py)"
    with pytest.raises(IsADirectoryError) as info: Config.fromfile(tmp_path)
    assert str(info.value) == f'config file {tmp_path} is a directory; name a config file instead (it holds a.py)'


def test_cli_prints_the_chain_in_one_line(tmp_path):
    "`segnb train` prints the build error as `segnb train: error: EncoderDecoder → ResNetV1c: ...`, no traceback."
    import subprocess
    from tiny_data import TINY_CONFIG, segnb_env
    r = subprocess.run([sys.executable, '-m', 'segnb', 'train', TINY_CONFIG, '--work-dir', str(tmp_path/'w'),
                        '--cfg-options', 'model.backbone.depth=17'], env=segnb_env(), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1 and 'Traceback' not in r.stderr
    assert r.stderr.splitlines()[-1] == ('segnb train: error: EncoderDecoder → ResNetV1c: invalid depth 17; '
                                         'choose one of 18, 34, 50, 101, 152')
