"""mmseg 0.30's ConvNeXt and PoolFormer configs (backbones `mmcls.ConvNeXt`, `mmcls.PoolFormer` of mmcls 0.25):
segnb builds them without mmcls, with mmseg's keys and shapes, logits and losses.

Needs SEGNB_MMSEG_CONFIGS (mmseg's configs) and SEGNB_MMSEG_VENV (a venv with mmsegmentation 0.30 and mmcls 0.25,
as .ci/run builds it); skips otherwise."""
import glob, os
import pytest, torch
from segnb.config import Config
from segnb.models.segmentors.encoder_decoder import build_segmentor
from mmseg_venv import needs_mmseg, run_mmseg
from zoo_check import assert_keys_and_shapes, bn as _bn

ROOT = os.environ.get('SEGNB_MMSEG_CONFIGS')
pytestmark = [pytest.mark.filterwarnings('ignore'), needs_mmseg,
              pytest.mark.skipif(not ROOT, reason='set SEGNB_MMSEG_CONFIGS to mmsegmentation 0.30.0 mmseg/.mim/configs')]
FAMILY_DIRS = ('convnext', 'poolformer')

def _model_cfg(name, **backbone):
    "The config's model (read with its custom_imports: segnb provides mmcls.models), no pretrained weights."
    cfg = Config.fromfile(os.path.join(ROOT, name + '.py'))
    m = _bn(cfg.to_dict()['model'])
    m['backbone'] = dict(m['backbone'], init_cfg=None, **backbone)
    return m

# mmseg's side imports mmcls.models (so that `mmcls.X` resolves); ConvNeXt's stochastic-depth rates call .item() on a
# torch.linspace, which the meta device refuses: there linspace runs on the CPU
_MM_PRELUDE = '''
import mmcls.models
from mmcv import ConfigDict
from mmseg.models import build_segmentor
_linspace = torch.linspace
torch.linspace = lambda *a, **k: _linspace(*a, **{**k, 'device': 'cpu'})
'''

_MM_RUN = _MM_PRELUDE + '''
m = build_segmentor(ConfigDict(inp['cfg'])).eval()
out['keys'] = list(m.state_dict())
out['shapes'] = {k: tuple(v.shape) for k, v in m.state_dict().items()}
m.load_state_dict(inp['sd'], strict=True)
with torch.no_grad():
    out['logits'] = m.encode_decode(inp['x'], None)
    out['losses'] = m.forward_train(inp['x'], inp['metas'], inp['gt'])
'''

def _random_state(model, seed=0):
    "Non-trivial norms, layer scales and BatchNorm statistics (PyTorch's defaults are ones and zeros)."
    g = torch.Generator().manual_seed(seed)
    for n, t in model.state_dict().items():
        if n.endswith('num_batches_tracked'): continue
        if t.dim() == 1 and ('norm' in n or 'gamma' in n or 'layer_scale' in n or 'running_var' in n or '.bn.' in n):
            t.copy_(torch.rand(t.shape, generator=g) + .5 if not n.endswith(('bias', 'running_mean')) else
                    torch.rand(t.shape, generator=g) * .4 - .2)

def check_against_mmseg(name, size=64, n_classes=150, **backbone):
    "Keys (in order) and shapes, eval logits and losses (decode and auxiliary heads) equal mmseg's with mmcls's backbone."
    torch.manual_seed(0)
    cfg = _model_cfg(name, **backbone)
    model = build_segmentor(cfg).eval()
    _random_state(model)
    x = torch.randn(2, 3, size, size)
    gt = torch.randint(0, n_classes, (2, 1, size, size))
    gt[:, :, :4] = 255
    metas = [dict(img_shape=(size, size, 3), ori_shape=(size, size, 3), pad_shape=(size, size, 3), flip=False)] * 2
    sd = model.state_dict()
    with torch.no_grad(): logits, losses = model.encode_decode(x, None), model.forward_train(x, metas, gt)
    ref = run_mmseg(_MM_RUN, cfg=cfg, sd=sd, x=x, gt=gt, metas=metas)
    assert list(sd) == ref['keys']
    assert {k: tuple(v.shape) for k, v in sd.items()} == ref['shapes']
    torch.testing.assert_close(logits, ref['logits'], rtol=1e-5, atol=1e-5)
    assert set(losses) == set(ref['losses']), (set(losses), set(ref['losses']))
    for k in losses: torch.testing.assert_close(losses[k], ref['losses'][k], rtol=1e-5, atol=1e-5, msg=k)
    return losses, float((logits - ref['logits']).abs().max())

def test_upernet_convnext_tiny_matches_mmseg():
    "ConvNeXt-Tiny's widths with fewer blocks (1, 1, 3, 1; all 11 configs' keys are checked below), UPerHead, FCN auxiliary head."
    losses, _ = check_against_mmseg('convnext/upernet_convnext_tiny_fp16_512x512_160k_ade20k',
                                    arch=dict(depths=[1, 1, 3, 1], channels=[96, 192, 384, 768]))
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)

def test_fpn_poolformer_s12_matches_mmseg():
    "The full PoolFormer-S12 (2, 2, 6, 2 blocks, GroupNorm) with the FPN neck and FPNHead."
    losses, _ = check_against_mmseg('poolformer/fpn_poolformer_s12_8x4_512x512_40k_ade20k')
    assert 'decode.loss_ce' in losses

def test_convnext_with_conv_pointwise_and_pooled_outputs_matches_mmcls():
    "The options the configs leave at their defaults: 1x1 convs instead of Linear, pooled classification outputs."
    from segnb.registry import MODELS
    cfg = dict(type='mmcls.ConvNeXt', arch=dict(depths=[1, 1, 1, 1], channels=[8, 16, 24, 32]), linear_pw_conv=False,
               out_indices=[-1, 1], gap_before_final_norm=True, layer_scale_init_value=0.5)
    torch.manual_seed(0)
    net, x = MODELS.build(dict(cfg)).eval(), torch.randn(2, 3, 64, 64)
    _random_state(net)
    with torch.no_grad(): ours = net(x)
    ref = run_mmseg('''
import mmcls.models
from mmseg.models import BACKBONES
net = BACKBONES.build(inp['cfg'])
net.eval()                      # mmcls's train() returns None
net.load_state_dict(inp['sd'], strict=True)
with torch.no_grad(): out['y'] = net(inp['x'])
''', cfg=cfg, sd=net.state_dict(), x=x)
    assert [y.shape for y in ours] == [(2, 16), (2, 32)]      # in stage order, whatever the order of out_indices
    for a, b in zip(ours, ref['y']): torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)

def _family_configs():
    return sorted(os.path.relpath(f, ROOT)[:-3] for d in FAMILY_DIRS for f in glob.glob(f'{ROOT}/{d}/*.py'))

def test_every_convnext_and_poolformer_config_has_mmsegs_keys_and_shapes():
    "All 11 configs (6 ConvNeXt, 5 PoolFormer; tiny to xlarge, s12 to m48) build in segnb on the meta device with mmseg's keys."
    names = _family_configs()
    assert len(names) == 11, names
    cfgs = {n: _model_cfg(n) for n in names}
    assert_keys_and_shapes(cfgs, patch=_MM_PRELUDE, timeout=600)

def test_trainable_parameters_match_mmseg():
    "The same parameters train (PoolFormer freezes its stem whenever frozen_stages >= 0; ConvNeXt's frozen_stages=2)."
    names = ['poolformer/fpn_poolformer_s12_8x4_512x512_40k_ade20k', 'convnext/upernet_convnext_tiny_fp16_512x512_160k_ade20k']
    cfgs = {n: _model_cfg(n, **({'frozen_stages': 2} if 'convnext' in n else {})) for n in names}
    ref = run_mmseg(_MM_PRELUDE + '''
for n, cfg in inp['cfgs'].items():
    with torch.device('meta'): m = build_segmentor(ConfigDict(cfg)).train()
    out[n] = [k for k, p in m.named_parameters() if p.requires_grad]
''', cfgs=cfgs)
    for n, cfg in cfgs.items():
        with torch.device('meta'): m = build_segmentor(cfg).train()
        assert [k for k, p in m.named_parameters() if p.requires_grad] == ref[n], n


# ---- layer-wise learning-rate decay (segnb.runner.layer_decay) against mmseg's constructors ----

_MM_GROUPS = _MM_PRELUDE + '''
from mmseg.core import build_optimizer
def summary(opt, model):
    names = {id(p): n for n, p in model.named_parameters()}
    return [dict({k: v for k, v in g.items() if k != 'params'}, params=[names[id(p)] for p in g['params']])
            for g in opt.param_groups]
for n, (cfg, opt_cfg) in inp['cases'].items():
    with torch.device('meta'): m = build_segmentor(ConfigDict(cfg))
    out[n] = {'groups': summary(build_optimizer(m, opt_cfg), m),
              'params': [(k, tuple(p.shape), p.requires_grad) for k, p in m.named_parameters()],
              'backbone': type(m.backbone).__name__}
'''

def _summary(opt, model):
    "Each param group as a dict without tensors: its parameters by name, lr, weight_decay, lr_scale, group_name, ..."
    names = {id(p): n for n, p in model.named_parameters()}
    return [dict({k: v for k, v in g.items() if k != 'params'}, params=[names[id(p)] for p in g['params']])
            for g in opt.param_groups]

def _standin(params, backbone_name):
    "A model whose parameters have exactly these (name, shape, requires_grad), in this order; its backbone's class is `backbone_name`."
    root = torch.nn.Module()
    for name, shape, grad in params:
        *path, leaf = name.split('.')
        m = root
        for i, part in enumerate(path):
            if not hasattr(m, part):
                cls = type(backbone_name, (torch.nn.Module,), {}) if i == 0 and part == 'backbone' else torch.nn.Module
                m.add_module(part, cls())
            m = getattr(m, part)
        m.register_parameter(leaf, torch.nn.Parameter(torch.empty(shape, device='meta'), requires_grad=grad))
    return root

def _optimizer_cfg(name, **paramwise):
    opt = Config.fromfile(os.path.join(ROOT, name + '.py')).to_dict()['optimizer']
    opt.pop('_delete_', None)
    if paramwise: opt['paramwise_cfg'] = dict(opt['paramwise_cfg'], **paramwise)
    return opt

def _compare_groups(ref, ours):
    assert [g['group_name'] for g in ours] == [g['group_name'] for g in ref]
    for a, b in zip(ours, ref):
        assert a['params'] == b['params'], a['group_name']
        assert set(a) == set(b), (a['group_name'], set(a) ^ set(b))
        for k in a:
            if isinstance(a[k], float): assert a[k] == pytest.approx(b[k], rel=1e-12), (a['group_name'], k)
            else: assert a[k] == b[k], (a['group_name'], k)

def test_layer_decay_constructors_give_mmsegs_param_groups():
    """ConvNeXt (stage-wise as configured; layer-wise; a frozen stage; ConvNeXt-Base's 27-block stage) on segnb's own
    model, and BEiT and MAE (LayerDecayOptimizerConstructor) on a stand-in with the parameter names, shapes and
    backbone class name of mmseg's model: the same groups, in the same order, with the same parameters, lr,
    weight_decay, lr_scale and optimizer settings as mmseg 0.30's constructors. Once segnb registers BEiT and MAE,
    their real models are used instead of the stand-in (and must have mmseg's parameters)."""
    from segnb.runner.optimizer import build_optimizer
    tiny, base = 'convnext/upernet_convnext_tiny_fp16_512x512_160k_ade20k', 'convnext/upernet_convnext_base_fp16_512x512_160k_ade20k'
    cases = {'convnext_stage_wise': (_model_cfg(tiny), _optimizer_cfg(tiny)),
             'convnext_layer_wise': (_model_cfg(tiny), _optimizer_cfg(tiny, decay_type='layer_wise', num_layers=12)),
             'convnext_frozen': (_model_cfg(tiny, frozen_stages=1), _optimizer_cfg(tiny, decay_type='layer_wise', num_layers=12)),
             'convnext_base_layer_wise': (_model_cfg(base), _optimizer_cfg(base, decay_type='layer_wise', num_layers=12, decay_rate=0.8))}
    for n in ('beit/upernet_beit-base_8x2_640x640_160k_ade20k', 'mae/upernet_mae-base_fp16_8x2_512x512_160k_ade20k'):
        cfg = Config.fromfile(os.path.join(ROOT, n + '.py'), import_custom_modules=False).to_dict()
        cases[n.split('/')[0]] = (dict(_bn(cfg['model']), pretrained=None), _optimizer_cfg(n))
    ref = run_mmseg(_MM_GROUPS, cases=cases, timeout=600)
    assert ref['beit']['backbone'] == 'BEiT' and ref['mae']['backbone'] == 'MAE'
    from segnb.registry import MODELS
    for n, (cfg, opt_cfg) in cases.items():
        if n in ('beit', 'mae') and MODELS.get(cfg['backbone']['type']) is None:   # until segnb has BEiT/MAE (issue 14)
            model = _standin(ref[n]['params'], ref[n]['backbone'])
        else:
            with torch.device('meta'): model = build_segmentor(cfg)
            assert [(k, tuple(p.shape), p.requires_grad) for k, p in model.named_parameters()] == ref[n]['params'], n
        _compare_groups(ref[n]['groups'], _summary(build_optimizer(model, opt_cfg), model))
    assert len(ref['convnext_stage_wise']['groups']) == 12 and len(ref['beit']['groups']) >= 26


# ---- weight converters (segnb.converters) against mmseg's tools/model_converters scripts ----

def _put(sd, prefix, **shapes):
    "Random tensors of these shapes under `prefix` (names with '__' for '.')."
    for name, shape in shapes.items(): sd[prefix + name.replace('__', '.')] = torch.randn(shape)

def _linear(sd, prefix, c_out, c_in, bias=True):
    sd[prefix + '.weight'] = torch.randn(c_out, c_in)
    if bias: sd[prefix + '.bias'] = torch.randn(c_out)

def _norm(sd, prefix, c): _put(sd, prefix + '.', weight=(c,), bias=(c,))

def _vit_like_block(sd, p, c, qkv=True):
    "norm1, attention (fused qkv or not), norm2, MLP: timm's block layout."
    _norm(sd, p + 'norm1', c)
    if qkv: _linear(sd, p + 'attn.qkv', 3 * c, c)
    _linear(sd, p + 'attn.proj', c, c)
    _norm(sd, p + 'norm2', c)
    _linear(sd, p + 'mlp.fc1', 4 * c, c); _linear(sd, p + 'mlp.fc2', c, 4 * c)

def timm_vit(c=8, depth=2):
    sd = {'cls_token': torch.randn(1, 1, c), 'pos_embed': torch.randn(1, 5, c)}
    _put(sd, 'patch_embed.proj.', weight=(c, 3, 4, 4), bias=(c,))
    for i in range(depth): _vit_like_block(sd, f'blocks.{i}.', c)
    _norm(sd, 'norm', c); _linear(sd, 'head', 10, c)
    return sd

def official_swin(c=8, depths=(2, 2)):
    sd = {}
    _put(sd, 'patch_embed.proj.', weight=(c, 3, 4, 4), bias=(c,)); _norm(sd, 'patch_embed.norm', c)
    for i, d in enumerate(depths):
        ci = c * 2 ** i
        for j in range(d):
            p = f'layers.{i}.blocks.{j}.'
            _vit_like_block(sd, p, ci)
            sd[p + 'attn.relative_position_bias_table'] = torch.randn(9, 2 ** i)
            sd[p + 'attn.relative_position_index'] = torch.randint(0, 9, (4, 4))
            if j % 2: sd[p + 'attn_mask'] = torch.zeros(4, 4, 4)
        if i < len(depths) - 1:
            _linear(sd, f'layers.{i}.downsample.reduction', 2 * ci, 4 * ci, bias=False); _norm(sd, f'layers.{i}.downsample.norm', 4 * ci)
    _norm(sd, 'norm', c * 2 ** (len(depths) - 1)); _linear(sd, 'head', 10, c * 2 ** (len(depths) - 1))
    return sd

def official_mit(c=4):
    sd = {}
    for s in (1, 2):
        cs = c * s
        _put(sd, f'patch_embed{s}.proj.', weight=(cs, 3 if s == 1 else c, 3, 3), bias=(cs,)); _norm(sd, f'patch_embed{s}.norm', cs)
        for j in range(2):
            p = f'block{s}.{j}.'
            _norm(sd, p + 'norm1', cs); _linear(sd, p + 'attn.q', cs, cs); _linear(sd, p + 'attn.kv', 2 * cs, cs)
            _linear(sd, p + 'attn.proj', cs, cs)
            if s == 1: _put(sd, p + 'attn.sr.', weight=(cs, cs, 2, 2), bias=(cs,)); _norm(sd, p + 'attn.norm', cs)
            _norm(sd, p + 'norm2', cs); _linear(sd, p + 'mlp.fc1', 4 * cs, cs)
            _put(sd, p + 'mlp.dwconv.dwconv.', weight=(4 * cs, 1, 3, 3), bias=(4 * cs,)); _linear(sd, p + 'mlp.fc2', cs, 4 * cs)
        _norm(sd, f'norm{s}', cs)
    _linear(sd, 'head', 10, 2 * c)
    return sd

def official_beit(c=8, depth=2):
    sd = {'cls_token': torch.randn(1, 1, c), 'mask_token': torch.randn(1, 1, c)}
    _put(sd, 'patch_embed.proj.', weight=(c, 3, 4, 4), bias=(c,))
    for i in range(depth):
        p = f'blocks.{i}.'
        _put(sd, p, gamma_1=(c,), gamma_2=(c,), attn__q_bias=(c,), attn__v_bias=(c,), attn__relative_position_bias_table=(12, 2))
        sd[p + 'attn.relative_position_index'] = torch.randint(0, 12, (5, 5))
        _vit_like_block(sd, p, c)
        del sd[p + 'attn.qkv.bias']                                    # BEiT: q and v biases of their own, none for k
    _norm(sd, 'fc_norm', c); _linear(sd, 'head', 10, c)
    return sd

def official_twins(svt, c=4):
    sd = {}
    for s in range(2):
        cs = c * (s + 1)
        _put(sd, f'patch_embeds.{s}.proj.', weight=(cs, 3 if s == 0 else c, 2, 2), bias=(cs,)); _norm(sd, f'patch_embeds.{s}.norm', cs)
        for j in range(2):
            p = f'blocks.{s}.{j}.'
            _norm(sd, p + 'norm1', cs)
            if svt and j % 2 == 0: _linear(sd, p + 'attn.qkv', 3 * cs, cs)        # SVT's locally-grouped attention
            else:
                _linear(sd, p + 'attn.q', cs, cs); _linear(sd, p + 'attn.kv', 2 * cs, cs)
                _put(sd, p + 'attn.sr.', weight=(cs, cs, 2, 2), bias=(cs,)); _norm(sd, p + 'attn.norm', cs)
            _linear(sd, p + 'attn.proj', cs, cs)
            _norm(sd, p + 'norm2', cs); _linear(sd, p + 'mlp.fc1', 4 * cs, cs); _linear(sd, p + 'mlp.fc2', cs, 4 * cs)
        _put(sd, f'pos_block.{s}.proj.0.', weight=(cs, 1, 3, 3), bias=(cs,))
    _norm(sd, 'norm', 2 * c); _linear(sd, 'head', 10, 2 * c)
    return sd

_MM_CONVERT = '''
import os, runpy, tempfile
tools = os.path.join(os.path.dirname(__import__('mmseg').__file__), '.mim', 'tools', 'model_converters')
with tempfile.TemporaryDirectory() as d:
    for name, (script, extra, ckpt) in inp['cases'].items():
        src, dst = os.path.join(d, name + '.pth'), os.path.join(d, name + '_out.pth')
        torch.save(ckpt, src)
        sys.argv = [script, src, dst] + extra
        runpy.run_path(os.path.join(tools, script), run_name='__main__')
        out[name] = torch.load(dst)
'''

CONVERTER_CASES = {   # segnb kind: (mmseg script, its extra arguments, a checkpoint in the source layout)
    'vit': ('vit2mmseg.py', [], lambda: {'state_dict': timm_vit()}),
    'swin': ('swin2mmseg.py', [], lambda: {'model': official_swin()}),
    'mit': ('mit2mmseg.py', [], lambda: official_mit()),
    'beit': ('beit2mmseg.py', [], lambda: {'model': official_beit()}),
    'twins-pcpvt': ('twins2mmseg.py', ['pcpvt'], lambda: official_twins(svt=False)),
    'twins-svt': ('twins2mmseg.py', ['svt'], lambda: {'state_dict': official_twins(svt=True)}),
}

def test_converters_give_the_output_of_mmsegs_scripts(tmp_path):
    "Each `segnb convert KIND` on a small checkpoint in the source layout writes what mmseg's script writes: keys in order, tensors equal."
    from segnb.converters import convert_checkpoint
    torch.manual_seed(0)
    cases = {k: (script, extra, make()) for k, (script, extra, make) in CONVERTER_CASES.items()}
    ref = run_mmseg(_MM_CONVERT, cases=cases)
    for kind, (_, _, ckpt) in cases.items():
        torch.save(ckpt, tmp_path / f'{kind}.pth')
        ours = convert_checkpoint(kind, str(tmp_path / f'{kind}.pth'), str(tmp_path / 'out' / f'{kind}.pth'))
        assert list(ours) == list(ref[kind]), (kind, [k for k in ours if k not in ref[kind]], [k for k in ref[kind] if k not in ours])
        for k in ours: torch.testing.assert_close(ours[k], ref[kind][k], rtol=0, atol=0, msg=f'{kind} {k}')
        assert list(torch.load(tmp_path / 'out' / f'{kind}.pth')) == list(ours)
    assert any(ours_k.endswith('in_proj_weight') for ours_k in ref['mit'])

def test_converted_vit_loads_strictly_into_mmsegs_vision_transformer(tmp_path):
    "The converted timm ViT has exactly the keys and shapes of mmseg's VisionTransformer (classifier dropped)."
    from segnb.converters import convert_vit
    torch.manual_seed(0)
    sd = convert_vit(timm_vit())
    ref = run_mmseg('''
from mmseg.models import BACKBONES
m = BACKBONES.build(dict(type='VisionTransformer', img_size=8, patch_size=4, embed_dims=8, num_layers=2, num_heads=2,
                         final_norm=True, with_cls_token=True))
m.load_state_dict(inp['sd'], strict=True)
out['ok'] = True
''', sd=sd)
    assert ref['ok']

def test_segnb_convert_command(tmp_path):
    "`segnb convert KIND SRC DST` writes the converted weights; a wrong kind or a missing file is a one-line error, exit status 1."
    import subprocess, sys
    torch.save({'model': timm_vit()}, tmp_path / 'deit.pth')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.environ.get('PYTHONPATH', '')]))
    run = lambda *a: subprocess.run([sys.executable, '-m', 'segnb', 'convert', *a], capture_output=True, text=True, env=env)
    r = run('vit', str(tmp_path / 'deit.pth'), str(tmp_path / 'out' / 'vit.pth'))
    assert r.returncode == 0, r.stderr
    assert list(torch.load(tmp_path / 'out' / 'vit.pth'))[:3] == ['cls_token', 'pos_embed', 'patch_embed.projection.weight']
    r = run('deit', str(tmp_path / 'deit.pth'), str(tmp_path / 'x.pth'))
    assert r.returncode == 1 and r.stderr.strip() == ("segnb convert: error: unknown converter 'deit'; "
                                                      "use one of vit, swin, mit, beit, twins-pcpvt, twins-svt"), r.stderr
    r = run('vit', str(tmp_path / 'none.pth'), str(tmp_path / 'x.pth'))
    assert r.returncode == 1 and 'no checkpoint at' in r.stderr and 'downloads nothing' in r.stderr
