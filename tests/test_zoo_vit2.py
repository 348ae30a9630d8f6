"""Segmenter, DPT, BEiT, MAE and Feature2Pyramid against mmseg 0.30: keys and shapes, logits and losses.

Needs SEGNB_MMSEG_CONFIGS (mmseg's configs) and SEGNB_MMSEG_VENV (a venv with mmsegmentation 0.30); skips otherwise.
Models run at small sizes (64x64 images, a few layers, narrow widths) through config overrides."""
import glob, os
import pytest, torch
from segnb.config import Config
from segnb.registry import MODELS
from segnb.models.segmentors.encoder_decoder import build_segmentor
from mmseg_venv import needs_mmseg, run_mmseg
from zoo_check import assert_keys_and_shapes, LINSPACE_ON_CPU, bn as _bn, merge as _merge, assert_same, inputs, run_both

ROOT = os.environ.get('SEGNB_MMSEG_CONFIGS')
pytestmark = [pytest.mark.filterwarnings('ignore'), needs_mmseg,
              pytest.mark.skipif(not ROOT, reason='set SEGNB_MMSEG_CONFIGS to mmsegmentation 0.30.0 mmseg/.mim/configs')]
BN = dict(type='BN', requires_grad=True)

def _model_cfg(name, **changes):
    cfg = Config.fromfile(os.path.join(ROOT, name + '.py'), import_custom_modules=False)
    return _merge(dict(_bn(cfg.to_dict()['model']), pretrained=None), changes)

def _randomize(model):
    "Non-trivial values everywhere (BN statistics, LN affines, layer scales, biases zero-initialised by mmseg)."
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.dim() <= 1 or 'relative_position_bias_table' in n or 'pos_embed' in n or 'cls' in n:
                p.copy_(p + 0.1 * torch.randn(p.shape, generator=g))
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-.2, .2); m.running_var.uniform_(.5, 2)

def check_against_mmseg(cfg, size=64, n_classes=150, tol=1e-5):
    "Keys and shapes, eval logits and eval-mode losses (every head, auxiliary ones included) equal mmseg's."
    torch.manual_seed(0)
    model = build_segmentor(cfg).eval()
    _randomize(model)
    x, gt, metas = inputs(size, n_classes)
    ours, ref = (r['m'] for r in run_both({'m': dict(cfg=cfg, model=model, x=x, gt=gt, metas=metas)}))
    assert_same(ours, ref, tol=tol, ordered_keys=True)
    logits, losses = ours['logits'], ours['losses']
    diff = (logits - ref['logits']).abs().max().item()
    print(f"max |logit diff| {cfg['backbone']['type']} + {cfg['decode_head']['type']}: {diff:.2e}")
    return diff, losses

_MMSEG_MODULE = '''
from mmcv.utils import build_from_cfg
import mmseg.models
from mmseg.models.builder import MODELS
m = build_from_cfg(inp['cfg'], MODELS).eval()
out['keys'] = list(m.state_dict())
m.load_state_dict(inp['sd'], strict=True)
with torch.no_grad(): out['y'] = m(inp['x'])
'''

def check_module(cfg, x):
    "A neck or head alone: same keys, same outputs as mmseg's, with the same random weights."
    torch.manual_seed(0)
    m = MODELS.build(cfg).eval()
    _randomize(m)
    with torch.no_grad(): ours = m(x)
    ref = run_mmseg(_MMSEG_MODULE, cfg=cfg, sd=m.state_dict(), x=x)
    assert list(m.state_dict()) == ref['keys']
    torch.testing.assert_close(ours, ref['y'], rtol=1e-5, atol=1e-5)

@pytest.mark.parametrize('rescales', [[4, 2, 1, 0.5], [2, 1, 0.5, 0.25]])
def test_feature2pyramid_matches_mmseg(rescales):
    check_module(dict(type='Feature2Pyramid', embed_dim=16, rescales=rescales, norm_cfg=BN),
                 [torch.randn(2, 16, 8, 8) for _ in range(4)])

@pytest.mark.parametrize('readout', ['ignore', 'add', 'project'])
def test_dpt_head_matches_mmseg(readout):
    cfg = dict(type='DPTHead', in_channels=(16, 16, 16, 16), channels=8, embed_dims=16, post_process_channels=[4, 8, 16, 32],
               num_classes=5, readout_type=readout, input_transform='multiple_select', in_index=(0, 1, 2, 3), norm_cfg=BN)
    check_module(cfg, [[torch.randn(2, 16, 4, 4), torch.randn(2, 16)] for _ in range(4)])

def _small_beit(name, **backbone):
    "A BEiT/MAE + Feature2Pyramid + UPerHead config at 64x64: 4 layers of 32 channels."
    return _model_cfg(name, backbone=dict(img_size=(64, 64), embed_dims=32, num_layers=4, num_heads=2,
                                          out_indices=(0, 1, 2, 3), **backbone),
                      neck=dict(embed_dim=32), decode_head=dict(in_channels=[32] * 4, channels=16),
                      auxiliary_head=dict(in_channels=32, channels=8))

def test_upernet_beit_matches_mmseg():
    "BEiT + Feature2Pyramid + UPerHead + FCN auxiliary head: keys, logits, losses (decode and aux)."
    diff, losses = check_against_mmseg(_small_beit('beit/upernet_beit-base_8x2_640x640_160k_ade20k'))
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)

def test_beit_without_qv_bias_and_with_final_norm_matches_mmseg():
    check_against_mmseg(_small_beit('beit/upernet_beit-large_fp16_8x1_640x640_160k_ade20k', qv_bias=False,
                                    final_norm=True, patch_norm=True, init_values=1e-6))

_MMSEG_RESIZE = '''
import importlib, os, sys
beit_module = importlib.import_module('mmseg.models.backbones.beit')
for extra in filter(None, os.environ.get('SEGNB_SCIPY_SITE', '').split(os.pathsep)): sys.path.append(extra)
try:
    from scipy.interpolate import RectBivariateSpline
    def spline(x, z, x_new):   # interp2d(kind='cubic') on a grid, as SciPy's transition guide states
        return RectBivariateSpline(x, x, z.T, kx=3, ky=3, s=0)(x_new, x_new).T
    out['interpolator'] = 'scipy'
except ImportError:
    import numpy as np
    def spline(x, z, x_new):   # FITPACK's s=0 bicubic: tensor product of not-a-knot cubic splines, clamped
        x = np.asarray(x, float); n, h = len(x), np.diff(x)
        A, B = np.zeros((n, n)), np.zeros((n, n))
        for i in range(1, n - 1):
            A[i, i - 1:i + 2] = h[i - 1], 2 * (h[i - 1] + h[i]), h[i]
            B[i, i - 1:i + 2] = 6 / h[i - 1], -6 / h[i - 1] - 6 / h[i], 6 / h[i]
        A[0, :3], A[-1, -3:] = (h[1], -h[0] - h[1], h[0]), (h[-1], -h[-2] - h[-1], h[-2])
        M = np.linalg.solve(A, B)
        def basis(t):
            t = min(max(t, x[0]), x[-1]); i = min(max(np.searchsorted(x, t, side='right') - 1, 0), n - 2)
            a, b = x[i + 1] - t, t - x[i]
            row = (a ** 3 / (6 * h[i]) - a * h[i] / 6) * M[i] + (b ** 3 / (6 * h[i]) - b * h[i] / 6) * M[i + 1]
            row[i] += a / h[i]; row[i + 1] += b / h[i]
            return row
        W = np.stack([basis(t) for t in x_new])
        return W @ z @ W.T
    out['interpolator'] = 'numpy'
class _Interp2d:
    def __init__(self, x, y, z, kind):
        assert kind == 'cubic' and list(x) == list(y)
        self.x, self.z = x, z
    def __call__(self, dx, dy): return spline(self.x, self.z, dx)
beit_module.interpolate = type('interpolate', (), {'interp2d': _Interp2d})
from mmseg.models.backbones import BEiT
m = BEiT(**inp['cfg'])
out['sd'] = m.resize_rel_pos_embed(dict(state_dict=dict(inp['ckpt'])))
'''

@pytest.mark.parametrize('src,dst', [(64, 128), (224, 640), (128, 64)])
def test_rel_pos_bias_resize_matches_mmseg(src, dst):
    "A checkpoint of a BEiT at `src` pixels loaded into one at `dst`: every table resized as mmseg's (SciPy interp2d)."
    torch.manual_seed(0)
    kw = dict(embed_dims=16, num_layers=2, num_heads=2)
    ckpt = MODELS.build(dict(type='BEiT', img_size=src, **kw)).state_dict()
    for k in ckpt:
        if 'relative_position_bias_table' in k: ckpt[k] = torch.randn(ckpt[k].shape).cumsum(0)
    model = MODELS.build(dict(type='BEiT', img_size=dst, **kw))
    ours = model.resize_rel_pos_embed(dict(state_dict=dict(ckpt)))
    ref = run_mmseg(_MMSEG_RESIZE, cfg=dict(img_size=dst, **kw), ckpt=ckpt)
    assert list(ours) == list(ref['sd']) and not any('relative_position_index' in k for k in ours)
    for k in ours: torch.testing.assert_close(ours[k], ref['sd'][k], rtol=1e-5, atol=1e-5, msg=k)
    assert model.load_state_dict(ours, strict=False).missing_keys == [k for k in model.state_dict() if 'relative_position_index' in k]

def test_upernet_mae_matches_mmseg():
    "MAE (absolute pos_embed, qkv biases) + Feature2Pyramid + UPerHead + FCN auxiliary head."
    _, losses = check_against_mmseg(_small_beit('mae/upernet_mae-base_fp16_8x2_512x512_160k_ade20k'))
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)

def test_mae_abs_pos_embed_resize_matches_mmseg():
    torch.manual_seed(0)
    kw = dict(embed_dims=16, num_layers=1, num_heads=2)
    ckpt = {'pos_embed': torch.randn(1, 14 * 14 + 1, 16)}
    ours = MODELS.build(dict(type='MAE', img_size=512, **kw)).resize_abs_pos_embed(dict(ckpt))
    ref = run_mmseg('''
from mmseg.models.backbones import MAE
out['sd'] = MAE(**inp['cfg']).resize_abs_pos_embed(dict(inp['ckpt']))
''', cfg=dict(img_size=512, **kw), ckpt=ckpt)
    assert ours['pos_embed'].shape == (1, 32 * 32 + 1, 16)
    torch.testing.assert_close(ours['pos_embed'], ref['sd']['pos_embed'], rtol=1e-5, atol=1e-5)

FOLDERS = {'beit': 4, 'mae': 2, 'segmenter': 5, 'dpt': 1}   # mmseg 0.30's leaf configs per folder

@pytest.mark.parametrize('folder', list(FOLDERS))
def test_every_config_of_the_folder_has_mmsegs_keys_and_shapes(folder):
    "Every mmseg config under configs/FOLDER builds in segnb (meta device) with mmseg's state_dict keys and shapes."
    names = sorted(os.path.relpath(f, ROOT)[:-3] for f in glob.glob(f'{ROOT}/{folder}/*.py'))
    assert len(names) == FOLDERS[folder], names
    cfgs = {n: _model_cfg(n) for n in names}
    assert_keys_and_shapes(cfgs, patch=LINSPACE_ON_CPU)

SHIPPED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'segnb', 'configs')

@pytest.mark.parametrize('name', ['beit/upernet_beit-base_8x2_640x640_160k_ade20k', 'mae/upernet_mae-base_fp16_8x2_512x512_160k_ade20k',
                                  'segmenter/segmenter_vit-t_mask_8x1_512x512_160k_ade20k', 'dpt/dpt_vit-b16_512x512_160k_ade20k'])
def test_shipped_config_is_mmsegs(name):
    "The config segnb ships gives mmseg's model, optimizer, schedule and test mode."
    ours = Config.fromfile(os.path.join(SHIPPED, name + '.py')).to_dict()
    theirs = Config.fromfile(os.path.join(ROOT, name + '.py'), import_custom_modules=False).to_dict()
    for key in ('model', 'optimizer', 'lr_config', 'data', 'runner', 'evaluation'):
        assert ours.get(key) == theirs.get(key), key

def _small_vit(name, **changes):
    "A ViT config at 64x64: 3 layers of 32 channels (2 heads)."
    return _model_cfg(name, **_merge(dict(backbone=dict(img_size=(64, 64), embed_dims=32, num_layers=3, num_heads=2)), changes))

def test_segmenter_mask_matches_mmseg():
    "ViT + SegmenterMaskTransformerHead (class tokens, no conv_seg): keys, logits, loss."
    cfg = _small_vit('segmenter/segmenter_vit-t_mask_8x1_512x512_160k_ade20k',
                     decode_head=dict(in_channels=32, channels=32, embed_dims=32, num_heads=2, num_classes=150),
                     test_cfg=dict(mode='whole'))
    diff, losses = check_against_mmseg(cfg)
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg'}

def test_segmenter_linear_matches_mmseg():
    "The linear baseline: ViT + FCNHead with num_convs=0 (a 1x1 classifier on the tokens)."
    cfg = _small_vit('segmenter/segmenter_vit-s_linear_8x1_512x512_160k_ade20k',
                     decode_head=dict(in_channels=32, channels=32), test_cfg=dict(mode='whole'))
    check_against_mmseg(cfg)

def test_dpt_matches_mmseg():
    "ViT with output_cls_token + DPTHead (project readout): keys, logits, loss."
    cfg = _small_vit('dpt/dpt_vit-b16_512x512_160k_ade20k', backbone=dict(num_layers=4, out_indices=(0, 1, 2, 3)),
                     decode_head=dict(in_channels=(32,) * 4, channels=16, embed_dims=32, post_process_channels=[8, 16, 32, 32]))
    check_against_mmseg(cfg)
