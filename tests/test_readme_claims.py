"""The README's accuracy claim, checked: `segnb train` with no arguments (the default config on the bundled Shapes
data) reaches the validation mIoU the README states. Slow (minutes on a CPU): marked `slow`, run in CI."""
import glob, json, os, subprocess, sys
import pytest
from tiny_data import REPO

README_MIOU, MARGIN = 0.85, 0.01   # README claims the default training reaches mIoU >= 0.85; margin 0.01 for run-to-run noise
FLOOR = README_MIOU - MARGIN


def final_val(work_dir, key='mIoU'):
    "The last validation `key` in the work dir's `*.log.json`."
    vals = [rec[key] for f in sorted(glob.glob(f'{work_dir}/*.log.json')) for rec in map(json.loads, open(f))
            if rec.get('mode') == 'val' and key in rec]
    assert vals, f'no validation {key} in {work_dir}/*.log.json'
    return vals[-1]


@pytest.mark.slow
def test_default_training_reaches_the_readme_miou(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]))
    r = subprocess.run([sys.executable, '-m', 'segnb', 'train', '--work-dir', str(tmp_path / 'run'), '--no-progress'],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    miou = final_val(tmp_path / 'run')
    print(f'default training: val mIoU {miou:.4f} (README claims >= {README_MIOU}, margin {MARGIN})')
    assert miou >= FLOOR, f'val mIoU {miou:.4f} < {FLOOR:.2f}: the README claims >= {README_MIOU} (margin {MARGIN})'
