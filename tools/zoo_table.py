"""The model zoo's table for the notes of issues 13 and 14: per mmseg 0.30 config folder, how many configs build in
segnb, whether a representative config has mmseg's state_dict keys and shapes, and its largest logit difference
against mmseg with the same random weights (fp32, CPU, eval mode, one thread on both sides).

    source the reference's environment (SEGNB_MMSEG_CONFIGS, SEGNB_MMSEG_VENV), then
    python tools/zoo_table.py [FOLDER ...] [--size 64]

The representative is the config segnb ships in `segnb/configs/FOLDER/` when there is one, else the folder's first
config. Prints a markdown table; speed is measured separately (benchmarks/bench_zoo.py)."""
import argparse, glob, os, sys, warnings
from pathlib import Path
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / 'tests')]
warnings.filterwarnings('ignore')
from segnb.config import Config
from segnb.models.segmentors.encoder_decoder import build_segmentor
from mmseg_venv import run_mmseg
from test_models_mmseg import _bn, _random_weights, BROKEN_IN_MMSEG

ROOT = os.environ.get('SEGNB_MMSEG_CONFIGS')
SIZES = {'icnet': 128, 'bisenetv1': 128, 'bisenetv2': 128, 'stdc': 128, 'fastscnn': 128, 'cgnet': 64, 'erfnet': 64,
         'point_rend': 128, 'swin': 224, 'beit': 640, 'mae': 512, 'mobilenet_v3': 400, 'twins': 128, 'segformer': 128, 'knet': 128, 'unet': 128, 'hrnet': 64}

_MM = '''
from mmcv import ConfigDict
from mmseg.models import build_segmentor
try: import mmcls.models      # mmcls.ConvNeXt / mmcls.PoolFormer (mmcls 0.25 in the reference venv)
except ImportError: pass
_linspace = torch.linspace   # mmcls's ConvNeXt calls .item() on a linspace, which the meta device refuses (mmseg's transformers too)
torch.linspace = lambda *a, **k: _linspace(*a, **{**k, 'device': 'cpu'})
for n, cfg in inp['cfgs'].items():
    try:
        with torch.device('meta'): m = build_segmentor(ConfigDict(cfg))
        out[n] = {'shapes': {k: tuple(v.shape) for k, v in m.state_dict().items()}}
        m.load_state_dict(inp['sds'][n], strict=True, assign=True)
        with torch.no_grad(): out[n]['logits'] = m.eval().encode_decode(inp['x'][n], None)
    except Exception as e: out[n] = {'error': f'{type(e).__name__}: {e}'[:200]}
'''

def _model_cfg(path):
    cfg = Config.fromfile(path, import_custom_modules=False)
    m = _bn(dict(cfg.model, pretrained=None))
    if isinstance(m.get('backbone'), dict): m['backbone'] = dict(m['backbone'], init_cfg=None)
    return m

def _representative(folder):
    shipped = sorted(f for f in glob.glob(str(REPO / 'segnb/configs' / folder / '*.py')) if not f.endswith('__init__.py'))
    names = [os.path.basename(f) for f in shipped]
    leaf = sorted(glob.glob(f'{ROOT}/{folder}/*.py'))
    for f in leaf:
        if os.path.basename(f) in names: return f
    return leaf[0] if leaf else None

def _builds(path):
    try:
        with torch.device('meta'): build_segmentor(_model_cfg(path))
        return True
    except Exception: return False

def table(folders, size):
    rows, cfgs, sds, xs, ours = {}, {}, {}, {}, {}
    torch.set_num_threads(1)
    for folder in folders:
        leaf = [f for f in sorted(glob.glob(f'{ROOT}/{folder}/*.py')) if os.path.basename(f)[:-3] not in BROKEN_IN_MMSEG]
        rows[folder] = dict(n=len(leaf), built=sum(map(_builds, leaf)), rep=_representative(folder))
        rep = rows[folder]['rep']
        if rep is None or not _builds(rep): continue
        cfgs[folder] = _model_cfg(rep)
        with torch.device('meta'): m = build_segmentor(cfgs[folder])
        sds[folder] = {k: v.clone() for k, v in _random_weights(m, 0).state_dict().items()}
        s = SIZES.get(folder, size)
        xs[folder] = torch.randn(1, 3, s, s, generator=torch.Generator().manual_seed(0))
        with torch.no_grad(): ours[folder] = (m.eval().encode_decode(xs[folder], None), {k: tuple(v.shape) for k, v in sds[folder].items()})
    ref = run_mmseg(_MM, timeout=3000, cfgs=cfgs, sds=sds, x=xs)
    print('| folder | configs built | representative | keys equal | max logit diff (abs / rel) |')
    print('|---|---|---|---|---|')
    for folder, r in rows.items():
        rep = os.path.basename(r['rep'])[:-3] if r['rep'] else '—'
        if folder not in ours: print(f"| {folder} | {r['built']}/{r['n']} | {rep} | — | — |"); continue
        got, want = ours[folder], ref.get(folder, {'error': 'missing'})
        if 'error' in want: print(f"| {folder} | {r['built']}/{r['n']} | {rep} | mmseg: {want['error']} | — |"); continue
        keys = 'yes' if got[1] == want['shapes'] else f"NO ({len(set(got[1]) ^ set(want['shapes']))} differ)"
        d = (got[0] - want['logits']).abs().max().item(); rel = d / max(want['logits'].abs().max().item(), 1e-12)
        print(f"| {folder} | {r['built']}/{r['n']} | {rep} | {keys} | {d:.1e} / {rel:.1e} |")

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('folders', nargs='*'); ap.add_argument('--size', type=int, default=64)
    a = ap.parse_args()
    if not ROOT: raise SystemExit('zoo_table: set SEGNB_MMSEG_CONFIGS and SEGNB_MMSEG_VENV (source the reference environment)')
    folders = a.folders or sorted(d for d in os.listdir(ROOT) if d != '_base_' and os.path.isdir(f'{ROOT}/{d}'))
    table(folders, a.size)
