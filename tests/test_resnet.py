"""segnb.models.backbones.resnet against torchvision (weights and features), mmsegmentation 0.30 itself (keys, shapes, outputs,
init; when SEGNB_MMSEG_VENV is set) and the mmseg configs corpus (when SEGNB_MMSEG_CONFIGS is also set)."""
import copy, os
import pytest, torch, torch.nn as nn, torchvision
from segnb.models.backbones.resnet import ResNet, ResNetV1c, torchvision_features, model_facts
from segnb.registry import MODELS
from segnb.checkpoint import hub_cache_dir
from mmseg_venv import needs_mmseg, run_mmseg

D8 = dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4))


def no_fc(sd): return {k: v for k, v in sd.items() if not k.startswith('fc.')}


@pytest.mark.parametrize('depth', [18, 50])
def test_torchvision_weights_load_strict_and_give_same_features(depth):
    torch.manual_seed(depth)
    tv = getattr(torchvision.models, f'resnet{depth}')().eval()     # random init, nothing downloaded
    for m in tv.modules():                                            # non-trivial BN statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1); m.running_var.uniform_(0.5, 1.5); nn.init.uniform_(m.weight, 0.5, 1.5)
    ours = ResNet(depth=depth).eval()
    ours.load_state_dict(no_fc(tv.state_dict()), strict=True)
    x = torch.randn(2, 3, 64, 64)
    for grad in (True, False):                  # the reference path: conv then BatchNorm, with and without gradients
        with torch.set_grad_enabled(grad):
            for a, b in zip(ours(x), torchvision_features(tv, x)):
                assert a.shape == b.shape
                torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-4, atol=1e-5)


def test_torchvision_name_through_init_cfg(tmp_path, monkeypatch, capsys):
    """`init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')` reads torch's cache (a temp TORCH_HOME)."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    tv = torchvision.models.resnet18().eval()
    os.makedirs(hub_cache_dir())
    torch.save(tv.state_dict(), os.path.join(hub_cache_dir(), 'resnet18-f37072fd.pth'))   # a bare state dict, like torchvision's
    ours = MODELS.build(dict(type='ResNet', depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')))
    ours.init_weights()
    assert 'unexpected key in source state_dict: fc.weight, fc.bias' in capsys.readouterr().out
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x)[-1], torchvision_features(tv, x)[-1])


def test_pretrained_absent_gives_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    with pytest.warns(UserWarning, match='pretrained is a deprecated'):
        m = ResNetV1c(depth=50, pretrained='open-mmlab://resnet50_v1c')
    with pytest.raises(FileNotFoundError, match=r'open-mmlab://resnet50_v1c is not in the local cache .*resnet50_v1c-2cccc1ad.pth'):
        m.init_weights()


def test_v1c_d8_structure():
    m = ResNetV1c(depth=50, contract_dilation=True, **D8)
    assert len(m.stem) == 9 and not hasattr(m, 'conv1')
    assert [[b.conv2.dilation[0] for b in getattr(m, f'layer{i}')] for i in (1, 2, 3, 4)] == \
           [[1] * 3, [1] * 4, [1] + [2] * 5, [2, 4, 4]]
    assert [b.conv2.stride[0] for b in (m.layer1[0], m.layer2[0], m.layer3[0], m.layer4[0])] == [1, 2, 1, 1]
    outs = m.eval()(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 256, 16, 16), (1, 512, 8, 8), (1, 1024, 8, 8), (1, 2048, 8, 8)]


def test_frozen_stages_get_no_gradient_and_stay_eval():
    m = ResNetV1c(depth=18, frozen_stages=2).train()
    m(torch.randn(2, 3, 32, 32))[-1].sum().backward()
    assert all(p.grad is None for n, p in m.named_parameters() if n.startswith(('stem', 'layer1', 'layer2')))
    assert all(p.grad is not None for n, p in m.named_parameters() if n.startswith(('layer3', 'layer4')))
    assert not m.stem.training and not m.layer2.training and m.layer3.training
    before = m.layer1[0].bn1.running_mean.clone()
    m.train()(torch.randn(2, 3, 32, 32) + 3)
    assert torch.equal(before, m.layer1[0].bn1.running_mean)       # frozen BN statistics do not move


def test_norm_eval_keeps_running_stats():
    m = ResNet(depth=18, norm_eval=True).train()
    rm = m.layer3[0].bn1.running_mean.clone()
    m(torch.randn(2, 3, 32, 32))
    assert torch.equal(rm, m.layer3[0].bn1.running_mean) and m.layer3[0].conv1.weight.requires_grad


def test_with_cp_same_gradients_as_plain():
    torch.manual_seed(0)
    kw = dict(depth=50, num_stages=2, strides=(1, 2), dilations=(1, 1), out_indices=(1,), base_channels=16, stem_channels=16)
    a, b = ResNet(**kw), ResNet(**kw, with_cp=True)
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 32, 32)
    a(x)[0].square().mean().backward(); b(x.requires_grad_())[0].square().mean().backward()
    for (n, p), q in zip(a.named_parameters(), b.parameters()): torch.testing.assert_close(p.grad, q.grad, msg=n)


def test_channels_last_bf16_autocast_matches_fp32():
    """Stated tolerance (CPU, bf16 autocast, channels_last, ResNetV1c-50-D8, random init, eval): relative L2 error of
    the last feature map < 5%; argmax of a 19-class 1x1 classifier on it agrees with fp32 on >= 95% of pixels."""
    torch.manual_seed(0)
    net = ResNetV1c(depth=50, contract_dilation=True, **D8)
    net.init_weights(); net.eval()
    cls = nn.Conv2d(2048, 19, 1).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref = net(x)[-1]; ref_pred = cls(ref).argmax(1)
        net_cl, cls_cl = copy.deepcopy(net).to(memory_format=torch.channels_last), copy.deepcopy(cls).to(memory_format=torch.channels_last)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            low = net_cl(x.contiguous(memory_format=torch.channels_last))[-1]
            low_pred = cls_cl(low).argmax(1)
    assert low.dtype == torch.bfloat16 and low.is_contiguous(memory_format=torch.channels_last)
    assert ((low.float() - ref).norm() / ref.norm()).item() < 0.05
    assert (low_pred == ref_pred).float().mean().item() >= 0.95


def test_flops_match_torchvision_published_ops():
    for depth in (34, 101):
        with torch.device('meta'): f = model_facts(ResNet(depth), size=(224, 224))
        ops = getattr(torchvision.models, f'ResNet{depth}_Weights').IMAGENET1K_V1.meta['_ops']   # GMACs, incl. fc
        assert abs(f['GFLOPs'] / 2 - ops) < 0.01, (depth, f, ops)


@pytest.mark.parametrize('kw,match', [
    (dict(depth=42), 'invalid depth 42; choose one of 18, 34, 50, 101, 152'),
    (dict(depth=50, dcn=dict(type='DCN', deform_groups=1)), 'needs mmcv compiled ops'),
    (dict(depth=50, plugins=[dict(cfg=dict(type='ContextBlock'), position='after_conv3')]), 'plugins=.* are not supported'),
    (dict(depth=50, multi_grid=(1, 2)), r'multi_grid=\(1, 2\) needs one dilation per block of the last stage \(3 blocks\)'),
    (dict(depth=50, out_indices=(4,)), r'out_indices=\(4,\) name a stage past num_stages=4'),
    (dict(depth=50, init_cfg=dict(type='Kaiming')), 'supports init_cfg=None'),
    (dict(depth=50, pretrained=3), 'pretrained must be a str or None')])
def test_bad_arguments(kw, match):
    with pytest.raises((KeyError, ValueError, TypeError, NotImplementedError), match=match): ResNet(**kw)


# ---- activation recomputation in training (recompute_stages, recompute_norm_act) ----

def _train_once(net, x, seed=0):
    "Outputs, input gradient, parameter gradients and BN buffers after one training forward/backward."
    torch.manual_seed(seed)
    x = x.clone().requires_grad_()
    outs = net.train()(x)
    sum((o ** 2).mean() for o in outs).backward()
    return ([o.detach() for o in outs] + [x.grad], {n: p.grad for n, p in net.named_parameters()},
            {k: v.clone() for k, v in net.state_dict().items() if 'running' in k or 'num_batches' in k})


@pytest.mark.parametrize('setting', [dict(recompute_stages=2), dict(recompute_stages=4), dict(recompute_stages=0, recompute_norm_act=True),
                                     dict(recompute_stages=1, recompute_norm_act=True, norm_eval=True),
                                     dict(with_cp=True, recompute_norm_act=True)])
def test_recomputation_trains_like_storing_everything(setting):
    """Outputs and gradients equal, BN running statistics bit for bit and counted once, over two steps."""
    kw = dict(depth=50, stem_channels=16, base_channels=8, contract_dilation=True, **D8)
    torch.manual_seed(0)
    ref = ResNetV1c(**kw, recompute_stages=-1, norm_eval=setting.get('norm_eval', False))
    for m in ref.modules():
        if isinstance(m, nn.BatchNorm2d): nn.init.uniform_(m.weight, .5, 1.5); nn.init.uniform_(m.bias, -.1, .1)
    net = ResNetV1c(**kw, **setting); net.load_state_dict(ref.state_dict())
    for step in range(2):
        x = torch.randn(2, 3, 40, 40)
        (ta, ga, ba), (tb, gb, bb) = _train_once(net, x), _train_once(ref, x)
        for a, b in zip(ta, tb): torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        for n in ga: torch.testing.assert_close(ga[n], gb[n], rtol=1e-5, atol=1e-6, msg=n)
        for k in ba: assert torch.equal(ba[k], bb[k]), (step, k)
    assert int(net.layer1[0].bn1.num_batches_tracked) == (0 if setting.get('norm_eval') else 2)


def test_recomputation_only_in_training_with_grad():
    from unittest import mock
    net = ResNetV1c(depth=18, recompute_stages=4, recompute_norm_act=True, **D8)
    x = torch.randn(2, 3, 32, 32)
    with mock.patch.object(torch.utils.checkpoint, 'checkpoint', side_effect=AssertionError('checkpoint called')) as ck:
        net.eval()(x)
        with torch.no_grad(): net.train()(x)
        assert ck.call_count == 0
        with pytest.raises(AssertionError, match='checkpoint called'): net.train()(x)
    frozen = ResNetV1c(depth=18, frozen_stages=4, recompute_stages=4, **D8).train()    # nothing needs a gradient
    with mock.patch.object(torch.utils.checkpoint, 'checkpoint', side_effect=AssertionError('checkpoint called')):
        frozen(torch.randn(2, 3, 32, 32))


def test_recompute_settings_keep_state_dict_and_validate():
    keys = list(ResNetV1c(depth=50, recompute_stages=-1).state_dict())
    assert list(ResNetV1c(depth=50, recompute_stages=4, recompute_norm_act=True).state_dict()) == keys
    for bad in (5, -2, 1.5):
        with pytest.raises(ValueError, match=r'recompute_stages must be an int from -1 \(store everything\) to 4 \(the stem '
                                              r'and every stage\), got ' + str(bad)):
            ResNet(50, recompute_stages=bad)
    assert ResNet(50).recompute_stages == -1                                              # nothing by default, as mmseg
    one = ResNet(50, num_stages=1, strides=(1,), dilations=(1,), out_indices=(0,), recompute_stages=2)   # 2 > 1 stage: all
    one(torch.randn(2, 3, 32, 32))[0].sum().backward()


def test_pspnet_train_steps_identical_with_recomputation():
    """The PSPNet-R50-D8 config (the RSS benchmark's model) at 64x64: two SGD steps give the same losses, weights
    and BN statistics with the `recompute` speed-up's setting (stem and stages 1-2) as with none (the default)."""
    import json
    from segnb.config import Config
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'segnb', 'configs', '_base_',
                        'models', 'pspnet_r50-d8.py')
    cfg = json.loads(json.dumps(Config.fromfile(path).model).replace('"SyncBN"', '"BN"'))
    cfg['pretrained'] = None
    torch.manual_seed(0)
    models = [build_segmentor(dict(cfg, backbone=dict(cfg['backbone'], recompute_stages=2))), build_segmentor(cfg)]
    models[1].load_state_dict(models[0].state_dict())
    g = torch.Generator().manual_seed(0)
    data = dict(img=torch.randn(2, 3, 64, 64, generator=g), gt_semantic_seg=torch.randint(0, 19, (2, 1, 64, 64), generator=g),
                img_metas=[dict(ori_shape=(64, 64, 3), img_shape=(64, 64, 3), pad_shape=(64, 64, 3), flip=False)] * 2)
    losses = []
    for m in models:
        m.train(); opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
        for step in range(2):
            torch.manual_seed(step)                        # same dropout masks
            out = m.train_step(data, opt); opt.zero_grad(); out['loss'].backward(); opt.step()
            losses.append(out['log_vars']['loss'])
    assert losses[:2] == pytest.approx(losses[2:], rel=1e-5)
    sa, sb = models[0].state_dict(), models[1].state_dict()
    for k in sa:
        if 'num_batches' in k: assert torch.equal(sa[k], sb[k]), k
        else: torch.testing.assert_close(sa[k], sb[k], rtol=1e-4, atol=1e-6, msg=k)
    assert int(sa['backbone.stem.1.num_batches_tracked']) == 2


# ---- mmseg 0.30 itself ----

CASES = {
    'v1c50_d8': dict(type='ResNetV1c', depth=50, contract_dilation=True, **D8),
    'r50b_d8': dict(type='ResNet', depth=50, **D8),
    'v1c18_d8': dict(type='ResNetV1c', depth=18, **D8),
    'v1d101_mg': dict(type='ResNetV1d', depth=101, multi_grid=(1, 2, 4), **D8),
    'r34_gn_caffe': dict(type='ResNet', depth=34, style='caffe', norm_cfg=dict(type='GN', num_groups=32)),
    'v1c152_d16': dict(type='ResNetV1c', depth=152, strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2), out_indices=(3,)),
    'v1d50_caffe_3stages': dict(type='ResNetV1d', depth=50, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1),
                                out_indices=(0, 2), style='caffe', stem_channels=128, base_channels=32),
}

MM_KEYS = '''
from mmseg.models import build_backbone
for name, cfg in inp['cases'].items():
    with torch.device('meta'): m = build_backbone(dict(cfg))
    out[name] = [(k, tuple(v.shape)) for k, v in m.state_dict().items()]
'''

@needs_mmseg
def test_keys_and_shapes_identical_to_mmseg():
    mm = run_mmseg(MM_KEYS, cases=CASES)
    for name, cfg in CASES.items():
        with torch.device('meta'): ours = MODELS.build(dict(cfg))
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == mm[name], name


MM_OUT = '''
from mmseg.models import build_backbone
torch.manual_seed(0)
for name in ('v1c18_d8', 'v1d101_mg', 'r34_gn_caffe'):
    cfg = inp['cases'][name]
    m = build_backbone(dict(cfg)); m.init_weights()
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-.1, .1); mod.running_var.uniform_(.5, 1.5)
            torch.nn.init.uniform_(mod.weight, .5, 1.5); torch.nn.init.uniform_(mod.bias, -.1, .1)
    m.eval()
    with torch.no_grad(): feats = m(inp['x'])
    out[name] = dict(sd=m.state_dict(), feats=feats)
'''

@needs_mmseg
def test_outputs_identical_to_mmseg_given_same_weights():
    x = torch.randn(1, 3, 48, 48)
    mm = run_mmseg(MM_OUT, cases=CASES, x=x)
    for name, got in mm.items():
        ours = MODELS.build(dict(CASES[name])).eval()
        ours.load_state_dict(got['sd'], strict=True)
        with torch.no_grad(): feats = ours(x)
        assert len(feats) == len(got['feats'])
        for a, b in zip(feats, got['feats']):     # relative: deep random nets reach 1e6, thread counts differ
            assert a.shape == b.shape and ((a - b).norm() / b.norm()).item() < 1e-5, name


MM_INIT = '''
from mmseg.models import build_backbone
for name in ('v1c50_d8', 'v1c18_d8'):
    m = build_backbone(dict(inp['cases'][name])); m.init_weights()
    sd = m.state_dict()
    out[name] = dict(zero=sorted(k for k, v in sd.items() if v.dtype.is_floating_point and not v.any()),
                     one=sorted(k for k, v in sd.items() if v.dtype.is_floating_point and bool((v == 1).all())),
                     std={k: float(v.std()) for k, v in sd.items() if k.endswith('conv2.weight')})
'''

@needs_mmseg
def test_default_init_matches_mmseg():
    """Same tensors all-zero / all-one after init_weights (Kaiming convs, unit norms, zero_init_residual) and the same
    conv weight spread."""
    mm = run_mmseg(MM_INIT, cases=CASES)
    for name, ref in mm.items():
        m = MODELS.build(dict(CASES[name])); m.init_weights()
        sd = m.state_dict()
        assert sorted(k for k, v in sd.items() if v.dtype.is_floating_point and not v.any()) == ref['zero']
        assert sorted(k for k, v in sd.items() if v.dtype.is_floating_point and bool((v == 1).all())) == ref['one']
        for k, s in ref['std'].items(): assert abs(float(sd[k].std()) / s - 1) < 0.1, k


# ---- the mmseg 0.30 configs corpus: every ResNet-family backbone config builds with mmseg's keys and shapes ----

CONFIGS = os.environ.get('SEGNB_MMSEG_CONFIGS')

MM_CORPUS = '''
import glob, os, json
from mmcv import Config
from mmseg.models import build_backbone
seen = {}
for path in sorted(glob.glob(os.path.join(inp['root'], '**', '*.py'), recursive=True)):
    if '_base_' in path: continue
    try: cfg = Config.fromfile(path)
    except Exception: continue
    bb = cfg.get('model', {}).get('backbone')
    if not bb or bb.get('type') not in ('ResNet', 'ResNetV1c', 'ResNetV1d'): continue
    bb = json.loads(json.dumps(bb.to_dict() if hasattr(bb, 'to_dict') else dict(bb)).replace('"SyncBN"', '"BN"'))
    bb.pop('pretrained', None); bb.pop('init_cfg', None)
    if bb.get('dcn') or bb.get('plugins'): continue
    key = json.dumps(bb, sort_keys=True)
    if key in seen: seen[key]['configs'].append(os.path.relpath(path, inp['root'])); continue
    with torch.device('meta'): m = build_backbone(dict(bb))
    seen[key] = dict(cfg=bb, configs=[os.path.relpath(path, inp['root'])],
                     keys=[(k, tuple(v.shape)) for k, v in m.state_dict().items()])
out['cases'] = list(seen.values())
'''

@needs_mmseg
@pytest.mark.skipif(not CONFIGS, reason='set SEGNB_MMSEG_CONFIGS to mmseg 0.30\'s .mim/configs folder')
def test_every_resnet_backbone_in_mmseg_configs_matches():
    cases = run_mmseg(MM_CORPUS, timeout=900, root=CONFIGS)['cases']
    n_configs = sum(len(c['configs']) for c in cases)
    assert len(cases) >= 10 and n_configs >= 200, (len(cases), n_configs)
    for c in cases:
        with torch.device('meta'): ours = MODELS.build(dict(c['cfg']))
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == c['keys'], c['configs'][0]
    print(f'{len(cases)} distinct ResNet backbone configs from {n_configs} mmseg configs: keys and shapes identical')


MM_TRAIN = '''
from mmseg.models import build_backbone
torch.manual_seed(0)
m = build_backbone(dict(inp['cfg'])); m.init_weights(); m.train()
for mod in m.modules():      # break zero_init_residual's symmetry so every block contributes
    if isinstance(mod, torch.nn.BatchNorm2d): torch.nn.init.uniform_(mod.weight, .5, 1.5)
sd = {k: v.clone() for k, v in m.state_dict().items()}
outs = m(inp['x'])
sum((o ** 2).mean() for o in outs).backward()
out.update(sd=sd, outs=[o.detach() for o in outs], grads={n: p.grad for n, p in m.named_parameters()},
           running={k: v for k, v in m.state_dict().items() if 'running' in k})
'''

@needs_mmseg
@pytest.mark.parametrize('frozen_stages,setting', [
    (1, {}), (1, dict(with_cp=True)), (-1, dict(recompute_stages=2)),
    (-1, dict(recompute_stages=0, recompute_norm_act=True))])
def test_train_step_identical_to_mmseg(frozen_stages, setting):
    """Train mode (batch statistics), backward: same outputs, gradients and updated running statistics as mmseg
    (which stores everything), whatever segnb recomputes: nothing (the default), with_cp blocks, stages 0-2, conv-only."""
    cfg = dict(CASES['v1c18_d8'], frozen_stages=frozen_stages)
    x = torch.randn(2, 3, 48, 48)
    mm = run_mmseg(MM_TRAIN, cfg=cfg, x=x)
    ours = MODELS.build(dict(cfg, **setting)); ours.load_state_dict(mm['sd'], strict=True); ours.train()
    outs = ours(x.clone().requires_grad_(bool(setting.get('with_cp'))))
    sum((o ** 2).mean() for o in outs).backward()
    for a, b in zip(outs, mm['outs']): torch.testing.assert_close(a.detach(), b, rtol=1e-4, atol=1e-5)
    for n, p in ours.named_parameters():
        if mm['grads'][n] is None: assert p.grad is None, n                 # frozen stem and layer1
        else: torch.testing.assert_close(p.grad, mm['grads'][n], rtol=1e-3, atol=1e-6, msg=n)
    sd = ours.state_dict()
    for k, v in mm['running'].items(): torch.testing.assert_close(sd[k], v, msg=k)


@needs_mmseg
def test_with_cp_updates_bn_statistics_once_unlike_mmseg():
    """mmseg 0.30's with_cp recomputes BN in train mode and counts the batch twice; segnb counts it once."""
    mm = run_mmseg('''
from mmseg.models import build_backbone
m = build_backbone(dict(type='ResNetV1c', depth=18, with_cp=True)); m.train()
m(torch.randn(2, 3, 32, 32, requires_grad=True))[-1].sum().backward()
out['n'] = int(m.layer4[1].bn2.num_batches_tracked)
''')
    ours = ResNetV1c(depth=18, with_cp=True).train()
    ours(torch.randn(2, 3, 32, 32, requires_grad=True))[-1].sum().backward()
    assert (mm['n'], int(ours.layer4[1].bn2.num_batches_tracked)) == (2, 1)
