"""Real-time networks of mmseg 0.30 (BiSeNet, ICNet, STDC, ...): same keys and shapes, logits and losses as mmseg.

Needs SEGNB_MMSEG_CONFIGS (mmseg's configs) and SEGNB_MMSEG_VENV (a venv with mmsegmentation 0.30); skips otherwise."""
import torch
from segnb.models.segmentors.encoder_decoder import build_segmentor
from mmseg_venv import run_mmseg
from zoo_check import MARKS, assert_keys_and_shapes, assert_same, config_names, inputs, model_cfg as _model_cfg, random_norms, run_both

pytestmark = MARKS

def _random_stats(model): return random_norms(model, affine=True)

def check_against_mmseg(name, size=64, n_classes=19, **changes):
    "Keys and shapes, eval logits and eval-mode losses (every head, auxiliary ones included) equal mmseg's."
    torch.manual_seed(0)
    cfg = _model_cfg(name, **changes)
    model = _random_stats(build_segmentor(cfg).eval())
    x, gt, metas = inputs(size, n_classes)
    ours, ref = run_both({name: dict(cfg=cfg, model=model, x=x, gt=gt, metas=metas)})
    assert_same(ours[name], ref[name], name=name)
    return ours[name]['losses']

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
    names = config_names(*FAMILY_DIRS)
    assert len(names) == 35, names
    assert_keys_and_shapes({n: _model_cfg(n) for n in names})


def test_other_variants_give_mmsegs_logits():
    "The model variants the per-family tests do not cover (BiSeNetV1's ResNet-50 context path, STDC2): same eval logits."
    names = ['bisenetv1/bisenetv1_r50-d32_4x4_1024x1024_160k_cityscapes', 'stdc/stdc2_512x1024_80k_cityscapes']
    torch.manual_seed(0)
    x, cases = torch.randn(1, 3, 64, 64), {}
    for n in names:
        cfg = _model_cfg(n)
        cases[n] = dict(cfg=cfg, model=_random_stats(build_segmentor(cfg).eval()), x=x)
    ours, ref = run_both(cases)
    for n in names: assert_same(ours[n], ref[n], name=n)

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
