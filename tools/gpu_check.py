"""GPU check for a developer on a machine with a CUDA GPU (CI never runs it; without a GPU it says so and exits 0).

Trains (1) the default config (PSPNet R18-D8 half width on Shapes, 64x64, batch 16) and (2) PSPNet-R50-D8 at 512x512
(batch 4, 21 classes) for a few dozen iterations on one fixed synthetic batch, in fp32, bf16 AMP and fp16 AMP (with a
grad scaler), all in channels_last, from the same initial weights. Checks that the loss falls in every mode and that the
AMP losses follow fp32's (first-iteration loss within 2%, last within 25% relative), and prints images/s and peak GPU
memory per mode.

    python tools/gpu_check.py                 # both models, 40 iterations
    python tools/gpu_check.py --iters 10 --device cpu --models default   # smoke test without a GPU (bf16 only)
"""
import argparse, copy, sys, time
import torch

def build(name):
    from segnb.config import Config
    from segnb.config_tools import find_config
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    if name == 'default':
        cfg, size, batch = Config.fromfile(find_config('shapes/pspnet_r18-d8_shapes.py')), 64, 16
    else:
        cfg, size, batch = Config.fromfile(find_config('pspnet_r50-d8_512x512_20k_voc12aug')), 512, 4
        cfg.model.backbone.norm_cfg = cfg.model.decode_head.norm_cfg = cfg.model.auxiliary_head.norm_cfg = dict(type='BN', requires_grad=True)
    cfg.model.pretrained = None
    torch.manual_seed(0)
    model = build_segmentor(cfg.model); model.init_weights()
    return model, size, batch, cfg.model.decode_head.num_classes

def fixed_batch(size, batch, num_classes, device):
    g = torch.Generator().manual_seed(0)
    gt = torch.randint(0, num_classes, (batch, 1, size // 8, size // 8), generator=g)
    gt = torch.nn.functional.interpolate(gt.float(), size=(size, size), mode='nearest').long()    # blobs, learnable
    img = torch.randn(batch, 3, size, size, generator=g) + gt.float() * 0.5
    metas = [dict(ori_shape=(size, size, 3), img_shape=(size, size, 3), pad_shape=(size, size, 3), flip=False) for _ in range(batch)]
    return dict(img=img.to(device).contiguous(memory_format=torch.channels_last), gt_semantic_seg=gt.to(device), img_metas=metas)

def train(model, data, iters, dtype, device):
    "Losses per iteration, images/s after 3 warm-up iterations, peak memory (MB)."
    model = copy.deepcopy(model).to(device).to(memory_format=torch.channels_last).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
    if device.type == 'cuda': torch.cuda.reset_peak_memory_stats(); torch.cuda.synchronize()
    losses, t0 = [], None
    for i in range(iters):
        if i == 3:
            if device.type == 'cuda': torch.cuda.synchronize()
            t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = model.train_step(data, opt)['loss']
        opt.zero_grad(set_to_none=True)
        if scaler: scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
        else: loss.backward(); opt.step()
        losses.append(float(loss.detach()))
    if device.type == 'cuda': torch.cuda.synchronize()
    ips = (iters - 3) * len(data['img_metas']) / (time.perf_counter() - t0) if t0 else float('nan')
    mem = torch.cuda.max_memory_allocated() / 2 ** 20 if device.type == 'cuda' else float('nan')
    return losses, ips, mem

def check(name, iters, device, modes):
    model, size, batch, ncls = build(name)
    data = fixed_batch(size, batch, ncls, device)
    print(f'== {name}: {size}x{size}, batch {batch}, {iters} iterations, channels_last, device {device}')
    runs, ok = {}, True
    for mode in modes:
        dtype = dict(fp32=None, bf16=torch.bfloat16, fp16=torch.float16)[mode]
        losses, ips, mem = runs[mode] = train(model, data, iters, dtype, device)
        falls = losses[-1] < 0.8 * losses[0]
        ok &= falls
        print(f'{mode:>5}: loss {losses[0]:.4f} -> {losses[-1]:.4f} ({"falls" if falls else "DOES NOT FALL"}), '
              f'{ips:.1f} images/s, peak memory {mem:.0f} MB')
    ref = runs.get('fp32')
    for mode in modes:
        if mode == 'fp32' or ref is None: continue
        first = abs(runs[mode][0][0] - ref[0][0]) / ref[0][0]
        last = abs(runs[mode][0][-1] - ref[0][-1]) / max(ref[0][-1], 1e-3)
        close = first < 0.02 and last < 0.25
        ok &= close
        print(f'{mode:>5} vs fp32: first loss {100 * first:.2f}% apart, last {100 * last:.1f}% apart ({"ok" if close else "TOO FAR"})')
    return ok

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--iters', type=int, default=40)
    ap.add_argument('--device', default='cuda')
    ap.add_argument('--models', nargs='+', default=['default', 'pspnet_r50'], choices=['default', 'pspnet_r50'])
    a = ap.parse_args(argv)
    device = torch.device(a.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        print('no CUDA GPU here: gpu_check skipped (run it on a GPU machine)'); return 0
    if device.type == 'cuda': print(torch.cuda.get_device_name(), f'torch {torch.__version__}'); torch.backends.cudnn.benchmark = True
    modes = ['fp32', 'bf16', 'fp16'] if device.type == 'cuda' else ['fp32', 'bf16']
    ok = all([check(m, a.iters, device, modes) for m in a.models])
    print('GPU CHECK', 'PASSED' if ok else 'FAILED')
    return 0 if ok else 1

if __name__ == '__main__': sys.exit(main())
