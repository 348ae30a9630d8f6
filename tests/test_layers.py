"""segnb.models.utils.layers against torch and, when SEGNB_MMSEG_VENV is set, mmcv 1.7 / mmseg 0.30 themselves."""
import warnings
import pytest, torch, torch.nn as nn, torch.nn.functional as F
import segnb.models.utils.layers as L
from segnb.models.utils.layers import (ConvModule, DepthwiseSeparableConvModule, build_norm_layer,
                                 build_activation_layer, resize)
from mmseg_venv import needs_mmseg, run_mmseg

CASES = [dict(norm_cfg=dict(type='BN')), dict(norm_cfg=dict(type='GN', num_groups=2)), dict(norm_cfg=dict(type='IN')),
         dict(act_cfg=None), dict(with_spectral_norm=True), dict(padding_mode='reflect', padding=1),
         dict(norm_cfg=dict(type='BN'), order=('act', 'conv', 'norm')), dict(norm_cfg=dict(type='SyncBN'), bias=True),
         dict(act_cfg=dict(type='LeakyReLU', negative_slope=0.2), stride=2, dilation=2, padding=2),
         dict(norm_cfg=dict(type='BN'), act_cfg=dict(type='GELU'), groups=2)]


def test_syncbn_without_process_group_is_bn_with_one_warning(monkeypatch):
    monkeypatch.setattr(L, '_SYNCBN_WARNED', False)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        mods = [ConvModule(4, 4, 3, norm_cfg=dict(type='SyncBN', requires_grad=True)) for _ in range(10)]
    assert all(type(m.bn) is nn.BatchNorm2d for m in mods)
    assert len([x for x in w if 'SyncBN needs an initialised torch.distributed process group' in str(x.message)]) == 1


def test_syncbn_with_process_group_and_gpu_is_syncbn(monkeypatch):
    monkeypatch.setattr(torch.distributed, 'is_initialized', lambda: True)
    monkeypatch.setattr(torch.accelerator, 'is_available', lambda: True)
    name, layer = build_norm_layer(dict(type='SyncBN'), 8)
    assert name == 'bn' and type(layer) is nn.SyncBatchNorm


def test_syncbn_in_cpu_only_process_group_is_bn(monkeypatch):
    """torch's SyncBatchNorm raises on CPU tensors in training, so a Gloo (CPU) job gets BN, with the reason."""
    monkeypatch.setattr(torch.distributed, 'is_initialized', lambda: True)
    monkeypatch.setattr(torch.accelerator, 'is_available', lambda: False)
    monkeypatch.setattr(L, '_SYNCBN_WARNED', False)
    with pytest.warns(UserWarning, match='SyncBN only runs on GPU/XPU tensors in torch and this machine has none'):
        name, layer = build_norm_layer(dict(type='SyncBN'), 8)
    assert name == 'bn' and type(layer) is nn.BatchNorm2d


def test_conv_module_equals_torch_layers():
    torch.manual_seed(0)
    m = ConvModule(4, 6, 3, padding=1, norm_cfg=dict(type='GN', num_groups=3), act_cfg=dict(type='ReLU')).train()
    x = torch.randn(2, 4, 9, 9)
    ref = F.relu(F.group_norm(F.conv2d(x, m.conv.weight, None, 1, 1), 3, m.gn.weight, m.gn.bias))
    torch.testing.assert_close(m(x), ref)
    assert m.activate.inplace and m.conv.bias is None


@pytest.mark.parametrize('cfg,match', [
    (dict(type='Nope'), "Unrecognized norm layer type 'Nope'; registered: BN, BN1d"),
    ('BN', "norm layer cfg must be a dict like dict\\(type=...\\), got 'BN'"),
    (dict(requires_grad=True), 'norm layer cfg must contain the key "type"')])
def test_norm_errors(cfg, match):
    with pytest.raises((KeyError, TypeError), match=match): build_norm_layer(cfg, 4)


def test_unknown_padding_and_activation():
    with pytest.raises(KeyError, match="padding_mode 'mirror' is not supported"): ConvModule(3, 4, 3, padding_mode='mirror')
    with pytest.raises(KeyError, match="'Mish' is not in the activation layer registry"): build_activation_layer(dict(type='Mish'))


MM_CONV = '''
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
torch.manual_seed(0)
res = []
for c in inp['cases']:
    m = ConvModule(4, 8, 3, **c).eval()
    with torch.no_grad(): y = m(inp['x'])
    res.append(dict(sd=m.state_dict(), y=y))
m = DepthwiseSeparableConvModule(4, 8, 3, padding=2, dilation=2, norm_cfg=dict(type='BN'), pw_act_cfg=None).eval()
with torch.no_grad(): res.append(dict(sd=m.state_dict(), y=m(inp['x'])))
out['res'] = res
'''

@needs_mmseg
def test_conv_modules_match_mmcv_keys_and_outputs():
    x = torch.randn(2, 4, 12, 12)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        res = run_mmseg(MM_CONV, cases=CASES, x=x)['res']
        ours = [ConvModule(4, 8, 3, **c).eval() for c in CASES]
    ours.append(DepthwiseSeparableConvModule(4, 8, 3, padding=2, dilation=2, norm_cfg=dict(type='BN'), pw_act_cfg=None).eval())
    for i, (m, ref) in enumerate(zip(ours, res)):
        assert [(k, v.shape) for k, v in m.state_dict().items()] == [(k, v.shape) for k, v in ref['sd'].items()], i
        m.load_state_dict(ref['sd'], strict=True)
        with torch.no_grad(): torch.testing.assert_close(m(x), ref['y'], msg=str(i))


MM_RESIZE = '''
import warnings
from mmseg.ops import resize
out['msgs'] = []
for (h, w), size in inp['cases']:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter('always')
        y = resize(torch.zeros(1, 1, h, w), size=size, mode='bilinear', align_corners=True)
    out['msgs'].append([str(r.message) for r in rec])
'''

@needs_mmseg
def test_resize_warns_exactly_like_mmseg():
    cases = [((8, 8), (32, 32)), ((9, 9), (33, 33)), ((8, 9), (32, 33)), ((1, 8), (4, 32)), ((16, 16), (8, 8)), ((65, 129), (513, 1025))]
    ref = run_mmseg(MM_RESIZE, cases=cases)['msgs']
    for (hw, size), want in zip(cases, ref):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter('always')
            resize(torch.zeros(1, 1, *hw), size=size, mode='bilinear', align_corners=True)
        assert [str(r.message) for r in rec] == want, (hw, size)
