"The course reads in dependency order (issue 11): no notebook uses a module a later notebook exports."
import importlib.util, json, subprocess, sys
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

def test_cycles_reported():
    _, cycles, _ = renumber.proposed_order({'vis': {'data.datasets'}, 'data.datasets': {'vis'}})
    assert cycles == [['data.datasets', 'vis', 'data.datasets']]

def test_section_overflow_takes_letters():
    stems = renumber.CORE[3][1] + ['dist']   # 10 runner notebooks and a pulled-in one: 30..39, 39a
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
