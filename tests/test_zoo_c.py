"""Real-time networks of mmseg 0.30 (BiSeNet, ICNet, STDC, ...): same keys and shapes, logits and losses as mmseg.

Needs SEGNB_MMSEG_CONFIGS (mmseg's configs) and SEGNB_MMSEG_VENV (a venv with mmsegmentation 0.30); skips otherwise."""
import os
import pytest, torch
from segnb.config import Config
from segnb.models.segmentors.encoder_decoder import build_segmentor
from mmseg_venv import needs_mmseg, run_mmseg

ROOT = os.environ.get('SEGNB_MMSEG_CONFIGS')
pytestmark = [pytest.mark.filterwarnings('ignore'), needs_mmseg,
              pytest.mark.skipif(not ROOT, reason='set SEGNB_MMSEG_CONFIGS to mmsegmentation 0.30.0 mmseg/.mim/configs')]

def _bn(d):
    "SyncBN -> BN everywhere (a single process)."
    if isinstance(d, dict): return {k: ('BN' if k == 'type' and v == 'SyncBN' else _bn(v)) for k, v in d.items()}
    if isinstance(d, (list, tuple)): return type(d)(_bn(v) for v in d)
    return d

def _model_cfg(name, **changes):
    cfg = Config.fromfile(os.path.join(ROOT, name + '.py'), import_custom_modules=False)
    return dict(_bn(dict(cfg.model)), pretrained=None, **changes)

_MMSEG = '''
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

def _random_stats(model):
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-.2, .2); m.running_var.uniform_(.5, 2)
            m.weight.data.uniform_(.5, 1.5); m.bias.data.uniform_(-.2, .2)

def check_against_mmseg(name, size=64, n_classes=19, **changes):
    "Keys and shapes, eval logits and eval-mode losses (every head, auxiliary ones included) equal mmseg's."
    torch.manual_seed(0)
    cfg = _model_cfg(name, **changes)
    model = build_segmentor(cfg).eval()
    _random_stats(model)
    x = torch.randn(2, 3, size, size)
    gt = torch.randint(0, n_classes, (2, 1, size, size))
    gt[:, :, :4] = 255
    metas = [dict(img_shape=(size, size, 3), ori_shape=(size, size, 3), pad_shape=(size, size, 3), flip=False)] * 2
    sd = model.state_dict()
    with torch.no_grad(): logits, losses = model.encode_decode(x, None), model.forward_train(x, metas, gt)
    ref = run_mmseg(_MMSEG, cfg=cfg, sd=sd, x=x, gt=gt, metas=metas)
    assert {k: tuple(v.shape) for k, v in sd.items()} == ref['shapes']
    torch.testing.assert_close(logits, ref['logits'], rtol=1e-5, atol=1e-5)
    assert set(losses) == set(ref['losses']), (set(losses), set(ref['losses']))
    for k in losses: torch.testing.assert_close(losses[k], ref['losses'][k], rtol=1e-5, atol=1e-5, msg=k)
    return losses

def test_bisenetv1_r18_matches_mmseg():
    losses = check_against_mmseg('bisenetv1/bisenetv1_r18-d32_4x4_1024x1024_160k_cityscapes')
    assert {'decode.loss_ce', 'aux_0.loss_ce', 'aux_1.loss_ce'} <= set(losses)

def test_icnet_r18_matches_mmseg():
    losses = check_against_mmseg('icnet/icnet_r18-d8_832x832_80k_cityscapes')
    assert {'decode.loss_ce', 'aux_0.loss_ce', 'aux_1.loss_ce'} <= set(losses)

def test_bisenetv2_matches_mmseg():
    losses = check_against_mmseg('bisenetv2/bisenetv2_fcn_4x4_1024x1024_160k_cityscapes')
    assert {'decode.loss_ce', 'aux_0.loss_ce', 'aux_3.loss_ce'} <= set(losses)

def test_stdc1_matches_mmseg():
    "Decode head with OHEM, two FCN aux heads and STDCHead's detail losses (BCE + Dice)."
    losses = check_against_mmseg('stdc/stdc1_512x1024_80k_cityscapes')
    assert {'decode.loss_ce', 'aux_0.loss_ce', 'aux_1.loss_ce', 'aux_2.loss_ce', 'aux_2.loss_dice'} <= set(losses)

def test_fastscnn_matches_mmseg():
    "FastSCNN + DepthwiseSeparableFCNHead, two FCN aux heads, sigmoid cross-entropy."
    losses = check_against_mmseg('fastscnn/fast_scnn_lr0.12_8x4_160k_cityscapes')
    assert {'decode.loss_ce', 'aux_0.loss_ce', 'aux_1.loss_ce'} <= set(losses)

def test_cgnet_matches_mmseg():
    "CGNet with PReLUs, BN eps 1e-3 and a class-weighted cross-entropy."
    check_against_mmseg('cgnet/cgnet_512x1024_60k_cityscapes')

def test_erfnet_matches_mmseg():
    "ERFNet: factorized convs, transposed-conv decoder, BN eps 1e-3 inside the blocks."
    losses = check_against_mmseg('erfnet/erfnet_fcn_4x4_512x1024_160k_cityscapes')
    assert 'decode.loss_ce' in losses

FAMILY_DIRS = ('bisenetv1', 'bisenetv2', 'icnet', 'stdc', 'fastscnn', 'cgnet', 'erfnet')

def test_every_realtime_config_has_mmsegs_keys_and_shapes():
    "All 35 mmseg configs of these families build in segnb (on the meta device) with mmseg's state_dict keys and shapes."
    import glob
    names = sorted(os.path.relpath(f, ROOT)[:-3] for d in FAMILY_DIRS for f in glob.glob(f'{ROOT}/{d}/*.py'))
    assert len(names) == 35, names
    cfgs = {n: _model_cfg(n) for n in names}
    ref = run_mmseg('''
from mmcv import ConfigDict
from mmseg.models import build_segmentor
for n, cfg in inp['cfgs'].items():
    with torch.device('meta'): out[n] = {k: tuple(v.shape) for k, v in build_segmentor(ConfigDict(cfg)).state_dict().items()}
''', cfgs=cfgs)
    for n, cfg in cfgs.items():
        with torch.device('meta'): ours = {k: tuple(v.shape) for k, v in build_segmentor(cfg).state_dict().items()}
        assert list(ours) == list(ref[n]), (n, set(ours) ^ set(ref[n]))
        assert ours == ref[n], n


def test_other_variants_give_mmsegs_logits():
    "The model variants the per-family tests do not cover (BiSeNetV1's ResNet-50 context path, STDC2): same eval logits."
    names = ['bisenetv1/bisenetv1_r50-d32_4x4_1024x1024_160k_cityscapes', 'stdc/stdc2_512x1024_80k_cityscapes']
    torch.manual_seed(0)
    x, cfgs, sds, logits = torch.randn(1, 3, 64, 64), {}, {}, {}
    for n in names:
        cfgs[n] = _model_cfg(n)
        model = build_segmentor(cfgs[n]).eval()
        _random_stats(model)
        sds[n] = model.state_dict()
        with torch.no_grad(): logits[n] = model.encode_decode(x, None)
    ref = run_mmseg('''
from mmcv import ConfigDict
from mmseg.models import build_segmentor
for n, cfg in inp['cfgs'].items():
    m = build_segmentor(ConfigDict(cfg)).eval()
    m.load_state_dict(inp['sds'][n], strict=True)
    with torch.no_grad(): out[n] = m.encode_decode(inp['x'], None)
''', cfgs=cfgs, sds=sds, x=x)
    for n in names: torch.testing.assert_close(logits[n], ref[n], rtol=1e-5, atol=1e-5, msg=n)

def test_depthwise_separable_fcn_head_with_concat_input_matches_mmseg():
    "The head alone, with two convs and concat_input=True (not used by any mmseg config, but allowed)."
    from segnb.registry import MODELS
    cfg = dict(type='DepthwiseSeparableFCNHead', in_channels=16, channels=8, num_convs=2, concat_input=True, num_classes=3,
               norm_cfg=dict(type='BN', requires_grad=True), dw_act_cfg=dict(type='ReLU'))
    torch.manual_seed(0)
    head, x = MODELS.build(cfg).eval(), torch.randn(2, 16, 8, 8)
    _random_stats(head)
    with torch.no_grad(): ours = head([x])
    ref = run_mmseg('''
from mmseg.models import build_head
h = build_head(inp['cfg']).eval()
h.load_state_dict(inp['sd'], strict=True)
with torch.no_grad(): out['y'] = h([inp['x']])
''', cfg=cfg, sd=head.state_dict(), x=x)
    torch.testing.assert_close(ours, ref['y'], rtol=1e-5, atol=1e-5)
