"""Stored notebook outputs: refresh them, and check they are what the code produces now (issue 11).

    python tools/notebook_outputs.py refresh [NOTEBOOK|REGEX ...]   # execute in place, store small outputs
    python tools/notebook_outputs.py check   [NOTEBOOK|REGEX ...]   # re-execute in memory; exit 1 on stale/missing

With no notebook named, every `nbs/*.ipynb`. A name that is not a file is a regex searched in the filenames
(`'^20_'`, `'runner'`). Notebooks run in a real Jupyter kernel (nbclient), 2 at a time, in the environment
`nbdev_test` gives them: cwd `nbs/`, `IN_TEST=1` (except `READER_RUNS`: the tour, run in full), cells with `#| eval: false` or a `tst_flags` flag (`slow`,
`cuda`) skipped. Stored outputs are kept small: widget state dropped (a widget keeps its text fallback), text
capped at `MAX_LINES`, figures PNG only, each at most `MAX_PNG` bytes (larger ones are shrunk).

`check` fails when a cell's stored text differs from the fresh run once volatile parts are masked (timings,
paths, dates, memory addresses, progress bars), when a cell that should show something stores nothing (a code
cell, neither exported nor hidden, whose last statement is an expression or a print/display/show call), and when
an example cell (`is_example`: run, not exported, hidden or setup-only) shows nothing even in a fresh run.
"""
import argparse, ast, base64, io, os, re, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
SKIP_FLAGS = {'slow', 'cuda'}   # settings.ini tst_flags: nbdev_test skips these cells
MAX_LINES, MAX_PNG, MAX_HTML = 60, 150_000, 20_000
# Notebooks stored as a reader runs them (IN_TEST unset): the tour's point is what a trained model looks like, so its
# outputs come from the full default training. Its numbers depend on the CPU (bf16, thread count), so `check` compares
# its text with every number masked: the hook order, the messages and the tables' shape still count.
READER_RUNS = {'00_tutorial_shapes.ipynb'}
KEEP_MIME = ('text/plain', 'image/png', 'text/markdown', 'text/html')

# ---------------------------------------------------------------- selecting and executing

def select(args, nbs=NBS):
    "Notebook paths named by `args` (files, or regexes on the filenames under `nbs`), in filename order."
    every = sorted(Path(nbs).glob('*.ipynb'))
    if not args: return every
    out = []
    for a in args:
        if Path(a).is_file(): out.append(Path(a).resolve())
        else:
            hits = [p for p in every if re.search(a, p.name)]
            if not hits: raise SystemExit(f'notebook_outputs: no notebook in {nbs} matches {a!r}; give a path or a regex')
            out += hits
    return sorted(set(out))

def directives(src):
    "{'export': [], 'eval:': ['false'], ...} from the cell's leading `#| ` lines."
    d = {}
    for line in src.splitlines():
        if not line.startswith('#|'): break
        words = line[2:].split()
        if words: d[words[0]] = words[1:]
    return d

def skipped(cell):
    if cell.cell_type != 'code': return True
    d = directives(cell.source)
    return (d.get('eval:', [''])[0].lower() == 'false') or bool(SKIP_FLAGS & d.keys())

def execute(path, timeout=600):
    "The notebook, executed as nbdev_test would, with every run cell's outputs made small."
    import nbformat
    from nbclient import NotebookClient
    if Path(path).name in READER_RUNS: os.environ.pop('IN_TEST', None)
    else: os.environ['IN_TEST'] = '1'
    os.environ['PYTHONPATH'] = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p])
    nb = nbformat.read(str(path), as_version=4)
    if Path(path).name in READER_RUNS: timeout = max(timeout, 1800)
    client = NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(Path(path).parent)}})
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != 'code': continue
            if skipped(cell): cell.outputs = []; continue
            client.execute_cell(cell, i)
            cell.outputs = small_outputs(cell.outputs)
    nb.metadata.pop('widgets', None)
    return nb

# ---------------------------------------------------------------- keeping outputs small

def cap_text(text, n=MAX_LINES):
    lines = text.split('\n')
    if len(lines) <= n: return text
    half = n // 2
    return '\n'.join(lines[:half] + [f'... ({len(lines) - n} lines not stored) ...'] + lines[-half:])

def final_carriage(text):
    "What a terminal shows: each line's text after its last carriage return (tqdm redraws)."
    return '\n'.join(l.rsplit('\r', 1)[-1] for l in text.split('\n'))

def shrink_png(b64, limit=MAX_PNG):
    data = base64.b64decode(b64)
    if len(data) <= limit: return b64
    from PIL import Image
    im = Image.open(io.BytesIO(data))
    while len(data) > limit and min(im.size) > 32:
        im = im.resize((im.width * 3 // 4, im.height * 3 // 4), Image.LANCZOS)
        buf = io.BytesIO(); im.save(buf, 'PNG', optimize=True); data = buf.getvalue()
    return base64.b64encode(data).decode()

def merged_streams(outputs):
    "Adjacent chunks of one stream as one output: a busy kernel flushes a cell's prints in several chunks."
    out = []
    for o in outputs:
        if o.output_type == 'stream' and out and out[-1].output_type == 'stream' and out[-1].name == o.name:
            out[-1].text += o.text
        else: out.append(o)
    return out

def small_outputs(outputs):
    out = []
    for o in merged_streams(outputs):
        if o.output_type == 'stream':
            o.text = cap_text(final_carriage(o.text))
        elif o.output_type in ('display_data', 'execute_result'):
            data = {k: v for k, v in o.data.items() if k in KEEP_MIME}
            if 'text/html' in data and len(data['text/html']) > MAX_HTML: del data['text/html']
            if 'image/png' in data: data['image/png'] = shrink_png(data['image/png'])
            if 'text/plain' in data: data['text/plain'] = cap_text(data['text/plain'])
            if not data: continue
            o.data = data
            o.metadata = {k: v for k, v in o.get('metadata', {}).items() if k == 'image/png'}
        out.append(o)
    return out

# ---------------------------------------------------------------- comparing

VOLATILE = [
    (re.compile(r'.*\d+%\|.*'), '<progress>'),                                    # tqdm bars
    (re.compile(r'\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?'), '<date>'),
    (re.compile(r'\b\d{8}_\d{6}\b'), '<date>'),                                 # mmcv's log file stamps
    (re.compile(r'0x[0-9a-fA-F]{6,}'), '<addr>'),
    (re.compile(r'(?<![\w\])])(?:/[\w.@+-]+)+/?'), '<path>'),                    # absolute paths (not `2/10`)
    (re.compile(r'\b\d+(?:\.\d+)?\s*(?:s|sec|secs|seconds|ms|µs|us|min|minutes|it/s|s/it)\b'), '<time>'),
    (re.compile(r'\beta: \S+|\btime: [\d.]+|\bdata_time: [\d.]+|\bmemory: \d+'), '<time>'),
    (re.compile(r'\b\d+:\d\d(?::\d\d)?\b'), '<time>'),
    # float rounding: differences a lesson prints beside their tolerance (1.5795e-06 on one run, 1.6689e-06 on the next)
    (re.compile(r'-?\b\d(?:\.\d+)?e-(?:0[5-9]|[1-9]\d)\b'), '<rounding>'),
]

def normalize(text):
    text = final_carriage(text)
    for pat, rep in VOLATILE: text = pat.sub(rep, text)
    return '\n'.join(l.rstrip() for l in text.split('\n')).strip()

def cell_text(cell):
    "The text a reader sees under a cell: streams, text/plain results, errors."
    parts, last = [], None   # consecutive chunks of one stream are one text: where a kernel splits them is timing
    for o in cell.get('outputs', []):
        if o['output_type'] == 'stream':
            text = ''.join(o['text']) if isinstance(o['text'], list) else o['text']
            if last == o['name']: parts[-1] += text
            else: parts.append(f"[{o['name']}] " + text)
            last = o['name']; continue
        last = None
        if o['output_type'] in ('display_data', 'execute_result'):
            t = o['data'].get('text/plain', '')
            parts.append(''.join(t) if isinstance(t, list) else t)
        elif o['output_type'] == 'error': parts.append(f"{o['ename']}: {o['evalue']}")
    return normalize('\n'.join(parts))

_SHOW = {'print', 'display', 'show', 'pprint', 'show_image', 'show_images', 'imshow'}

def should_show(cell):
    "A lesson cell whose last statement displays: a bare expression (no trailing `;`) or a print/show call."
    if cell.cell_type != 'code' or skipped(cell): return False
    d = directives(cell.source)
    if {'export', 'exports', 'exporti', 'hide', 'default_exp', 'export_', 'eval:'} & d.keys(): return False
    try: body = ast.parse(cell.source).body
    except SyntaxError: return False
    if not body or not isinstance(body[-1], ast.Expr): return False
    if cell.source.rstrip().endswith(';'): return False
    v = body[-1].value
    if isinstance(v, ast.Constant) and isinstance(v.value, str): return False   # a docstring-like string
    if not isinstance(v, ast.Call): return True
    f = v.func
    name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ''
    return name in _SHOW

def setup_only(source):
    "A cell that only imports (and sets a few names), as a lesson's first cell does: it has nothing to show."
    try: body = ast.parse('\n'.join(l for l in source.splitlines() if not l.lstrip().startswith('%')), '<cell>').body
    except SyntaxError: return False
    return any(isinstance(b, (ast.Import, ast.ImportFrom)) for b in body) and \
        all(isinstance(b, (ast.Import, ast.ImportFrom, ast.Assign)) for b in body)

def is_example(cell):
    "A lesson's example cell: run by CI, neither exported nor hidden nor setup-only. A reader should see what it checks."
    if cell.cell_type != 'code' or skipped(cell) or not cell.source.strip(): return False
    if {'export', 'exports', 'exporti', 'hide', 'default_exp', 'export_', 'eval:'} & directives(cell.source).keys(): return False
    return not setup_only(cell.source)

def problems(stored, fresh, numbers=True):
    "['cell 12: stored output differs ...', 'cell 14: shows nothing ...'] for one notebook; `numbers=False` masks digits."
    out = []
    for i, (s, f) in enumerate(zip(stored.cells, fresh.cells)):
        if s.cell_type != 'code' or skipped(s): continue
        st, ft = cell_text(s), cell_text(f)
        if not numbers: st, ft = (re.sub(r'\d+(?:\.\d+)?', '<n>', t) for t in (st, ft))
        if st != ft:
            out.append(f'cell {i}: stored output differs from a fresh run\n    stored: {st[:300]!r}\n    fresh:  {ft[:300]!r}')
        if should_show(s) and not s.get('outputs'):
            out.append(f'cell {i}: shows nothing, though its last line displays: {s.source.strip().splitlines()[-1][:80]!r}')
        elif is_example(s) and not f.get('outputs'):
            out.append(f'cell {i}: an example that shows nothing; print what it checks before asserting it '
                       f'({s.source.strip().splitlines()[0][:60]!r})')
    return out

# ---------------------------------------------------------------- commands

def _refresh_one(path):
    import nbformat, subprocess
    t = time.time()
    nb = execute(path)
    nbformat.write(nb, str(path))
    subprocess.run(['nbdev_clean', '--fname', str(path)], check=True, cwd=ROOT)
    return path, time.time() - t, []

def _check_one(path):
    import nbformat
    t = time.time()
    stored = nbformat.read(str(path), as_version=4)
    try: fresh = execute(path)
    except Exception as e: return path, time.time() - t, [f'execution failed: {type(e).__name__}: {str(e)[-500:]}']
    return path, time.time() - t, problems(stored, fresh, numbers=Path(path).name not in READER_RUNS)

def run(command, paths, workers=2):
    fn = {'refresh': _refresh_one, 'check': _check_one}[command]
    bad, start = 0, time.time()
    alone = [p for p in paths if Path(p).name in READER_RUNS]   # a full training: alone, so no notebook slows it
    for batch, n in ((alone, 1), ([p for p in paths if p not in alone], workers)):
        if not batch: continue
        with ProcessPoolExecutor(n) as ex:
            for path, secs, probs in ex.map(fn, batch):
                print(f'{"FAIL" if probs else "ok":4} {Path(path).name} ({secs:.0f} s)')
                for p in probs: print('  ' + p)
                bad += bool(probs)
    print(f'{command}: {len(paths)} notebooks, {bad} failing, {time.time() - start:.0f} s')
    return 1 if bad else 0

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('command', choices=['refresh', 'check'])
    ap.add_argument('notebooks', nargs='*', help='paths, or regexes matched against nbs/ filenames')
    ap.add_argument('--workers', type=int, default=2)
    a = ap.parse_args(argv)
    return run(a.command, select(a.notebooks), a.workers)

if __name__ == '__main__': sys.exit(main())
