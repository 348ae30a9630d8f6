"The course reads in dependency order (issue 11): no notebook uses a module a later notebook exports."
import importlib.util, json, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location('renumber', ROOT/'tools'/'renumber.py')
renumber = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(renumber)

def test_no_forward_references():
    """nbdev sorts notebooks by filename; a reader reads them in that order. Exempt: the opening tour
    (`renumber.TOURS`): it exports nothing and, like fastai's first lesson, trains the whole model before the
    course opens it up, so it necessarily uses everything. A fastai reader expects lesson 1 to be the first file,
    so the tour is numbered first rather than only linked from index.ipynb. Fix: `python tools/renumber.py`."""
    bad = renumber.forward_references()
    assert not bad, 'notebooks that use a module a later notebook exports:\n' + '\n'.join(
        f'  {user} uses {mod} ({exporter})' for user, mod, exporter in bad)

def test_names_are_the_plan():
    "The notebooks carry the names `tools/renumber.py` proposes: no cycle, nothing left to rename."
    graph, paths, names = renumber.plan()
    _, cycles, _ = renumber.proposed_order(graph, paths)
    assert cycles == []
    assert {s: p.name for s, p in paths.items() if p.name != names[s]} == {}

def _course_links(text, prefix):
    "Notebook names linked in the course section of README/index, in the order they appear (first mention)."
    import re
    section = text[text.index('## Reading it as a course'):text.index('In your own notebooks')]
    seen = []
    for name in re.findall(r'\]\(' + re.escape(prefix) + r'(\d\d[a-z]?_[\w.]+)\.ipynb\)', section):
        if name not in seen: seen.append(name)
    return seen

def test_readme_and_index_list_every_lesson_in_order():
    """README and index.ipynb name the two tracks and link every notebook outside the zoo (80-89), the core in
    filename order; README is written by hand and must say what index.ipynb says."""
    readme = (ROOT/'README.md').read_text()
    index = ''.join(json.loads((ROOT/'nbs'/'index.ipynb').read_text())['cells'][1]['source'])
    lessons = [p.stem for p in renumber.numbered_notebooks() if not 80 <= int(p.name[:2]) <= 89]
    for text, prefix in ((readme, 'nbs/'), (index, '')):
        assert '**The core course**' in text and '**The appendix**' in text
        linked = _course_links(text, prefix)
        assert sorted(linked) == sorted(lessons), set(linked) ^ set(lessons)
        core = linked[:linked.index('45_cli') + 1]
        assert core == sorted(core), core
    assert readme.replace('](nbs/', '](').replace('](docs/', '](../docs/').replace('](data/', '](../data/').strip().endswith(
        index.strip()), 'README.md and nbs/index.ipynb differ: keep them in step'

def _nb(path, *cells):
    path.write_text(json.dumps({'cells': [{'cell_type': 'code', 'source': c, 'metadata': {}, 'outputs': [],
                                           'execution_count': None} for c in cells],
                                'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}))

def test_forward_reference_found_and_tour_exempt(tmp_path):
    _nb(tmp_path/'00_registry.ipynb', '#| default_exp registry')
    _nb(tmp_path/'01_config.ipynb', '#| default_exp config', 'from segnb.config_tools import x\nimport segnb.registry')
    _nb(tmp_path/'02_config_tools.ipynb', '#| default_exp config_tools')
    _nb(tmp_path/'03_tutorial_shapes.ipynb', 'from segnb.config import Config')
    bad = renumber.forward_references(tmp_path)
    print(bad)
    assert bad == [('01_config.ipynb', 'config_tools', '02_config_tools.ipynb')]
    _nb(tmp_path/'00_tutorial_shapes.ipynb', 'from segnb.config import Config')   # a tour may use anything
    (tmp_path/'03_tutorial_shapes.ipynb').unlink()
    assert renumber.forward_references(tmp_path) == bad

def test_package_names_resolve_to_their_submodule():
    assert renumber._resolve_in_package('data', 'build_dataloader') == 'data.loader'
    assert renumber._resolve_in_package('models', 'build_segmentor') == 'models.segmentors.encoder_decoder'
    assert renumber._resolve_in_package('data', 'shapes') == 'data.shapes'

def test_proposed_order_keeps_tracks_and_pulls_needed_appendix_forward():
    graph = {'tutorial_shapes': {'apis'}, 'registry': set(), 'data.transforms': {'data.warp', 'registry'},
             'data.warp': set(), 'apis': {'data.transforms'}, 'dist': set(), 'all': {'apis', 'dist'}}
    order, cycles, pulled = renumber.proposed_order(graph)
    print(order)
    assert order == ['tutorial_shapes', 'registry', 'data.warp', 'data.transforms', 'apis', 'dist', 'all']
    assert pulled == {'data.warp'} and cycles == []
    names = renumber.new_names(graph, {})
    print(names)
    assert names['tutorial_shapes'] == '00_tutorial_shapes.ipynb' and names['data.warp'] == '20_data.warp.ipynb'
    assert names['dist'] == '60_dist.ipynb' and names['all'] == '99_all.ipynb'

def test_dry_run_on_the_repo_opens_with_the_tour_and_keeps_the_zoo():
    graph, paths, names = renumber.plan()
    print(names)
    assert names['tutorial_shapes'] == '00_tutorial_shapes.ipynb' and names['registry'] == '01_registry.ipynb'
    assert all(names[s] == paths[s].name for s in renumber.zoo(paths)) and names['all'] == '99_all.ipynb'
    core_last = max(names[s] for base, stems in renumber.CORE for s in stems if s in names)
    assert all(names[s] > core_last for s in ('data.sbd', 'cli_tools', 'main') if s in names)

def test_cycles_reported():
    _, cycles, _ = renumber.proposed_order({'vis': {'data.datasets'}, 'data.datasets': {'vis'}})
    assert cycles == [['data.datasets', 'vis', 'data.datasets']]

def test_section_overflow_takes_letters():
    stems = [s for s in renumber.CORE[3][1] if s.startswith('runner.')] + ['dist']   # 10 runner notebooks and a pulled-in one: 30..39, 39a
    graph = {s: set() for s in stems}
    graph['runner.testing'] = {'dist'}
    names = sorted(renumber.new_names(graph, {}).values())
    print(names)
    assert names[-1] == '39a_runner.runner.ipynb' and len(set(names)) == 11

def test_rewrite_text():
    m = {'20_data.datasets': '28_data.datasets', '90_tutorial_shapes': '00_tutorial_shapes'}
    t = "see [datasets](20_data.datasets.ipynb), nbs/90_tutorial_shapes.ipynb; 120_data.datasets stays"
    assert renumber.rewrite_text(t, m) == \
        "see [datasets](28_data.datasets.ipynb), nbs/00_tutorial_shapes.ipynb; 120_data.datasets stays"

def test_apply_on_scratch_repo(tmp_path):
    "`--apply` git-mvs the notebooks (even when a new name is another's old name) and rewrites references."
    g = lambda *a: subprocess.run(['git', *a], cwd=tmp_path, check=True, capture_output=True)
    (tmp_path/'nbs').mkdir()
    _nb(tmp_path/'nbs'/'00_registry.ipynb', '#| default_exp registry')
    _nb(tmp_path/'nbs'/'01_config.ipynb', '#| default_exp config', 'from segnb.config_tools import x')
    _nb(tmp_path/'nbs'/'02_config_tools.ipynb', '#| default_exp config_tools')
    (tmp_path/'README.md').write_text('Start with nbs/01_config.ipynb then 02_config_tools.\n')
    g('init', '-q'); g('add', '.'); g('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'x')
    mapping = renumber.apply(tmp_path)
    print(mapping)
    assert mapping == {'01_config': '02_config', '02_config_tools': '01_config_tools'}
    assert sorted(p.name for p in (tmp_path/'nbs').glob('*.ipynb')) == \
        ['00_registry.ipynb', '01_config_tools.ipynb', '02_config.ipynb']
    assert (tmp_path/'README.md').read_text() == 'Start with nbs/02_config.ipynb then 01_config_tools.\n'
    assert 'R  nbs/01_config.ipynb -> nbs/02_config.ipynb' in g('status', '--short').stdout.decode()
    assert renumber.forward_references(tmp_path/'nbs') == []

# ---------------------------------------------------------------- tools/notebook_outputs.py
_spec2 = importlib.util.spec_from_file_location('notebook_outputs', ROOT/'tools'/'notebook_outputs.py')
nbo = importlib.util.module_from_spec(_spec2); _spec2.loader.exec_module(nbo)
import sys; sys.modules.setdefault('notebook_outputs', nbo)   # its process pool pickles functions by module name

def _cell(src, outputs=()):
    import nbformat
    c = nbformat.v4.new_code_cell(src); c.outputs = [nbformat.from_dict(o) for o in outputs]; return c

def _stream(text, name='stdout'): return dict(output_type='stream', name=name, text=text)

def test_normalize_masks_volatile_parts():
    a = 'Saved in /tmp/abc/x.pth at 2026-12-06 22:01:02,123, <Hook at 0x7f12ab34cd>, took 3.2 s, eta: 0:01:02\n'
    b = 'Saved in /work/q/x.pth at 2025-01-01 00:00:00,999, <Hook at 0x7f99ffee00>, took 11 s, eta: 0:00:09\n'
    print(nbo.normalize(a))
    assert nbo.normalize(a) == nbo.normalize(b)
    assert nbo.normalize('train:  50%|#####     | 2/4 [00:01<00:01]\rtrain: 100%|##########| 4/4') == '<progress>'
    assert nbo.normalize('mIoU 0.85') != nbo.normalize('mIoU 0.89')   # numbers that matter still count
    assert nbo.normalize('Iter [2/10]\tlr: 1.000e-02') == 'Iter [2/10]\tlr: 1.000e-02'   # a ratio is no path
    assert nbo.normalize('tensor(1.5795e-06)') == nbo.normalize('tensor(1.6689e-06)')   # rounding noise
    assert nbo.normalize('lr: 2.000e-04') != nbo.normalize('lr: 3.000e-04')             # values above it count

def test_should_show():
    assert nbo.should_show(_cell('x = 1\nx'))
    assert nbo.should_show(_cell('print(1)')) and nbo.should_show(_cell('fig.show()'))
    assert not nbo.should_show(_cell('x = 1'))
    assert not nbo.should_show(_cell('x;'))
    assert not nbo.should_show(_cell('test_eq(1, 1)'))
    assert not nbo.should_show(_cell('#| export\nx'))
    assert not nbo.should_show(_cell('#| slow\nprint(1)'))

def test_is_example():
    assert nbo.is_example(_cell('x = f(1)\ntest_eq(x, 2)'))              # a check with nothing shown: an example
    assert not nbo.is_example(_cell('%matplotlib inline\nimport os\nIN_TEST = os.environ.get("IN_TEST")'))   # setup
    assert not nbo.is_example(_cell('#| export\ndef f(): pass'))
    assert not nbo.is_example(_cell('#| hide\nx = 1'))
    assert not nbo.is_example(_cell('#| cuda\nprint(1)'))

def test_every_example_cell_stores_an_output():
    """Issue 11: a reader sees what each example checks. Every example cell of every lesson stores an output (print
    before you assert); `notebook_outputs.py check` also fails on one that shows nothing in a fresh run."""
    import nbformat
    silent = [f'{p.name} cell {c.id}: {c.source.strip().splitlines()[0][:60]!r}'
              for p in nbo.select([]) for c in nbformat.read(str(p), as_version=4).cells
              if nbo.is_example(c) and not c.get('outputs')]
    assert not silent, 'example cells that show nothing (print what they check, then refresh):\n' + '\n'.join(silent)

def test_problems_stale_and_missing():
    import nbformat
    stored = nbformat.v4.new_notebook(cells=[_cell('print(1)', [_stream('1\n')]), _cell('print(2)'),
                                             _cell('t()', [_stream('took 1.0 s\n')])])
    fresh = nbformat.v4.new_notebook(cells=[_cell('print(1)', [_stream('2\n')]), _cell('print(2)', [_stream('2\n')]),
                                            _cell('t()', [_stream('took 9.5 s\n')])])
    probs = nbo.problems(stored, fresh)
    print(probs)
    assert len(probs) == 3 and probs[0].startswith('cell 0: stored output differs')
    silent = nbformat.v4.new_notebook(cells=[_cell('test_eq(f(), 1)')])
    assert nbo.problems(silent, silent) == ["cell 0: an example that shows nothing; print what it checks before asserting it ('test_eq(f(), 1)')"]
    assert probs[1].startswith('cell 1: stored output differs') and probs[2].startswith('cell 1: shows nothing')

def test_reader_run_compares_text_with_numbers_masked():
    "The tour is stored from a full training run; its numbers vary by CPU, its words must not."
    import nbformat
    nb = lambda text: nbformat.v4.new_notebook(cells=[_cell('train()', [_stream(text)])])
    assert nbo.problems(nb('mIoU 0.8512 at iter 200'), nb('mIoU 0.8498 at iter 200'), numbers=False) == []
    assert nbo.problems(nb('mIoU 0.8512 at iter 200'), nb('mIoU 0.8498 at iter 200'))            # numbers count elsewhere
    assert nbo.problems(nb('mIoU 0.85'), nb('mAcc 0.85'), numbers=False)                          # words still count
    assert '00_tutorial_shapes.ipynb' in nbo.READER_RUNS

def test_stream_chunks_are_one_text():
    "A kernel splits a cell's stdout into chunks by timing: one chunk or two, the same text."
    one = _cell('f()', [_stream('a\nb\n')])
    two = _cell('f()', [_stream('a\n'), _stream('b\n')])
    import nbformat
    one, two = nbformat.from_dict(one), nbformat.from_dict(two)
    assert nbo.cell_text(one) == nbo.cell_text(two)
    assert nbo.cell_text(_cell('f()', [_stream('a\n'), _stream('b\n', 'stderr')])) != nbo.cell_text(one)

def test_small_outputs_caps_text_and_keeps_png_only():
    import nbformat
    o = [nbformat.from_dict(_stream('\n'.join(map(str, range(500))))),
         nbformat.from_dict(dict(output_type='display_data', metadata={},
                                 data={'application/vnd.jupyter.widget-view+json': {'model_id': 'x'},
                                       'text/plain': 'train: 100%', 'image/svg+xml': '<svg/>'}))]
    s = nbo.small_outputs(o)
    assert len(s[0].text.split('\n')) == nbo.MAX_LINES + 1 and 'lines not stored' in s[0].text
    assert dict(s[1].data) == {'text/plain': 'train: 100%'}

def test_small_outputs_merges_chunks_of_one_stream():
    import nbformat
    chunks = [_stream('a\n'), _stream('b\n'), dict(_stream('warn\n'), name='stderr'), _stream('c\n')]
    s = nbo.small_outputs([nbformat.from_dict(o) for o in chunks])
    print([(o.name, o.text) for o in s])
    assert [(o.name, o.text) for o in s] == [('stdout', 'a\nb\n'), ('stderr', 'warn\n'), ('stdout', 'c\n')]

def test_select_by_regex():
    assert [p.name for p in nbo.select(['^20_'])] == ['20_evaluation.ipynb']
    with pytest.raises(SystemExit, match="no notebook in .* matches 'nope'"): nbo.select(['nope'])

def test_check_fails_on_a_stale_notebook_and_passes_once_refreshed(tmp_path, capsys):
    "End to end, in a real kernel: stale text and a silent display cell fail `check`; `refresh` fixes both; timings never count."
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[
        _cell('print(6 * 7)', [_stream('41\n')]),                                        # stale: the code prints 42 now
        _cell('6 * 7'),                                                                  # shows 42, stores nothing
        _cell("import time\nt = time.time()\nprint(f'took {time.time() - t:.3f} s')", [_stream('took 5.000 s\n')])])
    path = tmp_path/'00_tiny.ipynb'
    nbformat.write(nb, str(path))
    assert nbo.run('check', [path], workers=1) == 1
    out = capsys.readouterr().out
    print(out)
    assert 'FAIL 00_tiny.ipynb' in out and "cell 0: stored output differs" in out and "'[stdout] 42'" in out
    assert 'cell 1: shows nothing' in out and 'cell 2' not in out
    assert nbo.run('refresh', [path], workers=1) == 0
    stored = nbformat.read(str(path), as_version=4)
    assert stored.cells[0].outputs[0].text == '42\n' and stored.cells[1].outputs[0].data['text/plain'] == '42'
    assert nbo.run('check', [path], workers=1) == 0
    assert 'ok   00_tiny.ipynb' in capsys.readouterr().out

TRAIN_IN_A_NOTEBOOK = '''
import sys, tempfile
sys.path.insert(0, {tests!r})
from tiny_data import make_tiny_dataset, TINY_CONFIG
from segnb.apis import load_config, train_segmentor, set_random_seed
from segnb.models import build_segmentor
from segnb.data import build_dataset
root = make_tiny_dataset(tempfile.mkdtemp())
cfg = load_config(TINY_CONFIG, dict(runner=dict(type='IterBasedRunner', max_iters=2), checkpoint_config=None,
                                    work_dir=None))
for s in ('train', 'val', 'test'): cfg.data[s].data_root = root
set_random_seed(0)
runner = train_segmentor(build_segmentor(cfg.model), build_dataset(cfg.data.train), cfg)
'''

def test_training_in_a_notebook_logs_to_stdout_with_a_progress_bar():
    "In a Jupyter kernel the training log is stdout (no red stderr box) and a tqdm.auto widget shows progress."
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[_cell(TRAIN_IN_A_NOTEBOOK.format(tests=str(ROOT/'tests')))])
    from nbclient import NotebookClient
    import os
    env_before = os.environ.get('PYTHONPATH')
    os.environ['PYTHONPATH'] = os.pathsep.join([str(ROOT), env_before or ''])
    try: NotebookClient(nb, timeout=300, kernel_name='python3').execute()
    finally:
        if env_before is None: os.environ.pop('PYTHONPATH')
        else: os.environ['PYTHONPATH'] = env_before
    outs = nb.cells[0].outputs
    streams = {o.name: o.text for o in outs if o.output_type == 'stream'}
    print({k: v[-300:] for k, v in streams.items()})
    assert 'Iter [2/2]' in streams.get('stdout', '')
    assert 'Iter [' not in streams.get('stderr', '')
    widgets = [o for o in outs if o.output_type == 'display_data' and 'application/vnd.jupyter.widget-view+json' in o.data]
    assert widgets and 'train' in widgets[0].data['text/plain']

# ---------------------------------------------------------------- config keys and cudnn_benchmark
def _merged_keys(cfg):
    keys = []
    for k, v in cfg.items():
        keys.append(k)
        if isinstance(v, dict): keys += [f'{k}.{kk}' for kk in v]
    return keys

def _documented():
    import re
    rows = {}
    for line in (ROOT/'docs'/'config_keys.md').read_text().splitlines():
        m = re.match(r'\| `([\w.]+)` \| (used|ignored) \| (`([\w/.]+)`|—) \| (.+) \|$', line)
        if m: rows[m.group(1)] = (m.group(2), m.group(4), m.group(5))
    return rows

def test_config_keys_documented():
    "Every key of the merged default config (top level, and one level inside dicts) is used or listed as ignored."
    import re
    from segnb.apis import load_config
    keys, rows = _merged_keys(load_config('pspnet_r50-d8_512x512_20k_voc12aug')), _documented()
    print(len(keys), 'keys;', sum(r[0] == 'used' for r in rows.values()), 'used')
    assert [k for k in keys if k not in rows] == []
    assert [k for k in rows if k not in keys] == []   # no stale rows
    unread = [k for k, (status, where, _) in rows.items() if status == 'used' and not
              re.search(rf"""['"]{k.split('.')[-1]}['"]|\.{k.split('.')[-1]}\b|\b{k.split('.')[-1]}\s*=|[(,]\s*{k.split('.')[-1]}\s*[,)=]""",
                        (ROOT/where).read_text())]
    assert unread == [], f'"used" keys whose name is not in the module named: {unread}'
    assert all(where is None for status, where, _ in rows.values() if status == 'ignored')

@pytest.mark.parametrize('cuda,flag,deterministic,expected', [
    (True, True, False, True), (False, True, False, False), (True, False, False, False), (True, True, True, False)])
def test_cudnn_benchmark(monkeypatch, cuda, flag, deterministic, expected):
    "As mmseg's tools/train.py: `cudnn_benchmark=True` sets cuDNN's autotuner on, where CUDA is; deterministic wins."
    import torch
    from segnb.apis import apply_cudnn_benchmark
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    monkeypatch.setattr(torch.backends.cudnn, 'benchmark', False)
    monkeypatch.setattr(torch.backends.cudnn, 'deterministic', deterministic)
    assert apply_cudnn_benchmark(dict(cudnn_benchmark=flag)) is expected
    assert torch.backends.cudnn.benchmark is expected
