"""What ResNet's activation recomputation costs and saves: PSPNet-R50-D8 (segnb's `_base_/models/pspnet_r50-d8.py`,
SyncBN->BN), train step (forward + loss + backward + SGD, auxiliary head on), fp32, batch 2.

Settings of the backbone: `none` (recompute_stages=-1, the default: store everything), `recompute` (recompute_stages=2,
what the `recompute` speed-up sets: the stem, layer1 and layer2 are recomputed in backward), `+norm_act` (that plus recompute_norm_act=True: layer3/4 blocks
keep only their conv outputs), `+norm_act=3` (the same in layer3 only, what `recompute_norm_act=3` sets). Time: ONE model in one process, switching the setting step by step (the same weights
and data, so every setting computes the same numbers), warm-up dropped, medians of wall time and of this process's
CPU time (CPU time is less disturbed by other load on a shared machine). Peak RSS: one fresh process per setting
(build + 2 train steps, `ru_maxrss`), as benchmarks/bench_models.py measures it.

    python benchmarks/bench_recompute.py --size 256 --reps 4      # time only (add --rss for peak RSS at --rss-size)
"""
import argparse, json, os, resource, statistics, subprocess, sys, time, warnings
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_models as bm

SETTINGS = {'none': dict(recompute_stages=-1, recompute_norm_act=False), 'recompute': dict(recompute_stages=2, recompute_norm_act=False),
            '+norm_act': dict(recompute_stages=2, recompute_norm_act=True),
            '+norm_act=3': dict(recompute_stages=2, recompute_norm_act=True, last=3)}


def apply(model, setting):
    "Switch a built segmentor's backbone to `setting` (the flags ResNet.__init__ would have set)."
    bb, s = model.backbone, SETTINGS[setting]
    bb.recompute_stages, bb.recompute_norm_act = s['recompute_stages'], s['recompute_norm_act']
    for i, name in enumerate(bb.res_layers):
        for block in getattr(bb, name):
            block.recompute_norm_act = s['recompute_norm_act'] and s['recompute_stages'] <= i < s.get('last', 4)
    return model


def time_settings(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = bm.build('segnb', bm.model_cfg())
    opt, data = bm.sgd(model), bm.batch(args.batch, args.size)
    wall, cpu, loss = ({s: [] for s in SETTINGS} for _ in range(3))
    for r in range(args.reps + 1):
        for s in SETTINGS:
            apply(model, s)
            t, c = time.perf_counter(), time.process_time()
            loss[s].append(bm.train_step(model, opt, data))
            if r: wall[s].append(time.perf_counter() - t); cpu[s].append(time.process_time() - c)
    print(f'train step, batch {args.batch}, {args.size}x{args.size}, {args.threads} threads (median of {args.reps})')
    w0, c0 = statistics.median(wall['none']), statistics.median(cpu['none'])
    for s in SETTINGS:
        w, c = statistics.median(wall[s]), statistics.median(cpu[s])
        print(f'  {s:10s} wall {w:7.3f} s x{w / w0:.3f}   cpu {c:7.3f} s x{c / c0:.3f}')


def rss_worker(setting, size, batch, threads):
    torch.set_num_threads(threads)
    model = apply(bm.build('segnb', bm.model_cfg()), setting)
    opt, data = bm.sgd(model), bm.batch(batch, size)
    for _ in range(2): bm.train_step(model, opt, data)
    print(json.dumps(dict(setting=setting, rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--size', type=int, default=256)
    ap.add_argument('--batch', type=int, default=2)
    ap.add_argument('--reps', type=int, default=4)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--rss', action='store_true')
    ap.add_argument('--rss-size', type=int, default=512)
    ap.add_argument('--skip-time', action='store_true')
    ap.add_argument('--rss-worker', help=argparse.SUPPRESS)
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    if args.rss_worker: return rss_worker(args.rss_worker, args.rss_size, args.batch, args.threads)
    if not args.skip_time: time_settings(args)
    if not args.rss: return
    print(f'peak RSS of build + 2 train steps, batch {args.batch}, {args.rss_size}x{args.rss_size} (one process each)')
    for s in SETTINGS:
        out = subprocess.run([sys.executable, __file__, '--rss-worker', s, '--rss-size', str(args.rss_size), '--batch',
                              str(args.batch), '--threads', str(args.threads)], capture_output=True, text=True, check=True)
        print(f'  {s:10s} {json.loads(out.stdout.strip().splitlines()[-1])["rss_mib"]:8.0f} MiB', flush=True)


if __name__ == '__main__': main()
