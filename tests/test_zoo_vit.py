"""Plain ViT and SETR of mmseg 0.30 (VisionTransformer, MultiLevelNeck, MLANeck, SETRUPHead, SETRMLAHead): same keys and
shapes, logits and losses as mmseg.

Needs SEGNB_MMSEG_CONFIGS (mmseg's configs) and SEGNB_MMSEG_VENV (a venv with mmsegmentation 0.30); skips otherwise."""
import glob, os
import pytest, torch
from segnb.config import Config
from segnb.registry import MODELS
from segnb.models.segmentors.encoder_decoder import build_segmentor
from mmseg_venv import needs_mmseg, run_mmseg
from zoo_check import assert_keys_and_shapes, LINSPACE_ON_CPU, bn as _bn, assert_same, inputs, random_norms, run_both

ROOT = os.environ.get('SEGNB_MMSEG_CONFIGS')
pytestmark = [pytest.mark.filterwarnings('ignore'), needs_mmseg,
              pytest.mark.skipif(not ROOT, reason='set SEGNB_MMSEG_CONFIGS to mmsegmentation 0.30.0 mmseg/.mim/configs')]

def _model_cfg(name, backbone=None, small=True):
    "mmseg's model cfg of config `name`, single-process, no checkpoint, at test size (`_shrink`), `backbone` keys overridden."
    cfg = Config.fromfile(os.path.join(ROOT, name + '.py'), import_custom_modules=False)
    model = dict(_bn(dict(cfg.model)), pretrained=None)
    model['backbone'] = dict(model['backbone'], init_cfg=None)
    if small: model = _shrink(model)
    model['backbone'].update(backbone or {})
    return model

def _random_stats(model): return random_norms(model, affine=True, layer_norm=True)

def _random_embeddings(model):
    "Non-zero class token and position embedding (both start at zero), so that their use is tested."
    for name, p in model.named_parameters():
        if name.endswith(('cls_token', 'pos_embed')): p.data.normal_(0, 0.5)

def check_against_mmseg(name, backbone=None, size=64, n_classes=19, small=True):
    "Keys (in order) and shapes, eval logits and eval-mode losses (auxiliary heads included) equal mmseg's."
    torch.manual_seed(0)
    cfg = _model_cfg(name, backbone, small)
    model = build_segmentor(cfg).eval()
    _random_stats(model); _random_embeddings(model)
    x, gt, metas = inputs(size, n_classes)
    ours, ref = run_both({name: dict(cfg=cfg, model=model, x=x, gt=gt, metas=metas)})
    assert_same(ours[name], ref[name], ordered_keys=True, name=name)
    return ours[name]['losses']

def _shrink(model, dims=64, heads=4):
    "The same model at test size: the ViT `dims` wide with one layer more than it has outputs (the last output skips one)."
    model, bb = dict(model), dict(model['backbone'])
    old, outs = bb.get('embed_dims', 768), bb.get('out_indices', -1)
    if isinstance(outs, int): bb.update(num_layers=2)
    else: bb.update(num_layers=len(outs) + 1, out_indices=tuple(range(len(outs) - 1)) + (len(outs),))
    bb.update(embed_dims=dims, num_heads=heads)
    model['backbone'] = bb
    def narrow(d):
        if isinstance(d, (list, tuple)): return type(d)(narrow(v) for v in d)
        if not isinstance(d, dict): return d
        d = dict(d)
        c = d.get('in_channels')
        if c == old: d['in_channels'] = dims
        elif isinstance(c, (list, tuple)) and old in c: d['in_channels'] = type(c)(dims if v == old else v for v in c)
        if d.get('type') == 'MultiLevelNeck' and d.get('out_channels') == old: d['out_channels'] = dims
        return d
    for k in ('neck', 'decode_head', 'auxiliary_head'):
        if model.get(k) is not None: model[k] = narrow(model[k])
    return model

def test_upernet_vit_b16_mln_matches_mmseg():
    "ViT + MultiLevelNeck (scales 4, 2, 1, 0.5) + UPerHead + FCN auxiliary head; img_size = the input: no resizing."
    losses = check_against_mmseg('vit/upernet_vit-b16_mln_512x512_80k_ade20k', dict(img_size=(64, 64)), n_classes=150)
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)

def test_upernet_vit_b16_ln_mln_resized_pos_embed_matches_mmseg():
    "final_norm=True; img_size 512 and a 64x64 input: the 32x32 position grid is resized (bicubic) on every forward."
    check_against_mmseg('vit/upernet_vit-b16_ln_mln_512x512_160k_ade20k', n_classes=150)

def test_upernet_deit_s16_matches_mmseg():
    "DeiT-S: ViT with drop_path_rate=0.1 (an eval forward, so the same logits) and no neck: UPerHead on 1/16 maps."
    check_against_mmseg('vit/upernet_deit-s16_512x512_80k_ade20k', n_classes=150)

def test_setr_naive_matches_mmseg():
    "SETR naive: SETRUPHead with one 1x1 conv, three SETRUPHead auxiliary heads; bilinear pos-embed resizing."
    losses = check_against_mmseg('setr/setr_vit-large_naive_8x1_768x768_80k_cityscapes')
    assert {'decode.loss_ce', 'aux_0.loss_ce', 'aux_1.loss_ce', 'aux_2.loss_ce'} <= set(losses)

def test_setr_pup_matches_mmseg():
    "SETR PUP: four conv + 2x upsampling steps in the decode head (progressive upsampling)."
    losses = check_against_mmseg('setr/setr_pup_512x512_160k_b16_ade20k', n_classes=150)
    assert {'decode.loss_ce', 'aux_0.loss_ce', 'aux_2.loss_ce'} <= set(losses)

def test_setr_mla_matches_mmseg():
    "SETR MLA: with_cls_token=False, MLANeck (per-level LN, top-down sums), SETRMLAHead and four FCN auxiliary heads."
    losses = check_against_mmseg('setr/setr_vit-large_mla_8x1_768x768_80k_cityscapes')
    assert {'decode.loss_ce', 'aux_0.loss_ce', 'aux_3.loss_ce'} <= set(losses)

def test_segmenter_linear_matches_mmseg():
    "Segmenter's linear baseline: a full-size ViT-S/16 (final_norm, drop_path 0.1) and a 1x1 FCNHead, on a 64x64 input."
    check_against_mmseg('segmenter/segmenter_vit-s_linear_8x1_512x512_160k_ade20k', n_classes=150, small=False)

FAMILY_DIRS = ('setr', 'vit')

def test_every_vit_and_setr_config_has_mmsegs_keys_and_shapes():
    """All 18 mmseg configs under setr/ and vit/, and Segmenter's linear-head config (a ViT-S and an FCNHead, the one other
    config that needs no other new type), build in segnb (meta device, full size) with mmseg's keys, in order, and shapes."""
    names = sorted(os.path.relpath(f, ROOT)[:-3] for d in FAMILY_DIRS for f in glob.glob(f'{ROOT}/{d}/*.py'))
    assert len(names) == 18, names
    names.append('segmenter/segmenter_vit-s_linear_8x1_512x512_160k_ade20k')
    cfgs = {n: _model_cfg(n, small=False) for n in names}
    assert_keys_and_shapes(cfgs, patch=LINSPACE_ON_CPU)

SHIPPED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'segnb', 'configs')

def _plain(x):
    if isinstance(x, dict): return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)): return tuple(_plain(v) for v in x)
    return x

@pytest.mark.parametrize('name', ['vit/upernet_vit-b16_mln_512x512_80k_ade20k', 'setr/setr_naive_512x512_160k_b16_ade20k',
                                  'setr/setr_pup_512x512_160k_b16_ade20k', 'setr/setr_mla_512x512_160k_b8_ade20k'])
def test_shipped_config_equals_mmsegs(name):
    "segnb's shipped config gives the same model, optimizer, schedule and data settings as mmseg's file of that name."
    ours, theirs = Config.fromfile(os.path.join(SHIPPED, name + '.py')), Config.fromfile(os.path.join(ROOT, name + '.py'), import_custom_modules=False)
    for key in ('model', 'optimizer', 'optimizer_config', 'lr_config', 'runner', 'checkpoint_config', 'evaluation', 'data'):
        assert _plain(ours[key]) == _plain(theirs[key]), (name, key)

def test_resize_pos_embed_matches_mmseg():
    "The function (bicubic, bilinear; square and non-square grids, up and down) equals mmseg's staticmethod."
    from segnb.models.backbones.vit import resize_pos_embed
    torch.manual_seed(0)
    cases = [((1, 1 + 14 * 14, 32), (20, 20), (14, 14), 'bicubic'), ((1, 1 + 14 * 14, 32), (8, 11), (14, 14), 'bilinear'),
             ((1, 1 + 6 * 4, 16), (9, 5), (6, 4), 'bicubic'), ((1, 1 + 6 * 4, 16), (3, 2), (6, 4), 'bilinear')]
    inputs = [(torch.randn(*shape), new, old, mode) for shape, new, old, mode in cases]
    ref = run_mmseg('''
from mmseg.models.backbones.vit import VisionTransformer
out['r'] = [VisionTransformer.resize_pos_embed(*c) for c in inp['cases']]
''', cases=inputs)
    for c, r in zip(inputs, ref['r']): torch.testing.assert_close(resize_pos_embed(*c), r, rtol=0, atol=0)

def test_checkpoint_of_another_size_loads_as_in_mmseg():
    "init_weights with a Pretrained checkpoint saved at 64x64 into a 96x80 model: the same resized pos_embed and weights."
    import tempfile
    torch.manual_seed(0)
    small = MODELS.build(dict(type='VisionTransformer', img_size=64, embed_dims=32, num_layers=2, num_heads=4))
    with torch.no_grad(): small.pos_embed.normal_()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, 'vit64.pth')
        torch.save(dict(state_dict=small.state_dict()), path)
        cfg = dict(type='VisionTransformer', img_size=(96, 80), embed_dims=32, num_layers=2, num_heads=4,
                   interpolate_mode='bicubic', init_cfg=dict(type='Pretrained', checkpoint=path))
        big = MODELS.build(cfg); big.init_weights()
        ref = run_mmseg('''
from mmseg.models import build_backbone
m = build_backbone(inp['cfg']); m.init_weights()
out['sd'] = m.state_dict()
''', cfg=cfg)
    assert big.pos_embed.shape == (1, 1 + 6 * 5, 32)
    for k, v in big.state_dict().items(): torch.testing.assert_close(v, ref['sd'][k], rtol=0, atol=0, msg=k)

_BACKBONE = '''
from mmseg.models import build_backbone
outs = {}
for i, (cfg, sd) in enumerate(zip(inp['cfgs'], inp['sds'])):
    m = build_backbone(cfg); m.eval(); m.load_state_dict(sd, strict=True)   # mmseg's ViT.train() returns None
    with torch.no_grad(): outs[i] = m(inp['x'])
out['outs'] = outs
'''

def test_vit_options_match_mmseg():
    "The options the configs leave at their defaults: output_cls_token, patch_norm, final_norm, no qkv bias, three FCs, ReLU,"
    "non-square img_size and input (resized grid), out_indices=-1; same outputs as mmseg's ViT."
    base = dict(type='VisionTransformer', img_size=(64, 48), embed_dims=32, num_layers=3, num_heads=4)
    cfgs = [dict(base, output_cls_token=True, out_indices=(0, 2)), dict(base, patch_norm=True, final_norm=True),
            dict(base, qkv_bias=False, num_fcs=3, act_cfg=dict(type='ReLU'), mlp_ratio=2, interpolate_mode='bilinear'),
            dict(base, with_cls_token=False, patch_size=8, out_indices=[1])]
    torch.manual_seed(0)
    x = torch.randn(2, 3, 80, 64)
    models = [MODELS.build(c).eval() for c in cfgs]
    for m in models:
        m.init_weights()
        with torch.no_grad(): m.pos_embed.normal_(); m.cls_token.normal_()
    sds = [m.state_dict() for m in models]
    ref = run_mmseg(_BACKBONE, cfgs=cfgs, sds=sds, x=x)['outs']
    for i, m in enumerate(models):
        with torch.no_grad(): ours = m(x)
        torch.testing.assert_close(ours, ref[i], rtol=1e-5, atol=1e-5, msg=lambda s: f'{cfgs[i]}: {s}')
    assert isinstance(ours, tuple) and ref[0][0][1].shape == (2, 32)

def test_multilevel_neck_single_input_with_norm_matches_mmseg():
    "One input feeding every scale, with BN + ReLU in the convs (no mmseg config does this; the neck allows it)."
    cfg = dict(type='MultiLevelNeck', in_channels=[16], out_channels=8, scales=[0.5, 1, 2, 4], norm_cfg=dict(type='BN'),
               act_cfg=dict(type='ReLU'))
    torch.manual_seed(0)
    neck, x = MODELS.build(cfg).eval(), torch.randn(2, 16, 6, 6)
    _random_stats(neck)
    with torch.no_grad(): ours = neck([x])
    ref = run_mmseg('''
from mmseg.models.builder import build_neck
n = build_neck(inp['cfg']).eval(); n.load_state_dict(inp['sd'], strict=True)
with torch.no_grad(): out['y'] = n([inp['x']])
''', cfg=cfg, sd=neck.state_dict(), x=x)
    torch.testing.assert_close(ours, ref['y'], rtol=1e-5, atol=1e-5)
