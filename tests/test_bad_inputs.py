"""The bad-input catalogue: every row of docs/bad_inputs.md is a case here, and each case checks the exact message.

`python tests/test_bad_inputs.py` rewrites the table from the cases; `test_doc_matches_the_cases` fails when the
doc and the cases drift apart. Paths in messages are written `<tmp>` (the test's temporary folder) and `<repo>`."""
import argparse, contextlib, errno, io, json, os, sys
from pathlib import Path
import numpy as np, pytest, torch
from PIL import Image

TESTS = Path(__file__).parent
REPO, DOC, CORPUS = TESTS.parent, TESTS.parent/'docs'/'bad_inputs.md', TESTS/'config_corpus'
sys.path.insert(0, str(TESTS))
from tiny_data import make_tiny_dataset, TINY_CONFIG
from data_trees import make_voc

CASES = []   # (area, bad input, function(tmp) -> message)

def case(area, what):
    def register(fn): CASES.append((area, what, fn)); return fn
    return register

def message_of(fn, *args, **kwargs):
    "The one-line message of the exception `fn(*args, **kwargs)` raises (it must raise)."
    from segnb.registry import error_text
    try: fn(*args, **kwargs)
    except Exception as e: return error_text(e)
    raise AssertionError(f'{fn} did not fail')

# ---- configs: tests/config_corpus, one row per file --------------------------------------------------------------
from segnb.config import Config
CORPUS_FILES = {
    'syntax_error.py': 'a Python syntax error', 'missing_base.py': 'a `_base_` that does not exist',
    'base_is_directory.py': 'a `_base_` that is a directory', 'self_include.py': 'a config that includes itself',
    'cycle_a.py': 'two configs that include each other', 'duplicate_keys.py': 'the same key in two `_base_` files',
    'dict_over_tuple.py': 'a dict over a tuple of the base', 'dict_over_int.py': 'a dict over an int of the base',
    'delete_nothing.py': '`_delete_=True` on a key no base has', 'delete_not_bool.py': "`_delete_='yes'`",
    'delete_top_level.py': 'a top-level `_delete_`', 'base_not_a_path.py': '`_base_ = 3`',
    'undefined_name.py': 'a name defined only in a `_base_` file', 'bad_base_ref.py': '`{{ _base_.model.neck }}` that is not there',
    'ref_without_base.py': '`{{ _base_.x }}` without `_base_`', 'classes_water.py': "`classes='water'` (no trailing comma)",
    'reserved_key.py': 'a reserved key (`filename`)', 'custom_imports_missing.py': '`custom_imports` of a missing module',
    'tab.yaml': 'YAML indented with tabs', 'trailing_comma.json': 'JSON with a trailing comma',
    'list_top.yaml': 'YAML whose top level is a list', 'config.toml': 'a `.toml` config'}
for _name, _what in CORPUS_FILES.items():
    case('config', f'{_what} (`config_corpus/{_name}`)')(lambda tmp, n=_name: message_of(Config.fromfile, CORPUS/n))

@case('config', 'a config file that is a directory')
def _(tmp): (tmp/'cfgs').mkdir(); (tmp/'cfgs'/'a.py').write_text('x = 1'); return message_of(Config.fromfile, tmp/'cfgs')

@case('config', 'a misspelled key read from a config (`cfg.modle`)')
def _(tmp): return message_of(lambda: Config.fromfile(CORPUS/'good.py').modle)

# ---- --cfg-options: tests/config_corpus/bad_overrides.json, one row per item ----------------------------------------
def override_message(args):
    from segnb.config import DictAction
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return message_of(lambda: Config.fromfile(CORPUS/'good.py').merge_from_dict(
        parser.parse_args(['--cfg-options', *args]).cfg_options, origin='--cfg-options'))

for _item in json.loads((CORPUS/'bad_overrides.json').read_text()):
    case('--cfg-options', f'`{_item["args"][0]}`')(lambda tmp, a=_item['args']: override_message(a))

# ---- building the model from the config --------------------------------------------------------------------------
def build_message(**overrides):
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    cfg = Config.fromfile(TINY_CONFIG); cfg.merge_from_dict(overrides)
    return message_of(build_segmentor, cfg.model)

for _key, _value, _what in [
        ('model.backbone.depth', 17, '`model.backbone.depth=17`'),
        ('model.backbone.dpeth', 50, '`model.backbone.dpeth=50` (misspelled keyword)'),
        ('model.backbone.type', 'ResNetV9', '`model.backbone.type=ResNetV9` (unknown type)'),
        ('model.decode_head.pool_scale', (1, 2), '`model.decode_head.pool_scale` (misspelled keyword)'),
        ('model.decode_head.loss_decode.use_sigmod', False, 'a misspelled loss keyword'),
        ('model.backbone.out_indices', (4,), '`model.backbone.out_indices=(4,)`')]:
    case('model', _what)(lambda tmp, k=_key, v=_value: build_message(**{k: v}))

# ---- checkpoints ---------------------------------------------------------------------------------------------------
def tiny_model(**overrides):
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    cfg = Config.fromfile(TINY_CONFIG); cfg.merge_from_dict(overrides)
    return build_segmentor(cfg.model)

def load_message(path, **kwargs):
    from segnb.checkpoint import load_checkpoint
    return message_of(load_checkpoint, tiny_model(), str(path), **kwargs)

def saved(tmp, name='ckpt.pth', **overrides):
    from segnb.checkpoint import save_checkpoint
    save_checkpoint(tiny_model(**overrides), str(tmp/name), meta=dict(iter=4, epoch=1))
    return tmp/name

@case('checkpoint', 'a checkpoint of another model, loaded strictly (`num_classes` 5 vs 3)')
def _(tmp): return load_message(saved(tmp, **{'model.decode_head.num_classes': 5}), strict=True)

@case('checkpoint', 'a checkpoint of another backbone (ResNet-50 keys into ResNet-18), loaded strictly')
def _(tmp): return load_message(saved(tmp, **{'model.backbone.depth': 34}), strict=True)

@case('checkpoint', 'a truncated checkpoint (half of the file)')
def _(tmp):
    path = saved(tmp); data = path.read_bytes(); path.write_bytes(data[:len(data) // 2])
    return load_message(path)

@case('checkpoint', 'an empty checkpoint file')
def _(tmp): (tmp/'empty.pth').write_bytes(b''); return load_message(tmp/'empty.pth')

@case('checkpoint', 'a text file given as a checkpoint')
def _(tmp): (tmp/'notes.pth').write_text('not a checkpoint'); return load_message(tmp/'notes.pth')

class Payload:
    "An arbitrary class: `torch.load(weights_only=True)` refuses to unpickle it."
    def __reduce__(self): return (print, ('unpickled!',))

@case('checkpoint', 'a pickle that `weights_only=True` refuses (it would call `print`)')
def _(tmp): torch.save({'state_dict': {}, 'meta': Payload()}, tmp/'evil.pth'); return load_message(tmp/'evil.pth')

@case('checkpoint', 'a checkpoint that holds a list, not a dict')
def _(tmp): torch.save([torch.zeros(1)], tmp/'list.pth'); return load_message(tmp/'list.pth')

@case('checkpoint', 'a checkpoint path that does not exist')
def _(tmp): return load_message(tmp/'nope.pth')

@case('checkpoint', "`prefix='neck.'` that no key of the checkpoint has")
def _(tmp): return load_message(saved(tmp), prefix='neck.')

@case('checkpoint', 'an unknown `open-mmlab://` checkpoint name')
def _(tmp): return load_message('open-mmlab://resnet18_v1x')

# ---- datasets and masks (the tiny dataset of tests/tiny_data.py, 32x32) ---------------------------------------------
def tiny_split(tmp, **over):
    root = make_tiny_dataset(tmp/'tiny', n_train=2, n_val=1)
    cfg = Config.fromfile(TINY_CONFIG).data.train
    cfg.update(data_root=root, **over)
    return Path(root), cfg

def sample_message(cfg, i=0):
    from segnb.data.loader import build_dataset
    return message_of(lambda: build_dataset(cfg)[i])

@case('data', 'a mask saved as RGB (colours, not class indices)')
def _(tmp):
    root, cfg = tiny_split(tmp)
    Image.open(root/'ann_dir/train/000.png').convert('RGB').save(root/'ann_dir/train/000.png')
    return sample_message(cfg)

@case('data', 'a VOC mask saved as RGB')
def _(tmp):
    from segnb.data.loader import build_dataset
    voc = Path(make_voc(tmp/'voc'))
    png = voc/'SegmentationClass'/'2007_000032.png'
    Image.open(png).convert('RGB').save(png)
    cfg = dict(type='PascalVOCDataset', data_root=str(voc), img_dir='JPEGImages', ann_dir='SegmentationClass',
               split='ImageSets/Segmentation/train.txt', pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')])
    ds = build_dataset(cfg)
    return message_of(lambda: ds[0])

@case('data', 'a mask of another size than its image (16x16 for 32x32)')
def _(tmp):
    root, cfg = tiny_split(tmp)
    m = Image.open(root/'ann_dir/train/000.png'); m.resize((16, 16), Image.NEAREST).save(root/'ann_dir/train/000.png')
    return sample_message(cfg)

@case('data', 'an image that cannot be decoded')
def _(tmp):
    root, cfg = tiny_split(tmp)
    (root/'img_dir/train/000.jpg').write_bytes(b'\xff\xd8 not really a jpeg')
    return sample_message(cfg)

@case('data', 'an image without its mask')
def _(tmp):
    root, cfg = tiny_split(tmp)
    (root/'ann_dir/train/000.png').unlink()
    return sample_message(cfg)

@case('data', 'an `img_dir` that does not exist')
def _(tmp):
    from segnb.data.loader import build_dataset
    _, cfg = tiny_split(tmp, img_dir='img_dir/trian')
    return message_of(build_dataset, cfg)

@case('data', 'a mask value past the classes (7 with 3 classes), found by `dataset.check(strict=True)`')
def _(tmp):
    root, cfg = tiny_split(tmp)
    m = np.array(Image.open(root/'ann_dir/train/000.png')); m[0, 0] = 7
    im = Image.fromarray(m, mode='P'); im.putpalette([0] * 768); im.save(root/'ann_dir/train/000.png')
    from segnb.data.loader import build_dataset
    from segnb.data.checks import check_dataset
    return message_of(check_dataset, build_dataset(cfg), strict=True, verbose=False)

@case('data', "`classes` and `palette` of different lengths")
def _(tmp):
    from segnb.data.loader import build_dataset
    _, cfg = tiny_split(tmp, palette=[[0, 0, 0], [255, 0, 0]])
    return message_of(build_dataset, cfg)

@case('data', '`num_classes` (5) that disagrees with the dataset\'s 3 classes')
def _(tmp):
    from segnb.cli import check_num_classes
    from segnb.data.loader import build_dataset
    _, cfg = tiny_split(tmp)
    return message_of(check_num_classes, tiny_model(**{'model.decode_head.num_classes': 5}), build_dataset(cfg))

# ---- the command line ------------------------------------------------------------------------------------------------
def cli_message(*argv):
    "The last line `segnb ARGV` writes to stderr (in this process), and its exit status must be an error."
    import logging
    from segnb.cli import main
    err, logger = io.StringIO(), logging.getLogger('segnb')
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    with contextlib.redirect_stderr(err):
        try: status = main(list(map(str, argv)))
        except SystemExit as e: status = e.code
        finally:                               # leave the logger as it was (train adds handlers)
            for h in set(logger.handlers) - set(handlers): h.close(); logger.removeHandler(h)
            logger.setLevel(level); logger.propagate = propagate
    assert status not in (0, None), err.getvalue()
    return err.getvalue().strip().splitlines()[-1]

def tiny_options(tmp):
    return ['--cfg-options', *[f'data.{s}.data_root={make_tiny_dataset(tmp/"tiny", n_train=2, n_val=1)}'
                               for s in ('train', 'val', 'test')]]

@case('cli', '`segnb train` of an unknown config name')
def _(tmp): return cli_message('train', 'pspnet_r50-d8_512x512_20k_voc12aguu')

@case('cli', '`segnb train` of a folder of configs')
def _(tmp): return cli_message('train', 'fcn')

@case('cli', '`segnb frobnicate` (an unknown command)')
def _(tmp): return cli_message('frobnicate')

@case('cli', '`--launcher mpi`')
def _(tmp): return cli_message('train', TINY_CONFIG, '--launcher', 'mpi')

@case('cli', '`--gpus 2` (mmseg 0.x deprecated it)')
def _(tmp): return cli_message('train', TINY_CONFIG, '--gpus', '2')

@case('cli', '`--gpu-ids 0 1` (mmseg 0.x deprecated it)')
def _(tmp): return cli_message('train', TINY_CONFIG, '--gpu-ids', '0', '1')

@case('cli', '`--options a=1 --cfg-options b=2` (both)')
def _(tmp): return cli_message('train', TINY_CONFIG, '--options', 'a=1', '--cfg-options', 'b=2')

@case('cli', '`--seed abc`')
def _(tmp): return cli_message('train', TINY_CONFIG, '--seed', 'abc')

@case('cli', '`--cfg-options lr` (no `=`)')
def _(tmp): return cli_message('train', TINY_CONFIG, '--cfg-options', 'lr')

@case('cli', '`--cfg-options model.backbone.depth=17`')
def _(tmp): return cli_message('train', TINY_CONFIG, '--work-dir', tmp/'w', '--cfg-options', 'model.backbone.depth=17')

@case('cli', '`--work-dir` under a regular file (fails for root too)')
def _(tmp): (tmp/'file').write_text(''); return cli_message('train', TINY_CONFIG, '--work-dir', tmp/'file'/'run')

@case('cli', '`--work-dir` on a read-only file system (`/proc`, read-only for root too)')
def _(tmp): return cli_message('train', TINY_CONFIG, '--work-dir', '/proc/segnb_run')

@case('cli', '`segnb test` without `--out`, `--eval`, `--show` or `--show-dir`')
def _(tmp): return cli_message('test', TINY_CONFIG, tmp/'x.pth')

@case('cli', '`segnb test --out results.txt`')
def _(tmp): return cli_message('test', TINY_CONFIG, tmp/'x.pth', '--out', tmp/'results.txt')

@case('cli', '`segnb test` of a checkpoint that does not exist')
def _(tmp): return cli_message('test', TINY_CONFIG, tmp/'nope.pth', '--eval', 'mIoU', *tiny_options(tmp))

@case('cli', '`segnb test` of a truncated checkpoint')
def _(tmp):
    path = saved(tmp); data = path.read_bytes(); path.write_bytes(data[:len(data) // 3])
    return cli_message('test', TINY_CONFIG, path, '--eval', 'mIoU', *tiny_options(tmp))

def train_args(tmp, *extra):
    return ['train', TINY_CONFIG, '--work-dir', tmp/'run', '--no-validate', *extra, *tiny_options(tmp),
            'runner.max_iters=1']

@case('cli', '`--resume-from` a weights-only file (`segnb publish` output, no iteration)')
def _(tmp):
    from segnb.checkpoint import save_checkpoint
    save_checkpoint(tiny_model(), str(tmp/'weights.pth'))
    return cli_message(*train_args(tmp, '--resume-from', tmp/'weights.pth'))

@case('cli', '`--resume-from` a file that does not exist')
def _(tmp): return cli_message(*train_args(tmp, '--resume-from', tmp/'nope.pth'))

@case('cli', '`--load-from` a file that does not exist')
def _(tmp): return cli_message(*train_args(tmp, '--load-from', tmp/'nope.pth'))

@case('cli', '`--resume-from` a checkpoint of another model (`num_classes` 5)')
def _(tmp):
    from segnb.checkpoint import save_checkpoint
    save_checkpoint(tiny_model(**{'model.decode_head.num_classes': 5}), str(tmp/'other.pth'), meta=dict(iter=1, epoch=0))
    return cli_message(*train_args(tmp, '--resume-from', tmp/'other.pth'))

@case('cli', '`num_classes` that disagrees with the dataset (`model.decode_head.num_classes=5`)')
def _(tmp): return cli_message(*train_args(tmp), 'model.decode_head.num_classes=5')

@case('checkpoint', 'the disk fills up while a checkpoint is written (ENOSPC half-way): `latest.pth` survives')
def _(tmp):
    from unittest import mock
    import segnb.checkpoint as ck
    from segnb.runner.resume import _link_latest
    ck.save_checkpoint(tiny_model(), str(tmp/'iter_1.pth'), meta=dict(iter=1, epoch=0)); _link_latest(str(tmp), 'iter_1.pth')
    def full_disk(obj, f):
        f.write(b'PK\x03\x04 half a checkpoint'); raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    with mock.patch.object(ck.torch, 'save', full_disk):
        msg = message_of(ck.save_checkpoint, tiny_model(), str(tmp/'iter_2.pth'), meta=dict(iter=2, epoch=0))
    assert torch.load(tmp/'latest.pth', weights_only=True)['meta']['iter'] == 1           # the previous one, whole
    assert sorted(os.listdir(tmp)) == ['iter_1.pth', 'latest.pth']                         # no partial file left
    return msg

# ---- the table: docs/bad_inputs.md ---------------------------------------------------------------------------------
HEADER = """# Bad inputs and what segnb says

Each row is a case of `tests/test_bad_inputs.py`, which checks the message word for word (`<tmp>` stands for the
test's temporary folder, `<repo>` for the checkout). Regenerate this file with `python tests/test_bad_inputs.py`
after changing a message; `test_doc_matches_the_cases` fails when the two drift apart.

| # | area | bad input | what segnb says |
|---|---|---|---|
"""

def normalized(msg, tmp):
    return ' '.join(msg.replace(str(tmp), '<tmp>').replace(str(REPO), '<repo>').split()).replace('|', '\\|')

def table(messages):
    return HEADER + ''.join(f'| {i + 1} | {area} | {what} | {msg} |\n' for i, ((area, what, _), msg) in enumerate(zip(CASES, messages)))

def doc_rows():
    "{bad input: message} from the table in docs/bad_inputs.md."
    rows = [l.split(' | ') for l in DOC.read_text().splitlines() if l.startswith('| ') and l[2].isdigit()]
    return {r[2]: ' | '.join(r[3:])[:-2] for r in rows}

@pytest.mark.parametrize('i', range(len(CASES)), ids=[f'{a}: {w}'[:60] for a, w, _ in CASES])
def test_message_is_the_documented_one(i, tmp_path):
    area, what, fn = CASES[i]
    msg = normalized(fn(tmp_path), tmp_path)
    assert msg == doc_rows()[what], f'run python tests/test_bad_inputs.py to update docs/bad_inputs.md'
    assert 'Traceback' not in msg and "\\'" not in msg and '\\"' not in msg      # one line, no escaped quotes

def test_doc_matches_the_cases():
    "The doc lists exactly the cases, in order, and there are at least 60."
    assert list(doc_rows()) == [w for _, w, _ in CASES] and len(CASES) >= 60
    assert DOC.read_text().startswith(HEADER)

if __name__ == '__main__':
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        messages = []
        for i, (_, _, fn) in enumerate(CASES):
            folder = Path(tmp)/f'case{i}'; folder.mkdir()
            messages.append(normalized(fn(folder), folder))
    DOC.write_text(table(messages))
    print(f'wrote {len(CASES)} rows to {DOC}')
