"""What `need_weights=False` in `nn.MultiheadAttention` (PyTorch's fused scaled-dot-product path) would buy the ViT models.

segnb's `MultiheadAttention` (nb 84a) calls `nn.MultiheadAttention` as mmcv does, with `need_weights=True`: the
attention weights are computed explicitly, averaged over heads and thrown away. This runs three models of one shipped
config in ONE process, alternating (bench_zoo.py's method): mmseg 0.30, segnb as it is, and segnb with every
`nn.MultiheadAttention` called with `need_weights=False`; whole-image inference, batch 1, fp32, 2 threads; medians,
and the share of predicted pixels equal to mmseg's. The machine is shared: compare ratios of one run.

    SEGNB_MMSEG_VENV=/path/to/venv python benchmarks/bench_vit_sdpa.py --config setr/setr_pup_512x512_160k_b16_ade20k.py
"""
import argparse, functools, os, subprocess, sys, warnings
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models import alternate, batch, infer, python_for
from bench_zoo_c import model_cfg
from bench_zoo import build_pair


def without_weights(model):
    "`model` with every `nn.MultiheadAttention` called with `need_weights=False` (same output, fused kernel)."
    import torch
    for m in model.modules():
        if isinstance(m, torch.nn.MultiheadAttention):
            m.forward = functools.partial(torch.nn.MultiheadAttention.forward, m, need_weights=False)
    return model


def run(args):
    import torch
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    torch.set_num_threads(args.threads)
    models = build_pair(model_cfg(args.config))
    models['segnb need_weights=False'] = without_weights(build_segmentor(model_cfg(args.config)).eval())
    models['segnb need_weights=False'].load_state_dict(models['segnb'].state_dict())
    data, preds = batch(1, args.size), {}
    med = alternate(models, lambda n: preds.__setitem__(n, infer(models[n], data)), args.reps)
    print(f'{args.config}, fp32, batch 1, {args.size}x{args.size}, {args.threads} threads, median of {args.reps}')
    for n, t in med.items():
        same = float((preds[n][0] == preds['mmseg'][0]).mean())
        print(f'{n:28s} {t:8.3f} s  x{t / med["mmseg"]:.2f} of mmseg  same px {same:.2%}')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--config', default='setr/setr_pup_512x512_160k_b16_ade20k.py')
    ap.add_argument('--size', type=int, default=256)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--in-venv', action='store_true', help=argparse.SUPPRESS)
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    if args.in_venv: return run(args)
    venv = os.environ.get('SEGNB_MMSEG_VENV')
    if not venv: sys.exit('bench_vit_sdpa.py compares with mmseg: set SEGNB_MMSEG_VENV to a venv with mmsegmentation==0.30.0')
    py, env = python_for('mm0', venv)
    subprocess.run([py, os.path.abspath(__file__), '--in-venv'] + sys.argv[1:], env=env, check=True)


if __name__ == '__main__': main()
