"""segnb.speedups against the reference path: each transform's numbers (exact ones to float tolerance or bit for bit,
loss and gradients for the training ones; folding to a stated tolerance), the hooks that fire, the one-call / config
key / command-line routes, and the feature explorer on both paths."""
import copy
import pytest, torch
import segnb.models  # noqa: F401 (registers the models)
from segnb.models.utils.layers import ConvModule
from segnb.models.segmentors.encoder_decoder import build_segmentor
from segnb.speedups import (SPEEDUPS, Upsampled, concat_conv, apply_speedups, parse_speedups, fold_batchnorm,
                            lowres_upsampled, recompute_stages, channels_last, bf16_autocast, cpu_bf16_flags, LowResConvModule)

pytestmark = [pytest.mark.filterwarnings('ignore:Default ``avg_non_ignore``'),
              pytest.mark.filterwarnings('ignore:When align_corners=True')]
BN = dict(type='BN', requires_grad=True)
R18 = dict(type='ResNetV1c', depth=18, stem_channels=16, base_channels=16, num_stages=4, out_indices=(0, 1, 2, 3),
           dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=BN, contract_dilation=True)
AUX = dict(type='FCNHead', in_channels=64, in_index=2, channels=8, num_convs=1, concat_input=False, dropout_ratio=0.1,
           num_classes=4, norm_cfg=BN, loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4))
HEADS = dict(
    psp=dict(type='PSPHead', in_channels=128, in_index=3, channels=16, pool_scales=(1, 2, 3, 6), dropout_ratio=0.1,
             num_classes=4, norm_cfg=BN, align_corners=False),
    aspp=dict(type='ASPPHead', in_channels=128, in_index=3, channels=16, dilations=(1, 2, 3, 4), dropout_ratio=0.1,
              num_classes=4, norm_cfg=BN),
    sep=dict(type='DepthwiseSeparableASPPHead', in_channels=128, in_index=3, channels=16, dilations=(1, 2, 3, 4),
             c1_in_channels=16, c1_channels=8, dropout_ratio=0.1, num_classes=4, norm_cfg=BN),
    uper=dict(type='UPerHead', in_channels=[16, 32, 64, 128], in_index=[0, 1, 2, 3], pool_scales=(1, 2, 3, 6), channels=16,
              dropout_ratio=0.1, num_classes=4, norm_cfg=BN, align_corners=True))

def segmentor(head='psp', seed=0):
    "A small segmentor (ResNetV1c-18-D8 at quarter width) with random BatchNorm statistics and affine parameters."
    backbone = dict(R18, dilations=(1, 1, 1, 1), strides=(1, 2, 2, 2)) if head == 'uper' else R18
    torch.manual_seed(seed)
    m = build_segmentor(dict(type='EncoderDecoder', backbone=backbone, decode_head=HEADS[head], auxiliary_head=AUX,
                             train_cfg=dict(), test_cfg=dict(mode='whole')))
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-.2, .2); mod.running_var.uniform_(.5, 2)
            mod.weight.data.uniform_(.5, 1.5); mod.bias.data.uniform_(-.1, .1)
    return m

g = torch.Generator().manual_seed(0)
IMG, GT = torch.randn(2, 3, 40, 48, generator=g), torch.randint(0, 4, (2, 1, 40, 48), generator=g)

def loss_and_grads(m):
    "Summed loss and every gradient of one training forward/backward (same dropout masks for every model)."
    m.train().zero_grad()
    torch.manual_seed(1)
    loss = sum(v for k, v in m.forward_train(IMG, None, GT).items() if 'loss' in k)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None}

def eval_logits(m):
    with torch.no_grad(): return m.eval().encode_decode(IMG, None)

def hook_counts(m, run):
    counts = {}
    hooks = [mod.register_forward_hook(lambda *a, n=n: counts.__setitem__(n, counts.get(n, 0) + 1))
             for n, mod in m.named_modules() if n]
    try: run()
    finally:
        for h in hooks: h.remove()
    return counts

def assert_same_training(fast, ref):
    """Float tolerance: loss within 1e-5 relative; each gradient within 2e-3 of its largest entry (here the fp32
    reference path's own gradients are up to 1e-3 of the largest entry away from a float64 run)."""
    (l1, g1), (l0, g0) = loss_and_grads(fast), loss_and_grads(ref)
    torch.testing.assert_close(l1, l0, rtol=1e-5, atol=1e-6)
    assert set(g1) == set(g0)
    for n in g0: torch.testing.assert_close(g1[n], g0[n], rtol=0, atol=2e-3 * float(g0[n].abs().max()), msg=n)


# ---- names, the one call ----

def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"^unknown speed-up 'fuse'; valid names: fold_bn, lowres_upsampled, recompute, recompute_norm_act, channels_last, winograd, bf16$"):
        apply_speedups(segmentor(), 'lowres_upsampled,fuse')
    assert parse_speedups(' lowres_upsampled , fold_bn,') == ['lowres_upsampled', 'fold_bn']
    assert parse_speedups(None) == [] and list(SPEEDUPS) == ['fold_bn', 'lowres_upsampled', 'recompute', 'recompute_norm_act', 'channels_last', 'winograd', 'bf16']

@pytest.mark.parametrize('name', ['lowres_upsampled', 'recompute', 'recompute_norm_act', 'channels_last', 'winograd'])
def test_transforms_keep_state_dict_keys_and_load_plain_checkpoints(name):
    ref, fast = segmentor(), apply_speedups(segmentor(seed=1), [name])
    assert list(fast.state_dict()) == list(ref.state_dict())
    fast.load_state_dict(ref.state_dict(), strict=True)
    torch.testing.assert_close(eval_logits(fast), eval_logits(ref), rtol=1e-5, atol=1e-5)


# ---- fold_bn ----

@pytest.mark.parametrize('head', ['psp', 'sep'])
def test_fold_bn_removes_every_batchnorm_and_keeps_predictions(head):
    "Stated tolerance: logits within 1e-4 of the logit range (fp32), identical predictions."
    model = segmentor(head).eval()
    ref = eval_logits(model)
    folded = fold_batchnorm(copy.deepcopy(model))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    out = eval_logits(folded)
    assert (out - ref).abs().max() <= 1e-4 * (ref.max() - ref.min())
    assert torch.equal(out.argmax(1), ref.argmax(1))

def test_fold_bn_refuses_training_and_training_runs_skip_it():
    with pytest.raises(ValueError, match=r'fold_bn is for inference only: call model.eval\(\) first'):
        fold_batchnorm(segmentor().train())
    with pytest.warns(UserWarning, match='speed-up fold_bn is for inference only; it is not applied to a training run'):
        m = apply_speedups(segmentor(), ['fold_bn'], training=True)
    assert any(isinstance(x, torch.nn.BatchNorm2d) for x in m.modules())

def test_fold_bn_leaves_norm_first_conv_modules_alone():
    cm = ConvModule(4, 6, 3, padding=1, norm_cfg=BN, order=('norm', 'conv', 'act')).eval()
    fold_batchnorm(cm)
    assert isinstance(cm.bn, torch.nn.BatchNorm2d)


# ---- lowres_upsampled ----

@pytest.mark.parametrize('head,cl', [('psp', False), ('psp', True), ('aspp', False), ('sep', False), ('uper', False), ('uper', True)])
def test_lowres_same_loss_gradients_and_logits(head, cl):
    ref, fast = segmentor(head), lowres_upsampled(segmentor(head))
    if cl: ref, fast = channels_last(ref), channels_last(fast)
    assert isinstance(fast.decode_head.bottleneck, LowResConvModule)
    assert_same_training(fast, ref)
    torch.testing.assert_close(eval_logits(fast), eval_logits(ref), rtol=1e-5, atol=1e-5)

@pytest.mark.parametrize('head', ['psp', 'sep', 'uper'])
def test_lowres_hooks_fire_as_in_the_reference_except_the_bottleneck_conv(head):
    ref, fast = segmentor(head), lowres_upsampled(segmentor(head))
    for mode in ('train', 'eval'):
        run = (lambda m: (lambda: loss_and_grads(m))) if mode == 'train' else (lambda m: (lambda: eval_logits(m)))
        c0, c1 = hook_counts(ref, run(ref)), hook_counts(fast, run(fast))
        gone = {'decode_head.bottleneck.conv', 'decode_head.fpn_bottleneck.conv'} & set(c0)
        assert set(c0) - set(c1) == gone, mode
        assert all(c1[n] == c0[n] for n in c1), mode
        assert c1['decode_head.bottleneck'] == 1

def _cat_then_conv(conv_module, parts):
    "mmseg's way: materialise every upsampled part, concatenate, convolve."
    return ConvModule.forward(conv_module, torch.cat([p.materialize() if isinstance(p, Upsampled) else p for p in parts], dim=1))

def test_concat_conv_falls_back_for_other_convs():
    "Strided, grouped, reflect-padded and norm-first convs get the concatenation itself."
    torch.manual_seed(0)
    x, p = torch.randn(2, 4, 9, 7), torch.randn(2, 4, 3, 2)
    parts = [x, Upsampled(p, (9, 7), align_corners=True)]
    for kw in (dict(stride=2), dict(groups=2), dict(padding_mode='reflect'), dict(order=('norm', 'conv', 'act'))):
        cm = ConvModule(8, 6, 3, padding=1, norm_cfg=BN, **kw)
        torch.testing.assert_close(concat_conv(cm, parts), _cat_then_conv(cm, parts), msg=str(kw))


# ---- recompute, channels_last, bf16 ----

def test_recompute_is_bit_for_bit_and_moves_bn_statistics_once():
    ref, fast = segmentor(), recompute_stages(segmentor())
    assert (ref.backbone.recompute_stages, fast.backbone.recompute_stages) == (-1, 2)
    (l1, g1), (l0, g0) = loss_and_grads(fast), loss_and_grads(ref)
    assert torch.equal(l1, l0) and all(torch.equal(g1[n], g0[n]) for n in g0)
    s0, s1 = ref.state_dict(), fast.state_dict()
    for k in s0:
        if 'running' in k or 'num_batches' in k: assert torch.equal(s1[k], s0[k]), k
    c = hook_counts(fast, lambda: loss_and_grads(fast))
    assert (c['backbone.layer1.0.conv1'], c['backbone.layer2.0.conv1'], c['backbone.layer3.0.conv1']) == (2, 2, 1)

def assert_exact_training_step(fast, ref):
    "One loss-and-gradients step of `fast` against `ref`: the same loss, gradients to 1e-6, BN statistics moved once."
    (l1, g1), (l0, g0) = loss_and_grads(fast), loss_and_grads(ref)
    assert torch.equal(l1, l0)
    for n in g0: torch.testing.assert_close(g1[n], g0[n], rtol=1e-6, atol=1e-7, msg=n)
    s0, s1 = ref.state_dict(), fast.state_dict()
    for k in s0:
        if 'running' in k or 'num_batches' in k: assert torch.equal(s1[k], s0[k]), k

@pytest.mark.parametrize('order', [['recompute', 'recompute_norm_act'], ['recompute_norm_act', 'recompute'], ['recompute_norm_act']])
def test_recompute_norm_act_is_exact_composes_with_recompute_and_moves_bn_statistics_once(order):
    "Blocks keep only conv outputs (outside whole-stage recomputation, in either order); same loss, gradients, statistics."
    ref, fast = segmentor(), apply_speedups(segmentor(), order, training=True)
    stages = 2 if 'recompute' in order else -1
    flags = [[b.recompute_norm_act for b in getattr(fast.backbone, f'layer{i}')] for i in range(1, 5)]
    assert flags == [[i >= stages] * 2 for i in range(4)], flags
    assert_exact_training_step(fast, ref)
    c = hook_counts(fast, lambda: loss_and_grads(fast))
    assert (c['backbone.layer3.0.conv1'], c['backbone.layer3.0.bn1'], c['backbone.layer3.0'], c['decode_head.conv_seg']) == (2, 2, 1, 1)
    assert hook_counts(fast, lambda: eval_logits(fast)) == hook_counts(ref, lambda: eval_logits(ref))

@pytest.mark.parametrize('stages', [0, 1])
def test_recompute_with_a_stage_count_is_exact_and_composes_with_norm_act(stages):
    "`recompute=K` recomputes the stem and stages 1..K (K=2 is plain `recompute`); norm_act covers the later stages."
    ref, fast = segmentor(), apply_speedups(segmentor(), f'recompute={stages},recompute_norm_act', training=True)
    assert fast.backbone.recompute_stages == stages
    flags = [[b.recompute_norm_act for b in getattr(fast.backbone, f'layer{i}')] for i in range(1, 5)]
    assert flags == [[i >= stages] * 2 for i in range(4)], flags
    assert_exact_training_step(fast, ref)
    c = hook_counts(fast, lambda: loss_and_grads(fast))
    assert (c['backbone.stem.0'], c['backbone.layer1.0.conv1'], c['backbone.layer2.0']) == (2, 2, 1)

@pytest.mark.parametrize('order', [['recompute', 'recompute_norm_act=3'], ['recompute_norm_act=3', 'recompute']])
def test_recompute_norm_act_up_to_a_stage_is_exact(order):
    "`recompute_norm_act=3`: only stage 3's blocks keep only their conv outputs (stages 1-2 recomputed whole, stage 4 stores all)."
    ref, fast = segmentor(), apply_speedups(segmentor(), order, training=True)
    flags = [[b.recompute_norm_act for b in getattr(fast.backbone, f'layer{i}')] for i in range(1, 5)]
    assert flags == [[False] * 2, [False] * 2, [True] * 2, [False] * 2], flags
    assert_exact_training_step(fast, ref)
    c = hook_counts(fast, lambda: loss_and_grads(fast))
    assert (c['backbone.layer3.0.bn1'], c['backbone.layer4.0.bn1'], c['backbone.layer3.0']) == (2, 1, 1)
    assert apply_speedups(segmentor(), ['recompute_norm_act']).backbone.layer4[0].recompute_norm_act

def test_recompute_value_is_checked():
    assert parse_speedups('recompute=1, recompute_norm_act') == ['recompute=1', 'recompute_norm_act']
    assert parse_speedups(['recompute = 0']) == ['recompute=0']
    assert apply_speedups(segmentor(), ['recompute=3']).backbone.recompute_stages == 3
    assert apply_speedups(segmentor(), ['recompute']).backbone.recompute_stages == 2
    for bad in ('channels_last=1', 'recompute=x', 'recompute=', 'recompute_norm_act=y'):
        with pytest.raises(ValueError, match=r"only recompute=<int> and recompute_norm_act=<int> take a value"): parse_speedups(bad)
    with pytest.raises(ValueError, match='recompute_stages must be an int from -1'): parse_speedups('recompute=5')
    for bad in ('recompute_norm_act=0', 'recompute_norm_act=5'):
        with pytest.raises(ValueError, match='recompute_norm_act=K needs K from 1 to 4'): parse_speedups(bad)
    with pytest.raises(ValueError, match="unknown speed-up 'fuse=1'"): parse_speedups('fuse=1')

def test_channels_last_same_loss_and_gradients():
    fast = channels_last(segmentor())
    assert fast.backbone.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert_same_training(fast, segmentor())

def test_bf16_refused_without_cpu_support(tmp_path):
    info = tmp_path / 'cpuinfo'; info.write_text('flags\t: fpu sse2 avx2 avx512f avx512bw\n')
    assert cpu_bf16_flags(str(info)) == set() and cpu_bf16_flags(str(tmp_path / 'none')) == set()
    with pytest.raises(ValueError, match=r'^bf16 needs a CPU with avx512_bf16 or amx_bf16 \(neither is in .*cpuinfo\); '):
        bf16_autocast(segmentor(), cpuinfo=str(info))
    info.write_text('flags\t: fpu avx512f avx512_bf16\n')
    assert cpu_bf16_flags(str(info)) == {'avx512_bf16'}

@pytest.mark.skipif(not cpu_bf16_flags(), reason='this CPU has no avx512_bf16 / amx_bf16')
def test_bf16_predictions_agree_with_fp32():
    "Stated tolerance: at least 97% of pixels predicted as in fp32 (random weights: many near-ties)."
    ref, fast = segmentor().eval(), bf16_autocast(segmentor().eval())
    metas = [dict(ori_shape=(40, 48, 3), img_shape=(40, 48, 3), pad_shape=(40, 48, 3), flip=False)] * 2
    with torch.no_grad():
        a = ref(img=[IMG], img_metas=[metas], return_loss=False)
        b = fast(img=[IMG], img_metas=[metas], return_loss=False)
    agree = sum((x == y).mean() for x, y in zip(a, b)) / len(a)
    assert agree >= 0.97, agree
    assert fast.train().forward_train(IMG, None, GT)['decode.loss_ce'].dtype == torch.float32   # losses in fp32


# ---- config key, training entry point, command line ----

def _tiny_cfg(**extra):
    from segnb.config import Config
    return Config(dict(model=dict(type='EncoderDecoder', pretrained=None, backbone=R18, decode_head=HEADS['psp'],
                                  auxiliary_head=AUX, train_cfg=dict(), test_cfg=dict(mode='whole')), **extra))

def test_config_key_in_init_segmentor():
    from segnb.apis import init_segmentor
    m = init_segmentor(_tiny_cfg(speedups=['lowres_upsampled', 'fold_bn']))
    assert isinstance(m.decode_head.bottleneck, LowResConvModule)
    assert not any(isinstance(x, torch.nn.BatchNorm2d) for x in m.modules())
    plain = init_segmentor(_tiny_cfg())
    assert type(plain.decode_head.bottleneck) is ConvModule and plain.backbone.recompute_stages == -1
    with pytest.raises(ValueError, match="unknown speed-up 'nope'"): init_segmentor(_tiny_cfg(speedups=['nope']))

def test_config_key_in_train_segmentor(monkeypatch):
    import segnb.apis as apis
    seen = {}
    def stop(model, *a, **k): seen['model'] = model; raise KeyboardInterrupt
    monkeypatch.setattr(apis, 'build_train_runner', stop)
    monkeypatch.setattr(apis, 'build_dataloader', lambda *a, **k: None)
    cfg = _tiny_cfg(speedups=['recompute', 'lowres_upsampled', 'fold_bn'], data=dict(samples_per_gpu=2, workers_per_gpu=0))
    with pytest.warns(UserWarning, match='fold_bn is for inference only'), pytest.raises(KeyboardInterrupt):
        apis.train_segmentor(build_segmentor(cfg.model), [], cfg)
    m = seen['model']
    assert m.backbone.recompute_stages == 2 and isinstance(m.decode_head.bottleneck, LowResConvModule)
    assert any(isinstance(x, torch.nn.BatchNorm2d) for x in m.modules())

@pytest.mark.parametrize('argv', [['train', '--speedups', 'fold_bn,bogus'],
                                  ['test', 'shapes/pspnet_r18-d8_shapes.py', 'none.pth', '--eval', 'mIoU', '--speedups', 'bogus'],
                                  ['benchmark', 'shapes/pspnet_r18-d8_shapes.py', '--speedups', 'bogus']])
def test_command_line_flag_refuses_unknown_names(argv, capsys, tmp_path, monkeypatch):
    from segnb.cli import main
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.endswith("error: unknown speed-up 'bogus'; valid names: fold_bn, lowres_upsampled, recompute, recompute_norm_act, channels_last, winograd, bf16"), err

def test_command_line_flag_sets_the_config_key():
    from segnb.cli import build_parser, _prepare_test_cfg
    args = build_parser().parse_args(['test', 'shapes/pspnet_r18-d8_shapes.py', 'x.pth', '--eval', 'mIoU',
                                      '--speedups', 'lowres_upsampled,fold_bn'])
    assert _prepare_test_cfg(args).speedups == ['lowres_upsampled', 'fold_bn']
    args = build_parser().parse_args(['test', 'shapes/pspnet_r18-d8_shapes.py', 'x.pth', '--eval', 'mIoU'])
    assert 'speedups' not in _prepare_test_cfg(args)


# ---- the feature explorer on both paths ----

@pytest.mark.parametrize('head', ['psp', 'uper'])
def test_feature_explorer_sees_the_same_features_on_both_paths(head):
    from segnb.widgets import capture_features, feature_layers
    ref = segmentor(head).eval()
    fast = apply_speedups(segmentor(head).eval(), ['lowres_upsampled', 'channels_last', 'fold_bn'])
    layers = feature_layers(ref)
    assert 'decode_head.bottleneck' in layers and feature_layers(fast) == layers
    a, b = capture_features(ref, IMG[:1], layers), capture_features(fast, IMG[:1], layers)
    assert set(a) == set(b) and 'decode_head.bottleneck' in b and 'decode_head.psp_modules.3' in b
    for n in a: torch.testing.assert_close(b[n], a[n], rtol=1e-4, atol=1e-4, msg=n)
