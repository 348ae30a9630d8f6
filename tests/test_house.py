"""The house rules (issue 10): imports between segnb's modules run down the layers and never in a circle, the linter
finds nothing, built-ins need no `custom_imports`, and `from segnb.all import *` leaks no generic names."""
import ast, os, shutil, subprocess, sys
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parent.parent
PKG = REPO / 'segnb'

# Layer of each module (a package name covers its submodules). Imports may only go to the same layer or below.
LAYERS = {
    0: ['utils', 'registry', 'config', 'config_tools', 'checkpoint', 'evaluation', 'vis', 'configs', '_modidx', 'converters'],
    1: ['models', 'data', 'winograd'],
    2: ['runner', 'dist'],
    3: ['apis', 'widgets', 'dashboard', 'vis_features', 'speedups'],
    4: ['cli', 'cli_tools', 'crosswalk', 'all', '__main__'],
}
LAYER_OF = {name: layer for layer, names in LAYERS.items() for name in names}

def module_name(path):
    parts = list(path.relative_to(REPO).with_suffix('').parts)
    if parts[-1] == '__init__': parts = parts[:-1]
    return '.'.join(parts)

def layer(module):
    "Layer of `segnb.x.y` (by its first part after `segnb`); the package `segnb` itself is the top."
    parts = module.split('.')
    if len(parts) == 1: return 0     # the package itself: its __init__ holds only __version__ (checked below)
    if parts[1] not in LAYER_OF: raise AssertionError(f'{module} has no layer: add it to LAYERS in tests/test_house.py')
    return LAYER_OF[parts[1]]

def resolve(module, is_pkg, node):
    "Absolute module names an import node brings in (segnb modules only)."
    if isinstance(node, ast.Import): return [a.name for a in node.names if a.name.split('.')[0] == 'segnb']
    if node.level:
        base = module.split('.')
        base = base[:len(base) - node.level + (1 if is_pkg else 0)]
        target = '.'.join(base + ([node.module] if node.module else []))
    else: target = node.module or ''
    if target.split('.')[0] != 'segnb': return []
    out = []
    for a in node.names:     # `from segnb.data import loader` imports the module segnb.data.loader
        sub = f'{target}.{a.name}'
        out.append(sub if (PKG.parent / (sub.replace('.', '/') + '.py')).exists() or (PKG.parent / sub.replace('.', '/')).is_dir() else target)
    return out

def import_edges():
    "`{(importer, imported): line}` over every module of segnb, top-level and function-level imports alike."
    edges = {}
    for path in sorted(PKG.rglob('*.py')):
        if 'configs' in path.relative_to(PKG).parts: continue
        mod = module_name(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in resolve(mod, path.name == '__init__.py', node):
                    if target != mod: edges.setdefault((mod, target), f'{path.relative_to(REPO)}:{node.lineno}')
    return edges

def find_cycle(edges):
    "One import cycle as a list of modules, or None."
    graph = {}
    for a, b in edges: graph.setdefault(a, set()).add(b)
    state, stack = {}, []
    def visit(n):
        state[n] = 1; stack.append(n)
        for m in sorted(graph.get(n, ())):
            if m == n or m.startswith(n + '.') or n.startswith(m + '.'): continue   # a package and its own modules
            if state.get(m) == 1: return stack[stack.index(m):] + [m]
            if m not in state and (c := visit(m)): return c
        state[n] = 2; stack.pop()
        return None
    for n in sorted(graph):
        if n not in state and (c := visit(n)): return c
    return None

def test_the_checker_sees_cycles_and_upward_edges():
    "The checks below can fail: a made-up cycle is found, and an upward edge is named."
    assert find_cycle({('a', 'b'): '', ('b', 'c'): '', ('c', 'a'): ''}) == ['a', 'b', 'c', 'a']
    assert find_cycle({('a', 'b'): '', ('b', 'c'): ''}) is None
    assert layer('segnb.data.loader') == 1 and layer('segnb.apis') == 3
    assert resolve('segnb.data.loader', False, ast.parse('from ..utils import get_dist_info').body[0]) == ['segnb.utils']
    assert resolve('segnb.data', True, ast.parse('from . import loader').body[0]) == ['segnb.data.loader']

def test_package_init_imports_nothing():
    tree = ast.parse((PKG / '__init__.py').read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))], 'segnb/__init__.py must stay import-free'

def test_no_import_cycles():
    edges = import_edges()
    cycle = find_cycle(edges)
    assert cycle is None, 'import cycle: ' + ' -> '.join(cycle) + ' (' + ', '.join(
        edges[(a, b)] for a, b in zip(cycle, cycle[1:])) + ')'

def test_imports_run_down_the_layers():
    bad = [f'{a} (layer {layer(a)}) imports {b} (layer {layer(b)}) at {where}'
           for (a, b), where in sorted(import_edges().items()) if layer(b) > layer(a)]
    assert not bad, 'upward imports:\n' + '\n'.join(bad)

def test_ruff_finds_nothing():
    ruff = shutil.which('ruff') or (shutil.which('ruff', path=os.path.dirname(sys.executable)))
    if ruff is None: pytest.skip('ruff is not installed (pip install ruff); CI installs it')
    r = subprocess.run([ruff, 'check', '--output-format', 'concise', 'segnb', 'tests', 'benchmarks', 'tools'], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]

def test_all_leaks_no_generic_names():
    import segnb.all
    leaked = {'get', 'build', 'resume', 'stop', 'wait', 'pause', 'refresh', 'start', 'snapshot'} & set(segnb.all.__all__)
    assert not leaked, f'segnb.all exports generic names {sorted(leaked)}: make them @patch or plain methods'

def test_shapes_config_builds_without_custom_imports(tmp_path):
    "In a fresh process, the shipped Shapes config names no custom_imports and still builds its dataset."
    code = ("from segnb.apis import load_config\n"
            "from segnb.data.loader import build_dataset\n"
            "from segnb.data.shapes import make_shapes\n"
            f"make_shapes({str(tmp_path)!r}, n_train=2, n_val=1, size=64)\n"
            "cfg = load_config('shapes/pspnet_r18-d8_shapes.py')\n"
            "assert 'custom_imports' not in cfg, cfg.custom_imports\n"
            f"cfg.data.train.data_root = {str(tmp_path)!r}\n"
            "ds = build_dataset(cfg.data.train)\n"
            "print(type(ds).__name__, len(ds))\n")
    r = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split()[0] in ('ShapesDataset', 'RepeatDataset'), r.stdout
