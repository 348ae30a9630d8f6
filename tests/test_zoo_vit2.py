"""Segmenter, DPT, BEiT, MAE and Feature2Pyramid against mmseg 0.30: keys and shapes, logits and losses.

Needs SEGNB_MMSEG_CONFIGS (mmseg's configs) and SEGNB_MMSEG_VENV (a venv with mmsegmentation 0.30); skips otherwise.
Models run at small sizes (64x64 images, a few layers, narrow widths) through config overrides."""
import glob, os
import pytest, torch
from segnb.config import Config
from segnb.registry import MODELS
from segnb.models.segmentors.encoder_decoder import build_segmentor
from mmseg_venv import needs_mmseg, run_mmseg

ROOT = os.environ.get('SEGNB_MMSEG_CONFIGS')
pytestmark = [pytest.mark.filterwarnings('ignore'), needs_mmseg,
              pytest.mark.skipif(not ROOT, reason='set SEGNB_MMSEG_CONFIGS to mmsegmentation 0.30.0 mmseg/.mim/configs')]
BN = dict(type='BN', requires_grad=True)

def _bn(d):
    "SyncBN -> BN everywhere (a single process)."
    if isinstance(d, dict): return {k: ('BN' if k == 'type' and v == 'SyncBN' else _bn(v)) for k, v in d.items()}
    if isinstance(d, (list, tuple)): return type(d)(_bn(v) for v in d)
    return d

def _merge(base, changes):
    "`base` with `changes` merged in recursively (dicts only), as an mmcv config override."
    out = dict(base)
    for k, v in changes.items(): out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out

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

_MMSEG_SEGMENTOR = '''
from mmcv import ConfigDict
from mmseg.models import build_segmentor
torch.manual_seed(0)
m = build_segmentor(ConfigDict(inp['cfg'])).eval()
out['shapes'] = {k: tuple(v.shape) for k, v in m.state_dict().items()}
m.load_state_dict(inp['sd'], strict=True)
with torch.no_grad():
    out['logits'] = m.encode_decode(inp['x'], None)
    out['losses'] = m.forward_train(inp['x'], inp['metas'], inp['gt'])
'''

def check_against_mmseg(cfg, size=64, n_classes=150, tol=1e-5):
    "Keys and shapes, eval logits and eval-mode losses (every head, auxiliary ones included) equal mmseg's."
    torch.manual_seed(0)
    model = build_segmentor(cfg).eval()
    _randomize(model)
    x = torch.randn(2, 3, size, size)
    gt = torch.randint(0, n_classes, (2, 1, size, size))
    gt[:, :, :4] = 255
    metas = [dict(img_shape=(size, size, 3), ori_shape=(size, size, 3), pad_shape=(size, size, 3), flip=False)] * 2
    sd = model.state_dict()
    with torch.no_grad(): logits, losses = model.encode_decode(x, None), model.forward_train(x, metas, gt)
    ref = run_mmseg(_MMSEG_SEGMENTOR, cfg=cfg, sd=sd, x=x, gt=gt, metas=metas)
    assert list(sd) == list(ref['shapes'])
    assert {k: tuple(v.shape) for k, v in sd.items()} == ref['shapes']
    torch.testing.assert_close(logits, ref['logits'], rtol=tol, atol=tol)
    assert set(losses) == set(ref['losses']), (set(losses), set(ref['losses']))
    for k in losses: torch.testing.assert_close(losses[k], ref['losses'][k], rtol=tol, atol=tol, msg=k)
    return (logits - ref['logits']).abs().max().item(), losses

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
