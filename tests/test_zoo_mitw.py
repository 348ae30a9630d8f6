"""SegFormer (MixVisionTransformer + SegformerHead) and Twins (PCPVT, SVT) of mmseg 0.30: same keys and shapes, logits
and losses as mmseg.

Needs SEGNB_MMSEG_CONFIGS (mmseg's configs) and SEGNB_MMSEG_VENV (a venv with mmsegmentation 0.30); skips otherwise."""
import glob, os
import pytest, torch
from segnb.config import Config
from segnb.models.segmentors.encoder_decoder import build_segmentor
from mmseg_venv import needs_mmseg, run_mmseg
from zoo_check import assert_keys_and_shapes, LINSPACE_ON_CPU, bn as _bn, assert_same, inputs, random_norms, run_both

ROOT = os.environ.get('SEGNB_MMSEG_CONFIGS')
pytestmark = [pytest.mark.filterwarnings('ignore'), needs_mmseg,
              pytest.mark.skipif(not ROOT, reason='set SEGNB_MMSEG_CONFIGS to mmsegmentation 0.30.0 mmseg/.mim/configs')]

def _merge(cfg, changes):
    "`cfg` with nested dict `changes` merged in."
    out = dict(cfg)
    for k, v in changes.items(): out[k] = _merge(out.get(k) or {}, v) if isinstance(v, dict) else v
    return out

def _model_cfg(name, **changes):
    "mmseg's model config `name` with SyncBN -> BN, no pretrained weights, and `changes` merged in."
    cfg = Config.fromfile(os.path.join(ROOT, name + '.py'), import_custom_modules=False)
    model = _bn(cfg.to_dict()['model'] if hasattr(cfg, 'to_dict') else dict(cfg.model))
    model = _merge(model, dict(pretrained=None, backbone=dict(init_cfg=None)))
    return _merge(model, changes)

def _randomize(model):
    "Random BN statistics and non-trivial norm affines, so that a wrong norm or a swapped key shows in the logits."
    return random_norms(model, affine=True, layer_norm=True)

def check_against_mmseg(name, size=64, n_classes=19, batch=2, **changes):
    "Keys and shapes, eval logits and eval-mode losses (every head, auxiliary ones included) equal mmseg's."
    torch.manual_seed(0)
    cfg = _model_cfg(name, **changes)
    model = build_segmentor(cfg).eval()
    model.init_weights()   # mmseg's init (trunc-normal linears, fan-out convs), as training starts from
    _randomize(model)
    x, gt, metas = inputs(size, n_classes, batch)
    ours, ref = run_both({name: dict(cfg=cfg, model=model, x=x, gt=gt, metas=metas)})
    assert_same(ours[name], ref[name], name=name)
    return (ours[name]['logits'] - ref[name]['logits']).abs().max().item()

def test_segformer_mit_b0_matches_mmseg():
    "MiT-B0 + SegformerHead as shipped (all four stages, sr ratios 8-4-2-1), on a 64x64 input."
    diff = check_against_mmseg('segformer/segformer_mit-b0_512x512_160k_ade20k', n_classes=150)
    print(f'segformer b0 max logit diff {diff:.2e}')

def test_twins_pcpvt_s_uperhead_matches_mmseg():
    "PCPVT-S + UPerHead + FCN aux head (depths cut to 1-1-2-1 to keep it fast; widths, heads, sr ratios as shipped)."
    check_against_mmseg('twins/twins_pcpvt-s_uperhead_8x4_512x512_160k_ade20k', n_classes=150, batch=1,
                        backbone=dict(depths=[1, 1, 2, 1]), decode_head=dict(channels=64), auxiliary_head=dict(channels=32))

def test_twins_svt_s_fpn_matches_mmseg():
    "SVT-S + FPN + FPNHead on 64x64: stage maps 16, 8, 4, 2 pixels, so every window is padded on both sides (masked)."
    check_against_mmseg('twins/twins_svt-s_fpn_fpnhead_8x4_512x512_80k_ade20k', n_classes=150, batch=1,
                        backbone=dict(depths=[2, 2, 2, 2]))

def test_twins_svt_lsa_one_sided_padding_matches_mmseg():
    "SVT on a 112x84 input: stage-1 map 28x21, a multiple of 7 in height and width; stage 2 14x11 (right padding only,"
    " which mmseg leaves unmasked), stage 3 7x6."
    check_against_mmseg('twins/twins_svt-s_uperhead_8x2_512x512_160k_ade20k', n_classes=150, batch=1,
                        backbone=dict(depths=[2, 2, 2, 2]), decode_head=dict(channels=64), auxiliary_head=dict(channels=32),
                        size=(112, 84))

FAMILY_DIRS = ('segformer', 'twins')

def test_every_segformer_and_twins_config_has_mmsegs_keys_and_shapes():
    "All 25 mmseg configs of these families (13 SegFormer, 12 Twins) build in segnb (on the meta device) with mmseg's"
    " state_dict keys, in mmseg's order, and shapes."
    names = sorted(os.path.relpath(f, ROOT)[:-3] for d in FAMILY_DIRS for f in glob.glob(f'{ROOT}/{d}/*.py'))
    assert len(names) == 25, names
    cfgs = {n: _model_cfg(n) for n in names}
    assert_keys_and_shapes(cfgs, patch=LINSPACE_ON_CPU)

def test_larger_variants_give_mmsegs_logits():
    "MiT-B2 (depths 3-4-6-3, width 64) and PCPVT-B / SVT-B at reduced depth: same eval logits as mmseg."
    names = {'segformer/segformer_mit-b2_512x512_160k_ade20k': dict(backbone=dict(num_layers=[1, 1, 2, 1])),
             'twins/twins_pcpvt-b_fpn_fpnhead_8x4_512x512_80k_ade20k': dict(backbone=dict(depths=[1, 1, 2, 1])),
             'twins/twins_svt-b_uperhead_8x2_512x512_160k_ade20k': dict(backbone=dict(depths=[2, 2, 2, 2]),
                                                                        decode_head=dict(channels=64))}
    torch.manual_seed(0)
    x, cfgs, sds, logits = torch.randn(1, 3, 96, 96), {}, {}, {}
    for n, changes in names.items():
        cfgs[n] = _model_cfg(n, **changes)
        model = build_segmentor(cfgs[n]).eval()
        model.init_weights()
        _randomize(model)
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

SHIPPED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'segnb', 'configs')

@pytest.mark.parametrize('name', ['segformer/segformer_mit-b0_512x512_160k_ade20k',
                                  'twins/twins_pcpvt-s_uperhead_8x4_512x512_160k_ade20k',
                                  'twins/twins_svt-s_fpn_fpnhead_8x4_512x512_80k_ade20k'])
def test_shipped_config_is_mmsegs(name):
    "The config segnb ships resolves to mmseg's: the same model, optimizer, LR schedule, runner and batch size."
    ours = Config.fromfile(os.path.join(SHIPPED, name + '.py'), import_custom_modules=False)
    theirs = Config.fromfile(os.path.join(ROOT, name + '.py'), import_custom_modules=False)
    for key in ('model', 'optimizer', 'lr_config', 'runner'): assert ours[key] == theirs[key], key
    assert ours.data.samples_per_gpu == theirs.data.samples_per_gpu
    with torch.device('meta'): build_segmentor(_bn(dict(ours.model, pretrained=None)))

@pytest.mark.parametrize('with_cp', [False, True])
def test_mit_train_mode_gradients_match_mmseg(with_cp):
    "Train mode (dropout and drop-path off, so deterministic), with and without checkpointing: MiT's input gradient"
    " and one weight gradient equal mmseg's."
    from segnb.registry import MODELS
    cfg = dict(type='MixVisionTransformer', embed_dims=8, num_heads=[1, 2, 2, 4], num_layers=[1, 2, 1, 1], with_cp=with_cp)
    torch.manual_seed(0)
    net = MODELS.build(cfg).train()
    net.init_weights()
    x = torch.randn(1, 3, 32, 32, requires_grad=True)
    sum(o.square().mean() for o in net(x)).backward()
    ref = run_mmseg('''
from mmseg.models import build_backbone
m = build_backbone(inp['cfg']).train()
m.load_state_dict(inp['sd'], strict=True)
x = inp['x'].clone().requires_grad_(True)
sum(o.square().mean() for o in m(x)).backward()
out['gx'] = x.grad
out['gw'] = m.layers[1][1][0].attn.attn.in_proj_weight.grad
''', cfg=cfg, sd=net.state_dict(), x=x.detach())
    torch.testing.assert_close(x.grad, ref['gx'], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(net.layers[1][1][0].attn.attn.in_proj_weight.grad, ref['gw'], rtol=1e-5, atol=1e-6)
