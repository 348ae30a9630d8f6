"""`from segnb.all import *` must bring in the public names (nbdev writes `__all__ = []` in import-only modules)."""
import subprocess, sys

CODE = """
from segnb.all import *
import segnb.checkpoint, segnb.config_tools
print(Registry.__name__, build_from_cfg.__name__, Config.__name__, DictAction.__name__, load_checkpoint.__name__)
print(load_checkpoint is segnb.checkpoint.load_checkpoint, DictAction is segnb.config_tools.DictAction)
print(sorted(n for n in ['main', 'make_shapes', 'train', 'browse_dataset'] if n in globals()))
"""


def test_star_import_brings_public_names():
    out = subprocess.run([sys.executable, '-c', CODE], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0].split() == ['Registry', 'build_from_cfg', 'Config', 'DictAction', 'load_checkpoint']
    assert out[1].split() == ['True', 'True']       # the module-level functions, not a runner method of the same name
    assert out[2] == "['make_shapes']"   # the generator; the CLI's `main` and command handlers stay out
