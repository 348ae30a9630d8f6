"""Load every leaf config of mmsegmentation 0.30.0 with segnb's Config, and with mmcv 1.7.2 for comparison.

    python benchmarks/bench_configs.py CONFIG_ROOT [--mmcv-python /path/to/mmvenv/bin/python] [--repeat 3]

CONFIG_ROOT is the `mmseg/.mim/configs` folder of the mmsegmentation 0.30.0 wheel (defaults to
$SEGNB_MMSEG_CONFIGS). Both sides load with `import_custom_modules=False` (the same work: the 11 convnext and
poolformer configs would otherwise import mmcls) and are timed inside their own process, imports excluded. Prints
the median total over `--repeat` passes and the ratio. Other processes on the machine make timings noisy.
"""
import argparse, os, statistics, subprocess, sys
from pathlib import Path

LOOP = '''
import os, sys, time, types, warnings
sys.modules.setdefault('mmcv._ext', types.ModuleType('mmcv._ext'))
warnings.filterwarnings('ignore')
from {module} import Config
root, paths = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
for p in paths: Config.fromfile(os.path.join(root, p), import_custom_modules=False)
print(time.perf_counter() - t0)
'''


def leaf_configs(root):
    "The .py configs outside `_base_` folders."
    return sorted(p.relative_to(root).as_posix() for p in Path(root).rglob('*.py') if '_base_' not in p.parts)


def time_pass(python, module, root, paths):
    "Seconds one process of `python` needs to load all `paths` with `module`'s Config."
    code = LOOP.format(module=module)
    out = subprocess.run([python, '-c', code, root, *paths], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(root, mmcv_python=None, repeat=3):
    paths = leaf_configs(root)
    env_python = sys.executable
    seg = statistics.median(time_pass(env_python, 'segnb.config', root, paths) for _ in range(repeat))
    print(f'{len(paths)} configs, median of {repeat} passes')
    print(f'  segnb Config      {seg:6.2f} s total  {1000 * seg / len(paths):5.1f} ms/config')
    if mmcv_python:
        mm = statistics.median(time_pass(mmcv_python, 'mmcv', root, paths) for _ in range(repeat))
        print(f'  mmcv 1.7.2 Config {mm:6.2f} s total  {1000 * mm / len(paths):5.1f} ms/config')
        print(f'  segnb is x{mm / seg:.1f} faster')


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('root', nargs='?', default=os.environ.get('SEGNB_MMSEG_CONFIGS'))
    p.add_argument('--mmcv-python', help='python of a venv with mmcv 1.7.2')
    p.add_argument('--repeat', type=int, default=3)
    a = p.parse_args()
    if not a.root: p.error('give CONFIG_ROOT or set SEGNB_MMSEG_CONFIGS')
    main(a.root, a.mmcv_python, a.repeat)
