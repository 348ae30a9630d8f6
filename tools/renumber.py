"""Reading order = dependency order for `nbs/` (issue 11).

    python tools/renumber.py            # dry run: prints `old -> new`, the forward references left, cycles
    python tools/renumber.py --apply    # git mv the notebooks and rewrite references to their names

A notebook "uses" a segnb module when any code cell has `from segnb.x import ...`, `import segnb.x` or
`from segnb import x`. nbdev sorts notebooks by filename, so a notebook may only use modules exported
(`#| default_exp`) by notebooks whose names sort before its own. `tests/test_course.py` checks that rule with
`forward_references`; this tool proposes the numbering that satisfies it while keeping issue 11's two tracks:
the core course in the order of mmseg's tools/train.py, then the appendix.
"""
import argparse, json, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
PKG = ROOT/'segnb'

# Notebooks that open the course by using everything, top-down, as fastai's first lesson does. They export
# nothing, so nothing can depend on them; exempt from the forward-reference rule (see tests/test_course.py).
TOURS = {'tutorial_shapes'}

# Issue 11's tracks, by stem (the filename without its number). Each section: (first number, stems in the
# preferred order). A topological sort keeps this order where the imports allow it.
CORE = [
    (0,  ['tutorial_shapes', 'registry', 'config_tools', 'config', 'checkpoint', 'utils']),
    (10, ['models.utils.layers', 'models.backbones.resnet', 'models.losses.losses',
          'models.decode_heads.decode_head', 'models.decode_heads.heads', 'models.segmentors.encoder_decoder',
          'models.facts', 'models.fuse']),
    (20, ['evaluation', 'vis', 'data.loading', 'data.transforms', 'data.formatting', 'data.test_time_aug',
          'data.pipeline_lesson', 'data.checks', 'data.datasets', 'data.loader', 'data.shapes']),
    (30, ['runner.hooks', 'runner.lr', 'runner.loggers', 'runner.checkpoint_hooks', 'runner.optimizer',
          'runner.iter_loader', 'runner.resume', 'runner.testing', 'runner.eval_hooks', 'runner.runner',
          'winograd']),   # appendix (Winograd's F(2x2, 3x3)), read after the runner: speedups, pulled into the 40s, uses it
    (40, ['apis', 'cli', 'widgets', 'vis_features', 'dashboard']),
]
APPENDIX = [
    (60, ['speedups', 'data.warp', 'data.sbd', 'dist', 'cli_tools', 'main', 'crosswalk']),
    (80, []),   # the zoo: every notebook numbered 80-98 today keeps its name (`zoo`), in filename order
    (99, ['all']),
]

_num = re.compile(r'^(\d\d[a-z]?)_(.+)$')

def stem(path): return _num.match(Path(path).stem).group(2)

def numbered_notebooks(nbs=NBS):
    "Notebooks with a number prefix, in nbdev's order (filename order); `index.ipynb` is the front page, not a lesson."
    return sorted(p for p in Path(nbs).glob('*.ipynb') if _num.match(p.stem))

def code_cells(path):
    return [''.join(c['source']) for c in json.loads(Path(path).read_text())['cells'] if c['cell_type'] == 'code']

_exp = re.compile(r'^#\|\s*default_exp\s+(\S+)', re.M)
_from = re.compile(r'^\s*from\s+segnb\.([\w.]+)\s+import\s+\(?([^#\n]+)', re.M)
_from_top = re.compile(r'^\s*from\s+segnb\s+import\s+\(?([^#\n]+)', re.M)
_import = re.compile(r'^\s*import\s+segnb\.([\w.]+)', re.M)

def exported_module(path):
    found = [m for src in code_cells(path) for m in _exp.findall(src)]
    return found[0] if found else None

def _names(s): return [n.split(' as ')[0].strip() for n in s.replace(')', '').split(',') if n.strip()]

def _is_package(mod): return (PKG/mod.replace('.', '/')/'__init__.py').exists()

def _resolve_in_package(pkg, name, pkg_root=PKG):
    "The submodule of package `pkg` that gives `name` (`from segnb.data import build_dataloader` -> data.loader)."
    if (pkg_root/pkg.replace('.', '/')/f'{name}.py').exists() or _is_package(f'{pkg}.{name}'): return f'{pkg}.{name}'
    init = (pkg_root/pkg.replace('.', '/')/'__init__.py').read_text()
    for sub, names in re.findall(r'^from\s+\.(\w+)\s+import\s+([^#\n]+)', init, re.M):
        sub = f'{pkg}.{sub}'
        if name in _names(names): return _resolve_in_package(sub, name) if _is_package(sub) else sub
        if names.strip() == '*':
            if _is_package(sub):
                r = _resolve_in_package(sub, name)
                if r: return r
            elif re.search(rf'^(def|class)\s+{name}\b|^{name}\s*=', (pkg_root/f"{sub.replace('.', '/')}.py").read_text(), re.M):
                return sub
    return None

def imported_modules(path):
    """segnb modules a notebook uses. A name imported from a hand-written package `__init__` resolves to the
    submodule that defines it. A bare `import segnb.data` (done only to register types) is no module dependency:
    a package `__init__` also imports the appendix modules (hrnet, ocr, sbd), so it cannot be ordered."""
    used = set()
    for src in code_cells(path):
        for mod, names in _from.findall(src):
            if not _is_package(mod): used.add(mod); continue
            for n in _names(names):
                r = _resolve_in_package(mod, n)
                if r: used.add(r)
        for names in _from_top.findall(src): used.update(_names(names))
        used.update(m for m in _import.findall(src) if not _is_package(m))
    return used

def dependency_graph(nbs=NBS):
    "{notebook stem: set of notebook stems it uses}, and {stem: path}."
    paths = {stem(p): p for p in numbered_notebooks(nbs)}
    owner = {exported_module(p): s for s, p in paths.items() if exported_module(p)}
    graph = {}
    for s, p in paths.items():
        graph[s] = {owner[m] for m in imported_modules(p) if m in owner and owner[m] != s}
    return graph, paths

def forward_references(nbs=NBS, order=None):
    "[(notebook, module it uses, notebook that exports it)] where the exporter sorts after the user; tours exempt."
    graph, paths = dependency_graph(nbs)
    order = order or {s: p.name for s, p in paths.items()}
    return sorted((order[s], d, order[d]) for s, deps in graph.items() if s not in TOURS
                  for d in deps if order[d] > order[s])

def _ranks():
    ranks, i = {}, 0
    for _, stems in CORE + APPENDIX:
        for s in stems: ranks[s] = i; i += 1
    return ranks

def _cycles(graph):
    "Edges on a cycle, found by depth-first search; the order cannot satisfy them."
    on, done, bad = [], set(), []
    def visit(n):
        if n in done: return
        if n in on: bad.append(on[on.index(n):] + [n]); return
        on.append(n)
        for d in sorted(graph[n]): visit(d)
        on.pop(); done.add(n)
    for n in sorted(graph): visit(n)
    return bad

def zoo(paths):
    "Stems of the zoo notebooks (numbered 80-98: other heads and backbones): already after the core, they keep their names."
    return {s for s, p in paths.items() if 80 <= int(Path(p).name[:2]) <= 98 and s not in TOURS}

def proposed_order(graph, paths=None):
    """Stems in reading order: a topological sort that takes, among the notebooks ready, the one first in the
    tracks. A notebook another one needs earlier is pulled forward to just before its first user (e.g. the
    appendix's `data.warp`, which `data.transforms` imports). Edges on cycles are reported and ignored."""
    rank, paths = _ranks(), paths or {}
    for i, s in enumerate(sorted(zoo(paths), key=lambda s: Path(paths[s]).name)): rank[s] = rank['all'] - 0.5 + i / 10_000
    unknown = sorted(set(graph) - set(rank))
    for i, s in enumerate(unknown): rank[s] = 10_000 + i   # new notebooks the tracks do not name yet: last
    cyc = _cycles(graph)   # a tour exports nothing, so no cycle runs through one
    broken = {(c[i], c[i+1]) for c in cyc for i in range(len(c)-1)}
    deps = {s: {d for d in ds if (s, d) not in broken} for s, ds in graph.items() if s not in TOURS}
    first_appendix = rank[APPENDIX[0][1][0]]
    eff = dict(rank)
    changed = True
    while changed:   # an appendix notebook the core needs ranks just before its first core user
        changed = False
        for s, ds in deps.items():
            for d in ds:
                if rank[d] >= first_appendix and eff[d] > eff[s]: eff[d] = eff[s] - 0.5; changed = True
    order, left = [s for s in graph if s in TOURS], {s: set(ds) for s, ds in deps.items()}
    while left:
        ready = [s for s, ds in left.items() if not ds]
        s = min(ready, key=lambda s: (eff[s], rank[s]))
        order.append(s); del left[s]
        for ds in left.values(): ds.discard(s)
    return order, cyc, {s for s in graph if s in rank and eff[s] < rank[s]}

def _section(s):
    for base, stems in CORE + APPENDIX:
        if s in stems: return base
    return 90

def new_names(graph, paths):
    """{stem: new filename}. Each notebook takes the section of its track (0x foundations, 1x models, 2x data,
    3x runner, 4x apis and seeing inside, 6x-9x appendix), numbered up in reading order; a section that runs
    out of numbers goes on with letter suffixes (`39a_`); a notebook pulled forward takes its user's section."""
    order, _, pulled = proposed_order(graph, paths)
    kept = zoo(paths)
    names, prev = {}, None
    sec_of = {}
    for s in order:   # pulled-forward notebooks sit before their user: give them the next notebook's section
        sec_of[s] = _section(s)
    for i in range(len(order) - 2, -1, -1):
        if order[i] in pulled: sec_of[order[i]] = sec_of[order[i+1]]
    for i in range(1, len(order)):   # a notebook that had to wait for a later section joins it
        sec_of[order[i]] = max(sec_of[order[i]], sec_of[order[i-1]])
    for s in order:
        base = sec_of[s]
        if prev is None or prev[0] != base: num, suffix = base, ''
        else:
            num, suffix = prev[1], prev[2]
            nxt_sec = min([b for b, _ in CORE + APPENDIX if b > base] + [100])
            if not suffix and num + 1 < nxt_sec: num += 1
            else: suffix = chr(ord(suffix or '`') + 1)
        prev = (base, num, suffix)
        names[s] = Path(paths[s]).name if s in kept else f'{num:02d}{suffix}_{s}.ipynb'
    return names

def plan(nbs=NBS):
    graph, paths = dependency_graph(nbs)
    names = new_names(graph, paths)
    return graph, paths, names

def rewrite_targets(root=ROOT):
    files = list((root/'nbs').glob('*.ipynb')) + [root/'README.md']
    for d in ('tests', 'tools', 'benchmarks', 'docs', '.ci'):
        files += [p for p in (root/d).rglob('*') if p.is_file() and p.suffix in ('.py', '.md', '.ipynb', '.sh', '.txt', '') ]
    return [f for f in files if f.exists() and f.name != 'renumber.py']

def rename_map(paths, names):
    "{old name without .ipynb: new name without .ipynb} for the notebooks that change."
    return {p.stem: names[s][:-6] for s, p in paths.items() if p.name != names[s]}

def rewrite_text(text, mapping):
    "Replace every old notebook name (`20_data.datasets`, and its number prefix in `--file_re '^20_'`) by the new one."
    if not mapping: return text
    pat = re.compile(r'(?<![\w.])(' + '|'.join(re.escape(o) for o in sorted(mapping, key=len, reverse=True)) + r')(?![\w])')
    return pat.sub(lambda m: mapping[m.group(1)], text)

def apply(root=ROOT):
    graph, paths, names = plan(root/'nbs')
    mapping = rename_map(paths, names)
    tmp = {}
    for old in mapping:   # two steps, so that a new name equal to another notebook's old name never collides
        t = f'nbs/__renumber_{old}.ipynb'; subprocess.run(['git', 'mv', f'nbs/{old}.ipynb', t], cwd=root, check=True); tmp[old] = t
    for old, t in tmp.items(): subprocess.run(['git', 'mv', t, f'nbs/{mapping[old]}.ipynb'], cwd=root, check=True)
    for f in rewrite_targets(root):
        try: text = f.read_text()
        except UnicodeDecodeError: continue
        new = rewrite_text(text, mapping)
        if new != text: f.write_text(new); print(f'rewrote {f.relative_to(root)}')
    return mapping

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--apply', action='store_true', help='git mv the notebooks and rewrite references')
    ap.add_argument('--nbs', default=str(NBS))
    a = ap.parse_args(argv)
    graph, paths, names = plan(Path(a.nbs))
    order, cyc, pulled = proposed_order(graph, paths)
    for s in order:
        old, new = paths[s].name, names[s]
        print(f"{old:48} -> {new}" + ('   (pulled forward: an earlier notebook uses it)' if s in pulled else ''))
    for c in cyc: print('cycle (a notebook must drop one of these imports):', ' -> '.join(c))
    left = forward_references(Path(a.nbs), order={s: names[s] for s in graph})
    for u, d, e in left: print(f'still a forward reference: {u} uses {e}')
    if a.apply:
        apply(Path(a.nbs).parent)
    return 1 if left else 0

if __name__ == '__main__': sys.exit(main())
