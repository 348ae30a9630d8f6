"""segnb.winograd and the `winograd` speed-up against the reference: `F.conv2d`'s values and gradients (float64 to
1e-10, float32 to float rounding) for every dilation, odd sizes and several chunks; the transform on a segmentor (loss,
gradients, logits, hooks, keys), composed with fold_bn, lowres_upsampled and recomputation; its cache and its fallbacks."""
import copy, warnings
import pytest, torch
import torch.nn as nn
import torch.nn.functional as F
import segnb.speedups as speedups
from segnb.speedups import apply_speedups, winograd, fold_batchnorm, lowres_upsampled, recompute_norm_act
from segnb.winograd import (winograd_conv2d, winograd_forward, winograd_backward, winograd_fits,
                            WinogradConv2d, is_plain_conv2d, _chunks, _geometry)
from test_speedups import segmentor, eval_logits, hook_counts, assert_same_training, loss_and_grads

pytestmark = [pytest.mark.filterwarnings('ignore:Default ``avg_non_ignore``'),
              pytest.mark.filterwarnings('ignore:When align_corners=True')]


@pytest.mark.parametrize('shape,dilation', [((1, 4, 8, 8), 1), ((2, 3, 9, 11), 1), ((1, 5, 13, 10), 2), ((2, 2, 17, 19), 4),
                                            ((1, 3, 5, 5), 3), ((1, 2, 70, 66), 1), ((1, 2, 90, 40), 2)])
def test_values_and_gradients_equal_conv2d_in_float64(shape, dilation):
    g = torch.Generator().manual_seed(sum(shape) + dilation)
    x = torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(6, shape[1], 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(6, generator=g, dtype=torch.float64, requires_grad=True)
    y, ref = winograd_conv2d(x, w, b, dilation), F.conv2d(x, w, b, padding=dilation, dilation=dilation)
    gy = torch.randn(ref.shape, generator=g, dtype=torch.float64)
    for got, want in zip(torch.autograd.grad(y, (x, w, b), gy), torch.autograd.grad(ref, (x, w, b), gy)):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-10)
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-10)

def test_several_chunks_per_image_are_covered():
    "The shapes above that need it run in more than one chunk per image (the halo rows are shared)."
    x = torch.empty(1, 2, 70, 66)
    assert len(_chunks(1, *_geometry(x, 1)[4:6], 1)) == 3
    assert len(_chunks(1, *_geometry(torch.empty(1, 2, 90, 40), 2)[4:6], 2)) == 2

def test_gradcheck_and_only_the_gradients_asked_for():
    x = torch.randn(1, 2, 7, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w: winograd_conv2d(x, w, dilation=2), (x, w))
    gy = torch.randn(1, 3, 7, 6, dtype=torch.float64)
    dx, dw = winograd_backward(x.detach(), w.detach(), 1, gy, needs=(False, True))
    assert dx is None and dw is not None
    dx, dw = winograd_backward(x.detach(), w.detach(), 1, gy, needs=(True, False))
    assert dw is None and dx.shape == x.shape

def test_float32_within_float_rounding_on_a_wide_conv():
    torch.manual_seed(0)
    x = torch.randn(2, 256, 24, 24).contiguous(memory_format=torch.channels_last)
    w = (torch.randn(128, 256, 3, 3) / 48).contiguous(memory_format=torch.channels_last)
    for d in (1, 2, 4):
        y, ref = winograd_forward(x, w, d), F.conv2d(x, w, padding=d, dilation=d)
        assert (y - ref).abs().max() <= 1e-5 * ref.abs().max()
        assert y.is_contiguous(memory_format=torch.channels_last)

def test_output_is_not_a_view_so_in_place_use_works():
    x, w = torch.randn(1, 3, 6, 6, requires_grad=True), torch.randn(4, 3, 3, 3, requires_grad=True)
    y = winograd_conv2d(x, w)
    y.add_(1).relu_().sum().backward()
    assert x.grad is not None and w.grad is not None

def test_refuses_a_weight_that_is_not_3x3():
    with pytest.raises(ValueError, match=r'^winograd_conv2d: needs a 3x3 weight, got \(4, 3, 5, 5\)$'):
        winograd_conv2d(torch.randn(1, 3, 8, 8), torch.randn(4, 3, 5, 5))

@pytest.mark.parametrize('conv,fits', [(nn.Conv2d(512, 512, 3, padding=1), True), (nn.Conv2d(1024, 256, 3, padding=1), True),
                                       (nn.Conv2d(512, 512, 3, padding=4, dilation=4), True),
                                       (nn.Conv2d(256, 256, 3, padding=2, dilation=2), False),
                                       (nn.Conv2d(512, 512, 3, padding=1, stride=2), False), (nn.Conv2d(512, 512, 1), False),
                                       (nn.Conv2d(512, 512, 3, padding=1, groups=2), False),
                                       (nn.Conv2d(512, 512, 3, padding=2, dilation=1), False),
                                       (nn.Conv2d(512, 512, 3, padding=1, padding_mode='reflect'), False)])
def test_which_convs_qualify(conv, fits):
    assert winograd_fits(conv) is fits


def wino_segmentor(head='psp', seed=0):
    "The small segmentor with every qualifying conv (any width, any map size) computing by Winograd."
    return winograd(segmentor(head, seed), min_channels=1, min_pixels=1)

def grads_in_float64(m):
    "The loss and gradients of the same step in float64: the yardstick for both float32 paths."
    import test_speedups
    m64, img = copy.deepcopy(m).double(), test_speedups.IMG
    try:
        test_speedups.IMG = img.double(); return loss_and_grads(m64)
    finally: test_speedups.IMG = img

def assert_as_close_to_float64_as_the_reference(fast, ref):
    """Each gradient of `fast` is at most twice as far from the float64 step as the reference path's (or within 1e-5
    of its largest entry): ASPP's image-pool branch normalises 2 values per channel, and there the reference path
    itself is 4e-3 of the largest entry away from float64."""
    (_, g64), (l0, g0), (l1, g1) = grads_in_float64(ref), loss_and_grads(ref), loss_and_grads(fast)
    torch.testing.assert_close(l1, l0, rtol=1e-5, atol=1e-6)
    assert set(g1) == set(g0) == set(g64)
    for n, want in g64.items():
        err = lambda g: float((g.double() - want).abs().max())
        assert err(g1[n]) <= max(2 * err(g0[n]), 1e-5 * float(want.abs().max())), (n, err(g1[n]), err(g0[n]))

@pytest.mark.parametrize('head', ['psp', 'aspp', 'uper'])
def test_transform_same_training_logits_keys_and_hooks(head):
    ref, fast = segmentor(head), wino_segmentor(head)
    n = sum(isinstance(m, WinogradConv2d) for m in fast.modules())
    assert n >= 10 and list(fast.state_dict()) == list(ref.state_dict())
    assert_as_close_to_float64_as_the_reference(fast, ref)
    ref, fast = segmentor(head), wino_segmentor(head)       # fresh BatchNorm statistics for the eval comparison
    torch.testing.assert_close(eval_logits(fast), eval_logits(ref), rtol=1e-5, atol=1e-5)
    assert hook_counts(fast, lambda: eval_logits(fast)) == hook_counts(ref, lambda: eval_logits(ref))

def test_default_threshold_picks_pspnet_r50s_wide_convs():
    from pathlib import Path
    import segnb
    from segnb.config import Config
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    cfg = dict(Config.fromfile(Path(segnb.__file__).parent/'configs/_base_/models/pspnet_r50-d8.py').model, pretrained=None)
    with torch.device('meta'), warnings.catch_warnings():
        warnings.simplefilter('ignore')          # SyncBN -> BN (no process group); it may or may not have warned before in this process
        m = apply_speedups(build_segmentor(cfg), ['winograd'])
    assert [n for n, mod in m.named_modules() if isinstance(mod, WinogradConv2d)] == [
        'backbone.layer4.0.conv2', 'backbone.layer4.1.conv2', 'backbone.layer4.2.conv2', 'decode_head.bottleneck.conv',
        'auxiliary_head.convs.0.conv']

def test_composes_with_fold_bn_and_lowres(monkeypatch):
    monkeypatch.setattr(speedups, 'MIN_CHANNELS', 1)           # concat_conv's wide-part threshold, for the small model
    ref = segmentor()
    fast = fold_batchnorm(lowres_upsampled(wino_segmentor()).eval())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    assert all(is_plain_conv2d(m) for m in fast.modules() if isinstance(m, WinogradConv2d))
    torch.testing.assert_close(eval_logits(fast), eval_logits(ref), rtol=1e-4, atol=1e-4)
    assert_same_training(lowres_upsampled(wino_segmentor()), segmentor())

def test_concat_conv_runs_the_wide_part_by_winograd(monkeypatch):
    monkeypatch.setattr(speedups, 'MIN_CHANNELS', 1)
    calls = []
    real = speedups.winograd_conv2d
    monkeypatch.setattr(speedups, 'winograd_conv2d', lambda *a, **k: calls.append(a[1].shape) or real(*a, **k))
    fast = lowres_upsampled(wino_segmentor())
    eval_logits(fast)
    assert calls and calls[0][1] == fast.decode_head.in_channels    # layer4's part of the bottleneck's weight

@pytest.mark.parametrize('norm_act', [3, 4])
def test_composes_with_recomputation(norm_act):
    fast = recompute_norm_act(apply_speedups(wino_segmentor(), ['recompute=1']), stages=norm_act)
    assert_same_training(fast, segmentor())

def test_eval_keeps_filter_tiles_until_the_weight_changes_and_training_drops_them():
    conv = winograd(nn.Sequential(nn.Conv2d(512, 512, 3, padding=1)), min_pixels=1)[0].eval()
    x = torch.randn(1, 512, 8, 8)
    with torch.no_grad():
        y0 = conv(x); tiles = next(iter(conv._tiles.values()))[1]
        conv(x); assert next(iter(conv._tiles.values()))[1] is tiles          # reused
        conv.weight.mul_(-1); y1 = conv(x)                                      # in-place change: new version
        assert next(iter(conv._tiles.values()))[1] is not tiles
    torch.testing.assert_close(y1 - conv.bias.view(1, -1, 1, 1), -(y0 - conv.bias.view(1, -1, 1, 1)), rtol=1e-4, atol=1e-4)
    conv.train(); conv(x)
    assert '_tiles' not in conv.__dict__

def test_falls_back_to_conv2d_under_autocast_and_in_half_precision(monkeypatch):
    conv = winograd(nn.Sequential(nn.Conv2d(512, 512, 3, padding=1)))[0].eval()
    monkeypatch.setattr('segnb.winograd.WinogradConv.apply', lambda *a: pytest.fail('Winograd ran'))
    x = torch.randn(1, 512, 32, 32)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16): y = conv(x)
    assert y.dtype == torch.bfloat16
    with torch.no_grad(): conv.to(torch.bfloat16)(x.bfloat16())
    with torch.no_grad(): conv.float()(x[..., :16, :16])            # maps below 32x32: the products are too small to pay

def test_the_map_size_bar_is_per_module_and_the_default_runs_at_32x32(monkeypatch):
    ran = []
    real = __import__('segnb.winograd', fromlist=['WinogradConv']).WinogradConv.apply
    monkeypatch.setattr('segnb.winograd.WinogradConv.apply', lambda *a: ran.append(a[0].shape[-1]) or real(*a))
    default, low = [winograd(nn.Sequential(nn.Conv2d(512, 512, 3, padding=1)), **k)[0].eval() for k in ({}, dict(min_pixels=64))]
    with torch.no_grad():
        for conv in (default, low):
            for side in (8, 16, 32): conv(torch.randn(1, 512, side, side))
    assert ran == [32, 8, 16, 32]
