"""The CPU speed-ups of issue 14 (Twins' locally-grouped attention through SDPA's fused 4-D kernel, ConvNeXt's
channels-last stages) compute what mmseg computes: every module's forward hooks fire once per forward, a batch of
two with masked windows matches the plain `q @ k.T` + mask, softmax, `@ v` (and mmseg's model when its venv is set)."""
import collections
import pytest, torch
import torch.nn.functional as F
from segnb.models.backbones.twins import SVT, LocallyGroupedSelfAttention, _lsa_mask
from segnb.models.backbones.convnext import ConvNeXt

pytestmark = pytest.mark.filterwarnings('ignore')

def _lsa_by_hand(lsa, x, hw_shape):
    "Window attention written out as mmseg writes it: pad, cut windows, `softmax(q @ k.T * scale + mask) @ v`, proj."
    b, n, c = x.shape
    (h, w), ws, heads = hw_shape, lsa.window_size, lsa.num_heads
    pad_r, pad_b = (ws - w % ws) % ws, (ws - h % ws) % ws
    xp = F.pad(x.view(b, h, w, c), (0, 0, 0, pad_r, 0, pad_b))
    hp, wp = xp.shape[1:3]
    win = xp.reshape(b, hp // ws, ws, wp // ws, ws, c).transpose(2, 3).reshape(b, -1, ws * ws, c)
    q, k, v = lsa.qkv(win).reshape(b, win.shape[1], ws * ws, 3, heads, c // heads).permute(3, 0, 1, 4, 2, 5)
    attn = q @ k.transpose(-2, -1) * lsa.scale
    mask = _lsa_mask(hp, wp, ws, pad_r, pad_b, x.device)
    if mask is not None: attn = attn + mask
    out = (attn.softmax(-1) @ v).transpose(2, 3).reshape(b, hp // ws, wp // ws, ws, ws, c)
    out = out.transpose(2, 3).reshape(b, hp, wp, c)[:, :h, :w].reshape(b, n, c)
    return lsa.proj(out)

@pytest.mark.parametrize('hw_shape', [(12, 10), (14, 11), (11, 14), (14, 14)])   # both sides padded, one side, none
def test_lsa_fused_kernel_matches_the_plain_formula_on_a_batch(hw_shape):
    torch.manual_seed(0)
    lsa = LocallyGroupedSelfAttention(16, 2, qkv_bias=True, window_size=7).eval()
    x = torch.randn(3, hw_shape[0] * hw_shape[1], 16)
    with torch.no_grad(): torch.testing.assert_close(lsa(x, hw_shape), _lsa_by_hand(lsa, x, hw_shape), rtol=1e-5, atol=1e-6)

def _hook_counts(model, x):
    "How many times each module's forward hook fires in one forward."
    counts = collections.Counter()
    handles = [m.register_forward_hook(lambda m, i, o, name=name: counts.update([name])) for name, m in model.named_modules()]
    with torch.no_grad(): model(x)
    for h in handles: h.remove()
    return counts

@pytest.mark.parametrize('build', [
    lambda: SVT(embed_dims=[16, 32, 64, 128], num_heads=[1, 2, 4, 8], mlp_ratios=[2, 2, 2, 2], depths=[2, 2, 2, 2],
                sr_ratios=[4, 2, 1, 1], windiow_sizes=[7, 7, 7, 7]),
    lambda: ConvNeXt(arch=dict(depths=[2, 2, 2, 2], channels=[16, 32, 64, 128]), out_indices=[0, 1, 2, 3],
                     gap_before_final_norm=False)], ids=['svt', 'convnext'])
def test_every_module_runs_once_per_forward(build):
    torch.manual_seed(0)
    model = build().eval()
    counts = _hook_counts(model, torch.randn(2, 3, 64, 64))
    assert all(v == 1 for v in counts.values()), counts
    # never called, in mmseg too: nn.MultiheadAttention's `out_proj` (its weights are used functionally)
    silent = {n for n, m in model.named_modules() if n not in counts and not isinstance(m, torch.nn.ModuleList)}
    assert all(n.endswith('.attn.attn.out_proj') for n in silent), silent

def test_lsa_attn_drop_hook_sees_the_attention_matrix():
    "A hook on LSA's `attn_drop` takes the written-out path (as mmseg computes it): it sees softmax rows, same output."
    from segnb.models.backbones.twins import LocallyGroupedSelfAttention
    torch.manual_seed(0)
    lsa = LocallyGroupedSelfAttention(16, num_heads=2, window_size=4).eval()
    x = torch.randn(2, 6 * 5, 16)              # a 6x5 map: windows padded on both sides
    fused = lsa(x, (6, 5))
    seen = []
    h = lsa.attn_drop.register_forward_hook(lambda m, i, o: seen.append(o))
    try: written = lsa(x, (6, 5))
    finally: h.remove()
    assert len(seen) == 1 and seen[0].shape == (2 * 2 * 2, 2, 16, 16)   # (windows x batch, heads, L, L)
    torch.testing.assert_close(seen[0].sum(-1), torch.ones(8, 2, 16))
    torch.testing.assert_close(written, fused, rtol=1e-5, atol=1e-6)

def test_convnext_stages_are_channels_last_and_outputs_contiguous():
    torch.manual_seed(0)
    net = ConvNeXt(arch=dict(depths=[1, 1, 1, 1], channels=[16, 32, 64, 128]), out_indices=[0, 1, 2, 3],
                   gap_before_final_norm=False).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ys = net(x)
        feat = net.stages[0](net.downsample_layers[0](x))
    assert all(y.is_contiguous() for y in ys)
    assert feat.is_contiguous(memory_format=torch.channels_last)

def test_twins_svt_batch_of_two_with_masked_windows_matches_mmseg():
    "SVT-S + FPN on a batch of two 64x64 images (every window padded on both sides, so masked): mmseg's logits and losses."
    zoo = pytest.importorskip('test_zoo_mitw')
    if not zoo.ROOT: pytest.skip('set SEGNB_MMSEG_CONFIGS to mmsegmentation 0.30.0 mmseg/.mim/configs')
    zoo.check_against_mmseg('twins/twins_svt-s_fpn_fpnhead_8x4_512x512_80k_ade20k', n_classes=150, batch=2,
                            backbone=dict(depths=[2, 2, 2, 2]))
