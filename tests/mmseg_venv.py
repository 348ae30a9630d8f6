"""Run a snippet in a scratch venv that has mmsegmentation 0.30 (never a segnb dependency), exchanging tensors via files.

`SEGNB_MMSEG_VENV` names the venv (e.g. a folder with bin/python); tests that need it skip when it is unset."""
import os, subprocess, tempfile, textwrap
import pytest, torch

VENV = os.environ.get('SEGNB_MMSEG_VENV')
needs_mmseg = pytest.mark.skipif(not VENV, reason='set SEGNB_MMSEG_VENV to a venv with mmsegmentation==0.30.0')

_PRELUDE = '''
import sys, types, torch, warnings
warnings.filterwarnings('ignore')
class _Ext(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith('__'): raise AttributeError(name)
        def _missing(*a, **k): raise RuntimeError(f'mmcv._ext.{name} is a stand-in')
        return _missing
sys.modules['mmcv._ext'] = _Ext('mmcv._ext')   # mmcv.ops is imported at module level by mmseg's focal loss
torch.set_num_threads(1)
inp = torch.load(sys.argv[1], weights_only=False)
out = {}
'''

def run_mmseg(code, timeout=300, **inputs):
    "Run `code` in the mmseg venv with the dict `inp`; it fills the dict `out`, which is returned."
    with tempfile.TemporaryDirectory() as d:
        i, o, s = (os.path.join(d, n) for n in ('in.pt', 'out.pt', 'run.py'))
        torch.save(inputs, i)
        with open(s, 'w') as f: f.write(_PRELUDE + textwrap.dedent(code) + f'\ntorch.save(out, {o!r})\n')
        py = os.path.join(VENV, 'bin', 'python')
        r = subprocess.run([py, s, i], capture_output=True, text=True, timeout=timeout)
        if r.returncode: raise RuntimeError(f'mmseg snippet failed:\n{r.stderr[-3000:]}')
        return torch.load(o, weights_only=False)
