"""Training benchmark of the default config (`segnb train` with no argument): per-iteration data time vs compute
time, and wall time to reach val mIoU 0.85.

    python benchmarks/bench_train.py [--eval-interval 100] [--work-dir /tmp/bench_train] [-- extra segnb train args]

Runs `segnb train` in a subprocess with evaluation every `--eval-interval` iterations (the evaluation time counts
in the time to 0.85, as it would for a user), then reads `<timestamp>.log.json` (time, data_time per logged
iteration, averaged over the log interval) and `<timestamp>.log` (wall-clock stamps of every evaluation).
Timings are noisy when other processes share the machine: the load average is printed with the figures.
"""
import argparse, datetime, glob, json, os, re, statistics, subprocess, sys, time

STAMP = r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})'

def _t(s): return datetime.datetime.strptime(s, '%Y-%m-%d %H:%M:%S,%f')

def parse(work_dir):
    js = sorted(glob.glob(f'{work_dir}/*.log.json'))[-1]
    recs = [json.loads(l) for l in open(js)]
    train = [r for r in recs if r.get('mode') == 'train' and 'time' in r]
    log = open(js[:-5]).read().splitlines()
    start = next(_t(re.match(STAMP, l).group(1)) for l in log if 'Start running' in l)
    evals = [((_t(re.match(STAMP, l).group(1)) - start).total_seconds(), int(re.search(r'Iter\(val\) \[\d+\]', l) is not None),
              float(re.search(r'mIoU: ([\d.]+)', l).group(1))) for l in log if 'Iter(val)' in l and 'mIoU:' in l]
    return train, evals, log

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--eval-interval', type=int, default=100)
    ap.add_argument('--work-dir', default='/tmp/segnb_bench_train')
    ap.add_argument('extra', nargs='*')
    a = ap.parse_args()
    t = time.time()
    cmd = [sys.executable, '-m', 'segnb', 'train', '--work-dir', a.work_dir, '--no-progress', '--cfg-options',
           f'evaluation.interval={a.eval_interval}', 'log_config.interval=10', *a.extra]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    total = time.time() - t
    train, evals, _ = parse(a.work_dir)
    data = statistics.median(r['data_time'] for r in train); it = statistics.median(r['time'] for r in train)
    print(f'default config, {len(train) * 10} iterations, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores')
    print(f'per iteration (median of the logged 10-iteration means): {it:.3f} s total = {data:.3f} s data + {it - data:.3f} s compute '
          f'(data {100 * data / it:.1f}%)')
    for sec, _, miou in evals: print(f'  eval at {sec:7.1f} s after start: mIoU {miou:.4f}')
    hit = next((sec for sec, _, miou in evals if miou >= 0.85), None)
    print(f'time to val mIoU >= 0.85: {hit:.1f} s' if hit is not None else 'val mIoU 0.85 not reached')
    print(f'whole command (imports, training, evaluations): {total:.1f} s')

if __name__ == '__main__': main()
