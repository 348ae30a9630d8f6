"""Time `from segnb.all import *` in a fresh process against `import torch, torchvision` in the same run.

    python benchmarks/bench_import.py [--repeat 5]

Each measurement is a new interpreter (`python -c ...`), timed from outside, so it includes interpreter start-up;
the baseline pays the same start-up, so the difference is what segnb adds on top of torch and torchvision. The
two are interleaved so that load from other processes on the machine hits both alike; timings are still noisy.
Goal (issue 2): at most +0.5 s over the baseline. 'every segnb module' imports all of `segnb/` (what `segnb.all`
will cost once it lists every module), to see early which module makes importing slow.
"""
import argparse, statistics, subprocess, sys, time

CASES = {'python (empty)': 'pass',
         'import torch, torchvision': 'import torch, torchvision',
         'import segnb.config': 'import segnb.config',
         'from segnb.all import *': 'from segnb.all import *',
         'every segnb module': ("import importlib, pkgutil, segnb\n"
                                "for m in pkgutil.walk_packages(segnb.__path__, 'segnb.'):\n"
                                "    if not m.name.startswith(('segnb.configs', 'segnb._modidx')): importlib.import_module(m.name)")}


def time_once(code):
    "Seconds for a fresh interpreter to run `code`."
    t0 = time.perf_counter()
    subprocess.run([sys.executable, '-c', code], check=True, capture_output=True)
    return time.perf_counter() - t0


def main(repeat=5):
    times = {name: [] for name in CASES}
    for _ in range(repeat):
        for name, code in CASES.items(): times[name].append(time_once(code))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    base = med['import torch, torchvision']
    print(f'median of {repeat} fresh processes (python {sys.version.split()[0]})')
    for name, m in med.items():
        print(f'  {name:28} {m:6.2f} s   {m - base:+6.2f} s vs torch+torchvision   x{m / base:.2f}')
    extra = med['from segnb.all import *'] - base
    print(f'segnb.all adds {extra:+.2f} s over import torch, torchvision (goal <= +0.5 s): {"OK" if extra <= 0.5 else "OVER"}')


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--repeat', type=int, default=5)
    main(p.parse_args().repeat)
