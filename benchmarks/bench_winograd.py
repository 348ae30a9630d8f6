"""Winograd F(2x2, 3x3) (`segnb.winograd`) against `F.conv2d` (oneDNN) on the 3x3 convs of PSPNet-R50-D8 at a
512x512 image (64x64 feature maps), fp32, channels-last, `--threads` CPU threads, in ONE process, alternating call by
call, warm-up dropped, medians in milliseconds. Forward alone at batch 1 (inference, the filter transform kept as
an eval-mode module keeps it) and forward + backward at batch 2 (a training step's share). The ratio is Winograd's
time over F.conv2d's; the last column is the largest difference of the outputs, relative to the largest output.

    python benchmarks/bench_winograd.py --reps 5
"""
import argparse, statistics, time
import torch
import torch.nn.functional as F
from segnb.winograd import winograd_conv2d, filter_tiles, winograd_fits, MIN_CHANNELS

# (where in PSPNet-R50-D8, in channels, out channels, dilation)
SHAPES = [('head bottleneck, the layer4 part', 2048, 512, 1), ('auxiliary FCN head', 1024, 256, 1),
          ('layer4 conv2 (x3)', 512, 512, 4), ('layer3 conv2 (x6)', 256, 256, 2)]


def alternate(fns, reps):
    "Medians (ms) of each of `fns`, called in turn, one warm-up round dropped."
    times = {k: [] for k in fns}
    for r in range(reps + 1):
        for k, f in fns.items():
            t = time.perf_counter(); f(); dt = time.perf_counter() - t
            if r: times[k].append(dt * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def tensors(n, c, o, size):
    cl = torch.channels_last
    x = torch.randn(n, c, size, size).contiguous(memory_format=cl)
    w = (torch.randn(o, c, 3, 3) / (9 * c) ** .5).contiguous(memory_format=cl)
    return x, w, torch.randn(n, o, size, size).contiguous(memory_format=cl)


def forward_row(c, o, d, size, reps):
    x, w, _ = tensors(1, c, o, size)
    tiles = filter_tiles(w)
    with torch.no_grad():
        ref = F.conv2d(x, w, None, 1, d, d)
        err = ((winograd_conv2d(x, w, None, d, tiles) - ref).abs().max() / ref.abs().max()).item()
        return alternate({'conv': lambda: F.conv2d(x, w, None, 1, d, d), 'wino': lambda: winograd_conv2d(x, w, None, d, tiles)}, reps), err


def train_row(c, o, d, size, reps):
    x, w, gy = tensors(2, c, o, size)
    x.requires_grad_(); w.requires_grad_()
    step = lambda f: torch.autograd.grad(f(), (x, w), gy)
    return alternate({'conv': lambda: step(lambda: F.conv2d(x, w, None, 1, d, d)),
                      'wino': lambda: step(lambda: winograd_conv2d(x, w, None, d))}, reps)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--reps', type=int, default=5); p.add_argument('--threads', type=int, default=2)
    p.add_argument('--size', type=int, default=64, help='feature map side (64 for a 512x512 image)')
    args = p.parse_args()
    torch.set_num_threads(args.threads); torch.manual_seed(0)
    print(f'fp32, {args.threads} threads, {args.size}x{args.size} maps, median of {args.reps} (ms); '
          f'qualifies: in x out >= {MIN_CHANNELS}')
    print('| conv | channels | dilation | qualifies | forward b1: F.conv2d / Winograd (ratio) | forward+backward b2 (ratio) | largest difference |')
    print('|---|---|---|---|---|---|---|')
    for name, c, o, d in SHAPES:
        (fw, err), tr = forward_row(c, o, d, args.size, args.reps), train_row(c, o, d, args.size, args.reps)
        fits = winograd_fits(torch.nn.Conv2d(c, o, 3, padding=d, dilation=d, device='meta'))
        print(f"| {name} | {c} -> {o} | {d} | {'yes' if fits else 'no'} | {fw['conv']:.0f} / {fw['wino']:.0f} ({fw['wino'] / fw['conv']:.2f}) "
              f"| {tr['conv']:.0f} / {tr['wino']:.0f} ({tr['wino'] / tr['conv']:.2f}) | {err:.1e} |", flush=True)


if __name__ == '__main__':
    main()
