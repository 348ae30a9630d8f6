"""`from segnb.all import *` must bring in the public names (nbdev writes `__all__ = []` in import-only modules)."""
import subprocess, sys


def test_star_import_brings_public_names():
    code = "from segnb.all import *; print(Registry.__name__, build_from_cfg.__name__, MODELS.name)"
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ['Registry', 'build_from_cfg', 'models']
