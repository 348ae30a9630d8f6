"""mmseg 0.30's ConvNeXt and PoolFormer configs (backbones `mmcls.ConvNeXt`, `mmcls.PoolFormer` of mmcls 0.25):
segnb builds them without mmcls, with mmseg's keys and shapes, logits and losses.

Needs SEGNB_MMSEG_CONFIGS (mmseg's configs) and SEGNB_MMSEG_VENV (a venv with mmsegmentation 0.30 and mmcls 0.25,
as .ci/run builds it); skips otherwise."""
import glob, os
import pytest, torch
from segnb.config import Config
from segnb.models.segmentors.encoder_decoder import build_segmentor
from mmseg_venv import needs_mmseg, run_mmseg

ROOT = os.environ.get('SEGNB_MMSEG_CONFIGS')
pytestmark = [pytest.mark.filterwarnings('ignore'), needs_mmseg,
              pytest.mark.skipif(not ROOT, reason='set SEGNB_MMSEG_CONFIGS to mmsegmentation 0.30.0 mmseg/.mim/configs')]
FAMILY_DIRS = ('convnext', 'poolformer')

def _bn(d):
    "SyncBN -> BN everywhere (a single process)."
    if isinstance(d, dict): return {k: ('BN' if k == 'type' and v == 'SyncBN' else _bn(v)) for k, v in d.items()}
    if isinstance(d, (list, tuple)): return type(d)(_bn(v) for v in d)
    return d

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
    "The full ConvNeXt-Tiny (3, 3, 9, 3 blocks) with UPerHead and the FCN auxiliary head."
    losses, _ = check_against_mmseg('convnext/upernet_convnext_tiny_fp16_512x512_160k_ade20k')
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
    ref = run_mmseg(_MM_PRELUDE + '''
for n, cfg in inp['cfgs'].items():
    with torch.device('meta'): out[n] = {k: tuple(v.shape) for k, v in build_segmentor(ConfigDict(cfg)).state_dict().items()}
''', cfgs=cfgs, timeout=600)
    for n, cfg in cfgs.items():
        with torch.device('meta'): ours = {k: tuple(v.shape) for k, v in build_segmentor(cfg).state_dict().items()}
        assert list(ours) == list(ref[n]), (n, set(ours) ^ set(ref[n]))
        assert ours == ref[n], n

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
    weight_decay, lr_scale and optimizer settings as mmseg 0.30's constructors."""
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
    for n, (cfg, opt_cfg) in cases.items():
        if n in ('beit', 'mae'): model = _standin(ref[n]['params'], ref[n]['backbone'])
        else:
            with torch.device('meta'): model = build_segmentor(cfg)
            assert [(k, tuple(p.shape), p.requires_grad) for k, p in model.named_parameters()] == ref[n]['params'], n
        _compare_groups(ref[n]['groups'], _summary(build_optimizer(model, opt_cfg), model))
    assert len(ref['convnext_stage_wise']['groups']) == 12 and len(ref['beit']['groups']) >= 26
