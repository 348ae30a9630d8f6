"""Swin Transformer and K-Net of mmseg 0.30: same keys and shapes, logits and losses as mmseg; window helpers vs plain loops.

Needs SEGNB_MMSEG_CONFIGS (mmseg's configs) and SEGNB_MMSEG_VENV (a venv with mmsegmentation 0.30) for the differential
tests; they skip otherwise. The window/mask tests need neither."""
import glob, inspect, os
import pytest, torch
from segnb.config import Config
from segnb.registry import MODELS
from segnb.models.segmentors.encoder_decoder import build_segmentor
from segnb.models.backbones.swin import (window_partition, window_reverse, shift_window_mask, relative_position_index,
                                         ShiftWindowMSA, SwinTransformer, WindowMSA, adapt_swin_state_dict)
from mmseg_venv import needs_mmseg, run_mmseg
from zoo_check import assert_keys_and_shapes, LINSPACE_ON_CPU, bn as _bn

ROOT = os.environ.get('SEGNB_MMSEG_CONFIGS')
_configs = pytest.mark.skipif(not ROOT, reason='set SEGNB_MMSEG_CONFIGS to mmsegmentation 0.30.0 mmseg/.mim/configs')
def needs_ref(f): return needs_mmseg(_configs(f))
pytestmark = [pytest.mark.filterwarnings('ignore')]

# ---------------------------------------------------------------- window helpers against plain loops

def test_window_partition_and_reverse_match_loops():
    torch.manual_seed(0)
    x, ws = torch.randn(2, 6, 9, 4), 3
    windows = window_partition(x, ws)
    by_loop = [x[b, i:i + ws, j:j + ws] for b in range(2) for i in range(0, 6, ws) for j in range(0, 9, ws)]
    torch.testing.assert_close(windows, torch.stack(by_loop), rtol=0, atol=0)
    torch.testing.assert_close(window_reverse(windows, 6, 9, ws), x, rtol=0, atol=0)

def _region(i, n, ws, s):
    "Region label along one axis of a map of n tokens rolled by -s: 0 before n-ws, 1 up to n-s, 2 after."
    return 0 if i < n - ws else 1 if i < n - s else 2

@pytest.mark.parametrize('H,W,ws,s', [(6, 6, 3, 1), (14, 21, 7, 3), (12, 12, 6, 3), (7, 7, 7, 3)])
def test_shift_mask_matches_loops(H, W, ws, s):
    mask = shift_window_mask(H, W, ws, s)
    windows = [(i, j) for i in range(0, H, ws) for j in range(0, W, ws)]
    assert mask.shape == (len(windows), ws * ws, ws * ws)
    for w, (i0, j0) in enumerate(windows):
        labels = [(_region(i0 + a, H, ws, s), _region(j0 + b, W, ws, s)) for a in range(ws) for b in range(ws)]
        for p in range(ws * ws):
            for q in range(ws * ws):
                assert mask[w, p, q].item() == (0. if labels[p] == labels[q] else -100.), (w, p, q)

def test_relative_position_index_matches_loops():
    Wh, Ww = 3, 4
    idx = relative_position_index(Wh, Ww)
    coords = [(i, j) for i in range(Wh) for j in range(Ww)]
    for a, (ya, xa) in enumerate(coords):
        for b, (yb, xb) in enumerate(coords):
            assert idx[a, b].item() == (ya - yb + Wh - 1) * (2 * Ww - 1) + (xa - xb + Ww - 1)

def test_shift_window_msa_rejects_bad_shift():
    with pytest.raises(ValueError, match='shift_size=7 must be in'): ShiftWindowMSA(8, 2, 7, shift_size=7)

def test_bias_table_with_other_heads_is_skipped():
    m = SwinTransformer(embed_dims=16, depths=(1, 1, 1, 1), num_heads=(1, 2, 2, 2))
    k = 'stages.0.blocks.0.attn.w_msa.relative_position_bias_table'
    with pytest.warns(UserWarning, match=f'Error in loading {k}'):
        out = adapt_swin_state_dict({k: torch.zeros(169, 3)}, m)
    assert k not in out

# ---------------------------------------------------------------- differential tests against mmseg 0.30

def _model_cfg(name, backbone=None, **changes):
    cfg = Config.fromfile(os.path.join(ROOT, name + '.py'), import_custom_modules=False)
    model = _bn(dict(cfg.model))
    model['backbone'] = dict(model['backbone'], **(backbone or {}))
    if model['backbone'].get('init_cfg'): model['backbone']['init_cfg'] = None
    return dict(model, pretrained=None, **changes)

def _randomize(model):
    "Non-trivial values everywhere the default init leaves constants: norms, BN statistics, Swin's bias tables."
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-.2, .2); m.running_var.uniform_(.5, 2)
        if isinstance(m, (torch.nn.modules.batchnorm._BatchNorm, torch.nn.LayerNorm)):
            m.weight.data.uniform_(.5, 1.5); m.bias.data.uniform_(-.2, .2)
        if isinstance(m, WindowMSA): torch.nn.init.normal_(m.relative_position_bias_table, std=.5)

def deterministic_train(model):
    "Training mode (K-Net returns every stage's masks only then) with dropout, DropPath and BatchNorm in eval mode."
    model.train()
    for m in model.modules():
        if type(m).__name__ in ('Dropout', 'Dropout2d', 'DropPath') or isinstance(m, torch.nn.modules.batchnorm._BatchNorm): m.eval()

_DETERMINISTIC = inspect.getsource(deterministic_train)   # the same function on the mmseg side

_MMSEG = _DETERMINISTIC + '''
from mmcv import ConfigDict
from mmseg.models import build_segmentor
torch.manual_seed(0)
m = build_segmentor(ConfigDict(inp['cfg']))
m.eval()
out['shapes'] = {k: tuple(v.shape) for k, v in m.state_dict().items()}
m.load_state_dict(inp['sd'], strict=True)
with torch.no_grad():
    out['logits'] = m.encode_decode(inp['x'], None)
    deterministic_train(m)
    out['losses'] = m.forward_train(inp['x'], inp['metas'], inp['gt'])
'''

def check_against_mmseg(cfg, size=64, n_classes=150, tol=1e-5, rel=None):
    "Keys and shapes in order, eval logits, and losses (every head and K-Net stage; dropout and BN in eval mode) equal mmseg's."
    torch.manual_seed(0)
    model = build_segmentor(cfg).eval()
    _randomize(model)
    x = torch.randn(2, 3, size, size)
    gt = torch.randint(0, n_classes, (2, 1, size, size))
    gt[:, :, :4] = 255
    metas = [dict(img_shape=(size, size, 3), ori_shape=(size, size, 3), pad_shape=(size, size, 3), flip=False)] * 2
    sd = model.state_dict()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)        # as the mmseg snippet: the same reduction order in convs (K-Net's masks reach ~30)
    try:
        with torch.no_grad():
            logits = model.encode_decode(x, None)
            deterministic_train(model)
            losses = model.forward_train(x, metas, gt)
    finally: torch.set_num_threads(threads)
    ref = run_mmseg(_MMSEG, cfg=cfg, sd=sd, x=x, gt=gt, metas=metas)
    assert list(sd) == list(ref['shapes'])
    assert {k: tuple(v.shape) for k, v in sd.items()} == ref['shapes']
    atol = tol if rel is None else rel * ref['logits'].abs().max().item()
    torch.testing.assert_close(logits, ref['logits'], rtol=tol, atol=atol)
    assert set(losses) == set(ref['losses']), (set(losses), set(ref['losses']))
    for k in losses: torch.testing.assert_close(losses[k], ref['losses'][k], rtol=rel or tol, atol=rel or tol, msg=k)
    return losses, (logits - ref['logits']).abs().max().item()

SWIN_T = 'swin/upernet_swin_tiny_patch4_window7_512x512_160k_ade20k_pretrain_224x224_1K'

@needs_ref
def test_upernet_swin_tiny_matches_mmseg():
    "Swin-T widths with two blocks per stage (a plain and a shifted one) on 64x64 inputs: keys, logits, both heads' losses."
    cfg = _model_cfg(SWIN_T, backbone=dict(depths=[2, 2, 2, 2]))
    losses, diff = check_against_mmseg(cfg)
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    print('upernet swin-t max logit diff', diff)

@needs_ref
def test_swin_odd_input_and_window12_match_mmseg():
    "Swin-B's window 12 on a 80x48 input: windows padded, shifted masks on padded maps."
    name = 'swin/upernet_swin_base_patch4_window12_512x512_160k_ade20k_pretrain_384x384_1K'
    cfg = _model_cfg(name, backbone=dict(depths=[2, 2, 2, 2], embed_dims=32, num_heads=[1, 2, 4, 8]))
    torch.manual_seed(0)
    bb = MODELS.build(cfg['backbone']).eval()
    _randomize(bb)
    x = torch.randn(2, 3, 80, 48)
    with torch.no_grad(): ours = bb(x)
    ref = run_mmseg('''
from mmseg.models import build_backbone
b = build_backbone(inp['cfg'])
b.eval()                      # mmseg's SwinTransformer.train returns None
b.load_state_dict(inp['sd'], strict=True)
with torch.no_grad(): out['y'] = b(inp['x'])
''', cfg=cfg['backbone'], sd=bb.state_dict(), x=x)
    for a, b in zip(ours, ref['y']): torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)

KNET_FCN = 'knet/knet_s3_fcn_r50-d8_8x2_512x512_adamw_80k_ade20k'
KNET_UPER = 'knet/knet_s3_upernet_r50-d8_8x2_512x512_adamw_80k_ade20k'

KNET_REL = 5e-4
# K-Net's three rounds amplify float rounding about tenfold each (its masks reach 30-200 with these random weights).
# With mmcv's unfused attention segnb's K-Net was bit-exact to mmseg (one thread); segnb's MultiheadAttention now asks
# nn.MultiheadAttention for no weights (its fused path, within 1e-7 per call), so the logits are compared to KNET_REL
# of their largest magnitude and the losses to a relative KNET_REL.

@needs_ref
def test_knet_fcn_matches_mmseg():
    "K-Net on an FCN generate head: keys, eval logits, the four stages' losses (.s0-.s3) and the auxiliary FCN loss."
    losses, diff = check_against_mmseg(_model_cfg(KNET_FCN), rel=KNET_REL)
    assert {f'decode.loss_ce.s{i}' for i in range(4)} | {'aux.loss_ce'} <= set(losses)
    print('knet fcn max logit diff', diff)

@needs_ref
def test_knet_upernet_matches_mmseg():
    "K-Net on a UPerNet generate head (multiple_select inputs)."
    losses, diff = check_against_mmseg(_model_cfg(KNET_UPER), rel=KNET_REL)
    assert {f'decode.loss_ce.s{i}' for i in range(4)} | {'aux.loss_ce'} <= set(losses)
    print('knet upernet max logit diff', diff)

@needs_ref
def test_knet_swin_matches_mmseg():
    """K-Net + UPerNet on Swin-T (two blocks per stage): the two families together.

    Swin's fused attention differs from mmseg's explicit softmax by float rounding (features within ~3e-6), which
    the kernel-update rounds amplify (see KNET_REL)."""
    losses, diff = check_against_mmseg(_model_cfg('knet/knet_s3_upernet_swin-t_8x2_512x512_adamw_80k_ade20k',
                                                  backbone=dict(depths=[2, 2, 2, 2])), rel=KNET_REL)
    print('knet swin-t max logit diff', diff)

@needs_ref
def test_kernel_update_head_variants_match_mmseg():
    "Options no mmseg config uses: 3x3 kernels, gate norm + activation, activate_out, mask stride 2, no FFN, mask_shape."
    torch.manual_seed(0)
    cfg = dict(type='KernelUpdateHead', num_classes=4, num_heads=2, num_mask_fcs=2, feedforward_channels=32, in_channels=16,
               out_channels=16, conv_kernel_size=3, with_ffn=False, mask_transform_stride=2, kernel_init=True,
               feat_transform_cfg=dict(kernel_size=3, conv_cfg=dict(type='Conv2d'), act_cfg=None),
               kernel_updator_cfg=dict(type='KernelUpdator', in_channels=16, feat_channels=16, out_channels=16,
                                       gate_norm_act=True, activate_out=True))
    head = MODELS.build(cfg).eval()
    x, kernels, masks = torch.randn(2, 16, 12, 12), torch.randn(2, 4, 16, 3, 3), torch.randn(2, 4, 6, 6)
    with torch.no_grad(): ours = head(x, kernels, masks, mask_shape=(24, 24))
    ref = run_mmseg('''
from mmseg.models import build_head
h = build_head(inp['cfg']).eval()
h.load_state_dict(inp['sd'], strict=True)
out['keys'] = list(h.state_dict())
with torch.no_grad(): out['y'] = h(inp['x'], inp['k'], inp['m'], mask_shape=(24, 24))
''', cfg=cfg, sd=head.state_dict(), x=x, k=kernels, m=masks)
    assert list(head.state_dict()) == ref['keys']
    for a, b in zip(ours, ref['y']): torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)

def _names(folder):
    return sorted(os.path.relpath(f, ROOT)[:-3] for f in glob.glob(f'{ROOT}/{folder}/*.py'))

@needs_ref
def test_every_swin_and_knet_config_has_mmsegs_keys_and_shapes():
    "All 8 swin and 7 knet configs of mmseg 0.30 build in segnb (meta device) with mmseg's state_dict keys and shapes, in order."
    names = _names('swin') + _names('knet')
    assert len(names) == 15, names
    cfgs = {n: _model_cfg(n) for n in names}
    assert_keys_and_shapes(cfgs, patch=LINSPACE_ON_CPU)

def test_shipped_configs_build():
    "The representative configs shipped in segnb/configs build (on the meta device) without mmseg."
    import segnb
    root = os.path.join(os.path.dirname(segnb.__file__), 'configs')
    for name in ('swin/upernet_swin_tiny_patch4_window7_512x512_160k_ade20k_pretrain_224x224_1K',
                 'knet/knet_s3_fcn_r50-d8_8x2_512x512_adamw_80k_ade20k'):
        cfg = Config.fromfile(os.path.join(root, name + '.py'))
        with torch.device('meta'): model = build_segmentor(_bn(dict(cfg.model)))
        assert type(model.backbone).__name__ in ('SwinTransformer', 'ResNetV1c'), name

@needs_ref
def test_pretrained_checkpoint_with_other_window_loads_as_mmseg(tmp_path):
    "A backbone checkpoint with 7x7 windows (prefix backbone.) loaded into a 12x12-window Swin: tables resized as mmseg does."
    torch.manual_seed(0)
    small = dict(type='SwinTransformer', embed_dims=32, depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8])
    src = MODELS.build(dict(small, window_size=7))
    _randomize(src)
    ckpt = str(tmp_path / 'swin7.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in src.state_dict().items()}}, ckpt)
    cfg = dict(small, window_size=12, init_cfg=dict(type='Pretrained', checkpoint=ckpt))
    ours = MODELS.build(cfg)
    ours.init_weights()
    ref = run_mmseg('''
from mmseg.models import build_backbone
b = build_backbone(inp['cfg'])
b.init_weights()
out['sd'] = b.state_dict()
''', cfg=cfg)
    sd = ours.state_dict()
    assert list(sd) == list(ref['sd'])
    for k, v in sd.items():
        if k.endswith('relative_position_index'): continue          # both keep their own (the checkpoint's does not fit)
        torch.testing.assert_close(v, ref['sd'][k], rtol=1e-6, atol=1e-6, msg=k)
    k = 'stages.1.blocks.1.attn.w_msa.relative_position_bias_table'
    assert sd[k].shape == (23 * 23, 2) and not torch.equal(sd[k], torch.zeros_like(sd[k]))
