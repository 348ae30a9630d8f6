"Decode heads: errors, layouts, and a differential test against mmsegmentation 0.30 (when SEGNB_MMSEG_VENV is set)."
import pytest, torch
from segnb.registry import MODELS, PIXEL_SAMPLERS
import segnb.models.decode_heads.heads  # noqa: F401 (registers the heads)
from mmseg_venv import needs_mmseg, run_mmseg

pytestmark = [pytest.mark.filterwarnings('ignore:Default ``avg_non_ignore``'),
              pytest.mark.filterwarnings('ignore:When align_corners=True')]
BN = dict(type='BN', requires_grad=True)
CFGS = dict(
    fcn=dict(type='FCNHead', in_channels=64, in_index=3, channels=16, num_convs=2, concat_input=True, dilation=2,
             dropout_ratio=0, num_classes=5, norm_cfg=BN),
    aux=dict(type='FCNHead', in_channels=32, in_index=2, channels=8, num_convs=1, concat_input=False, dropout_ratio=0,
             num_classes=5, norm_cfg=BN, loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    psp=dict(type='PSPHead', in_channels=64, in_index=3, channels=16, pool_scales=(1, 2, 3, 6), dropout_ratio=0,
             num_classes=5, norm_cfg=BN, align_corners=False),
    aspp=dict(type='ASPPHead', in_channels=64, in_index=3, channels=16, dilations=(1, 2, 3, 4), dropout_ratio=0,
              num_classes=5, norm_cfg=BN),
    sep=dict(type='DepthwiseSeparableASPPHead', in_channels=64, in_index=3, channels=16, dilations=(1, 2, 3, 4),
             c1_in_channels=8, c1_channels=4, dropout_ratio=0, num_classes=5, norm_cfg=BN),
    uper=dict(type='UPerHead', in_channels=[8, 16, 32, 64], in_index=[0, 1, 2, 3], pool_scales=(1, 2, 3, 6), channels=16,
              dropout_ratio=0, num_classes=5, norm_cfg=BN, align_corners=False),
    concat=dict(type='FCNHead', in_channels=[32, 64], in_index=[2, 3], input_transform='resize_concat', channels=16,
                num_convs=1, dropout_ratio=0, num_classes=5, norm_cfg=BN, align_corners=True,
                loss_decode=[dict(type='CrossEntropyLoss', loss_weight=1.0), dict(type='DiceLoss', loss_weight=0.5)]),
    psp_ac=dict(type='PSPHead', in_channels=64, in_index=3, channels=16, pool_scales=(1, 2, 3, 6), dropout_ratio=0,
                num_classes=5, norm_cfg=BN, align_corners=True),
    uper_ac=dict(type='UPerHead', in_channels=[8, 16, 32, 64], in_index=[0, 1, 2, 3], pool_scales=(1, 3), channels=16,
                 dropout_ratio=0, num_classes=5, norm_cfg=BN, align_corners=True),
    ohem=dict(type='PSPHead', in_channels=64, in_index=3, channels=16, dropout_ratio=0, num_classes=5, norm_cfg=BN,
              sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=50)),
    gn=dict(type='PSPHead', in_channels=64, in_index=3, channels=16, dropout_ratio=0, num_classes=5,
            norm_cfg=dict(type='GN', num_groups=4)),
)

def feats(n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, c, s, s, generator=g) for c, s in ((8, 16), (16, 8), (32, 8), (64, 8))]

def label(n=2, seed=1):
    y = torch.randint(0, 5, (n, 1, 32, 32), generator=torch.Generator().manual_seed(seed))
    y[:, :, :3] = 255
    return y

@needs_mmseg
def test_heads_match_mmseg_keys_shapes_logits_and_losses():
    torch.manual_seed(0)
    ours = {k: MODELS.build(dict(c)) for k, c in CFGS.items()}
    for h in ours.values():     # non-trivial BN statistics, so that eval logits depend on them
        for m in h.modules():
            if isinstance(m, torch.nn.BatchNorm2d): m.running_mean.uniform_(-.5, .5); m.running_var.uniform_(.5, 2)
    sds = {k: h.state_dict() for k, h in ours.items()}
    code = '''
from mmseg.models.builder import build_head
import torch
for k, cfg in inp['cfgs'].items():
    h = build_head(cfg)
    out[k, 'shapes'] = {n: tuple(v.shape) for n, v in h.state_dict().items()}
    h.load_state_dict(inp['sds'][k], strict=True)
    h.eval(); out[k, 'eval'] = h(inp['x'])
    h.train(); out[k, 'losses'] = h.forward_train(inp['x'], None, inp['y'], None)
'''
    ref = run_mmseg(code, cfgs=CFGS, sds=sds, x=feats(), y=label())
    for k, h in ours.items():
        assert {n: tuple(v.shape) for n, v in sds[k].items()} == ref[k, 'shapes'], k
        h.eval(); torch.testing.assert_close(h(feats()), ref[k, 'eval'], rtol=1e-4, atol=1e-5, msg=k)
        h.train(); got = h.forward_train(feats(), None, label(), None)
        assert list(got) == list(ref[k, 'losses']), k
        for n in got: torch.testing.assert_close(got[n], ref[k, 'losses'][n], rtol=1e-4, atol=1e-5, msg=f'{k} {n}')

def test_in_channels_mismatch_names_head_and_counts():
    cfg = dict(CFGS['psp'], in_channels=2048)
    with pytest.raises(ValueError, match='PSPHead: expected inputs\\[3\\] with in_channels=2048, but the feature map has 64 channels'):
        MODELS.build(cfg)(feats())
    with pytest.raises(ValueError, match='UPerHead: expected inputs\\[1\\] with in_channels=32, but the feature map has 16'):
        MODELS.build(dict(CFGS['uper'], in_channels=[8, 32, 32, 64]))(feats())

@pytest.mark.parametrize('name,what', [('psp', 'PSPHead (pool_scale=1)'), ('aspp', 'ASPPHead (image_pool)'),
                                       ('sep', 'DepthwiseSeparableASPPHead (image_pool)'), ('uper', 'UPerHead (pool_scale=1)')])
def test_batch_one_training_explains_batchnorm(name, what):
    h = MODELS.build(dict(CFGS[name]))
    with pytest.raises(ValueError, match=r'training with batch size 1 .* BatchNorm, which needs more than 1 value per channel') as e:
        h.forward_train(feats(1), None, label(1), None)
    assert what in str(e.value) and 'batch size >= 2' in str(e.value) and "type='GN'" in str(e.value)
    MODELS.build(dict(CFGS['gn'])).forward_train(feats(1), None, label(1), None)   # the suggested way out works

def test_single_class_softmax_refused_at_build():
    with pytest.raises(ValueError, match='num_classes=1 gives out_channels=1, and a softmax CrossEntropyLoss'):
        MODELS.build(dict(CFGS['psp'], num_classes=1))
    with pytest.warns(UserWarning, match='threshold is not defined'):
        h = MODELS.build(dict(CFGS['psp'], num_classes=2, out_channels=1, loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True)))
    y = label().clamp(max=1)
    assert set(h.forward_train(feats(), None, torch.where(label() == 255, label(), y), None)) == {'loss_ce', 'acc_seg'}

@pytest.mark.parametrize('name', ['psp', 'aspp', 'sep', 'uper', 'fcn'])
def test_channels_last_same_logits_and_layout(name):
    h = MODELS.build(dict(CFGS[name])).eval()
    ref = h(feats())
    h = h.to(memory_format=torch.channels_last)
    out = h([f.to(memory_format=torch.channels_last) for f in feats()])
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
    assert out.is_contiguous(memory_format=torch.channels_last)

def test_ohem_registered_and_limits_loss_to_hard_pixels():
    assert 'OHEMPixelSampler' in PIXEL_SAMPLERS
    h = MODELS.build(dict(CFGS['ohem']))
    seg_logit = torch.randn(2, 5, 32, 32)
    w = h.sampler.sample(seg_logit, label())
    assert w.shape == (2, 32, 32) and (w[label().squeeze(1) == 255] == 0).all() and w.sum() >= 100
