"""mmsegmentation 0.30 configs build in segnb, with mmseg's state_dict keys and shapes and the same logits.

- SEGNB_MMSEG_CONFIGS: the `configs` folder of the mmsegmentation 0.30.0 wheel (`mmseg/.mim/configs`); skips when unset.
- SEGNB_MMSEG_VENV: a venv with mmsegmentation==0.30.0 + mmcv==1.7.2 for the spot checks; they skip when unset."""
import glob, os
import pytest, torch
from segnb.config import Config
from segnb.registry import (MODELS, NORM_LAYERS, ACTIVATION_LAYERS, CONV_LAYERS, PIXEL_SAMPLERS, DROPOUT_LAYERS, ATTENTION,
                            FEEDFORWARD_NETWORK, TRANSFORMER_LAYER)
from segnb.models.segmentors.encoder_decoder import build_segmentor
from segnb.registry import UPSAMPLE_LAYERS
from mmseg_venv import needs_mmseg, run_mmseg

ROOT = os.environ.get('SEGNB_MMSEG_CONFIGS')
needs_configs = pytest.mark.skipif(not ROOT, reason='set SEGNB_MMSEG_CONFIGS to mmsegmentation 0.30.0 mmseg/.mim/configs')
pytestmark = [pytest.mark.filterwarnings('ignore'), needs_configs]
REGISTRIES = (MODELS, NORM_LAYERS, ACTIVATION_LAYERS, CONV_LAYERS, PIXEL_SAMPLERS, UPSAMPLE_LAYERS, DROPOUT_LAYERS, ATTENTION,
              FEEDFORWARD_NETWORK, TRANSFORMER_LAYER)
SPOT = ['pspnet/pspnet_r50-d8_512x1024_40k_cityscapes', 'pspnet/pspnet_r18-d8_512x1024_80k_cityscapes',
        'pspnet/pspnet_r50b-d8_512x1024_80k_cityscapes', 'fcn/fcn_r50-d8_512x1024_40k_cityscapes',
        'deeplabv3/deeplabv3_r50-d8_512x1024_40k_cityscapes', 'deeplabv3plus/deeplabv3plus_r50-d8_512x1024_40k_cityscapes',
        'upernet/upernet_r50_512x1024_40k_cityscapes']
LOGITS = ['pspnet/pspnet_r18-d8_512x1024_80k_cityscapes', 'fcn/fcn_r18-d8_512x1024_80k_cityscapes',
          'deeplabv3/deeplabv3_r18-d8_512x1024_80k_cityscapes', 'deeplabv3plus/deeplabv3plus_r18-d8_512x1024_80k_cityscapes',
          'upernet/upernet_r18_512x1024_40k_cityscapes', 'pspnet/pspnet_r18b-d8_512x1024_80k_cityscapes']
# mmseg 0.30 itself refuses these: the config sets model.pretrained (from its base) and backbone.init_cfg
BROKEN_IN_MMSEG = {'deeplabv3plus_r101-d8_512x512_80k_loveda', 'deeplabv3plus_r18-d8_512x512_80k_loveda',
                   'pspnet_r101-d8_512x512_80k_loveda', 'pspnet_r18-d8_512x512_80k_loveda',
                   'fcn_hr18s_512x512_80k_loveda', 'fcn_hr48_512x512_80k_loveda'}

def _types(d):
    "Every `type` in a model config, except initialisation configs."
    if isinstance(d, dict):
        if isinstance(d.get('type'), str): yield d['type']
        for k, v in d.items():
            if k != 'init_cfg': yield from _types(v)
    elif isinstance(d, (list, tuple)):
        for v in d: yield from _types(v)

def _supported(model_cfg): return all(any(t in r for r in REGISTRIES) for t in _types(model_cfg))

def _bn(d):
    "SyncBN -> BN everywhere (a single process), as the comparison builds both sides without a process group."
    if isinstance(d, dict): return {k: ('BN' if k == 'type' and v == 'SyncBN' else _bn(v)) for k, v in d.items()}
    if isinstance(d, (list, tuple)): return type(d)(_bn(v) for v in d)
    return d

def _model_cfg(name):
    cfg = Config.fromfile(os.path.join(ROOT, name + '.py'), import_custom_modules=False)
    return _bn(dict(cfg.model))

def test_every_supported_config_builds():
    files = sorted(f for f in glob.glob(f'{ROOT}/**/*.py', recursive=True) if '_base_' not in f)
    built, failed = [], []
    for f in files:
        cfg = Config.fromfile(f, import_custom_modules=False)
        assert _supported(cfg.model), (f, sorted(set(_types(cfg.model)) - {t for r in REGISTRIES for t in r.module_dict}))
        try:
            with torch.device('meta'): build_segmentor(cfg.model)
            built.append(f)
        except Exception as e: failed.append((os.path.basename(f)[:-3], str(e)))
    assert {n for n, _ in failed} == BROKEN_IN_MMSEG, failed
    assert all('set model.pretrained=None' in e for _, e in failed)
    assert len(built) == len(files) - len(BROKEN_IN_MMSEG) == 632, len(built)   # every leaf config of mmseg 0.30.0 that mmseg builds

def _shapes(model): return {k: tuple(v.shape) for k, v in model.state_dict().items()}

_MMSEG_BUILD = '''
from mmcv import ConfigDict
from mmseg.models import build_segmentor
def build(cfg): return build_segmentor(ConfigDict(cfg))
'''

@needs_mmseg
def test_spot_check_keys_and_shapes_match_mmseg():
    cfgs = {n: _model_cfg(n) for n in SPOT}
    ref = run_mmseg(_MMSEG_BUILD + '''
for n, cfg in inp['cfgs'].items():
    out[n] = {k: tuple(v.shape) for k, v in build(cfg).state_dict().items()}
''', cfgs=cfgs)
    for n, cfg in cfgs.items():
        with torch.device('meta'): ours = _shapes(build_segmentor(cfg))
        assert set(ours) == set(ref[n]), (n, set(ours) ^ set(ref[n]))
        assert ours == ref[n], n

@needs_mmseg
def test_same_weights_same_logits_as_mmseg():
    "Our state_dict loaded strict into mmseg's model: same eval logits on the same 64x64 input."
    torch.manual_seed(0)
    x = torch.randn(1, 3, 64, 64)
    cfgs, sds, logits = {}, {}, {}
    for n in LOGITS:
        cfgs[n] = dict(_model_cfg(n), pretrained=None)
        model = build_segmentor(cfgs[n]).eval()
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d): m.running_mean.uniform_(-.2, .2); m.running_var.uniform_(.5, 2)
        sds[n] = model.state_dict()
        with torch.no_grad(): logits[n] = model.encode_decode(x, None)
    ref = run_mmseg(_MMSEG_BUILD + '''
for n, cfg in inp['cfgs'].items():
    m = build(cfg).eval()
    m.load_state_dict(inp['sds'][n], strict=True)
    with torch.no_grad(): out[n] = m.encode_decode(inp['x'], None)
''', cfgs=cfgs, sds=sds, x=x)
    for n in LOGITS: torch.testing.assert_close(logits[n], ref[n], rtol=1e-4, atol=1e-4, msg=n)


# ---- item 1 of issue 10: every config segnb ships computes mmseg's numbers ----

SHIPPED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'segnb', 'configs')

# the zoo's folders (hrnet, ocrnet, nonlocal_net, ..., erfnet) have a differential test per family in tests/test_zoo_*.py,
# on inputs their strides and fixed pools need; this test covers the ResNet family's shipped configs
RESNET_FAMILY = ('deeplabv3', 'deeplabv3plus', 'fcn', 'pspnet', 'shapes', 'upernet')

def _shipped_models():
    "`{model config (repr, tuples kept): [config names]}` for the ResNet family's shipped configs (SyncBN as BN, no pretrained)."
    out = {}
    for f in sorted(glob.glob(f'{SHIPPED}/**/*.py', recursive=True)):
        if '_base_' in f or f.endswith('__init__.py') or os.path.relpath(f, SHIPPED).split(os.sep)[0] not in RESNET_FAMILY: continue
        cfg = _bn(dict(Config.fromfile(f).model, pretrained=None))
        out.setdefault(repr(cfg), []).append(os.path.relpath(f, SHIPPED))
    return out

_MM_BOTH_MODES = _MMSEG_BUILD + '''
for n, cfg in inp['cfgs'].items():
    with torch.device('meta'): m = build(cfg)
    m.load_state_dict(inp['sds'][n], strict=True, assign=True)
    out[n] = logits_both_modes(m, inp['x'])
'''

def _logits_both_modes(m, x):
    "Logits of `m` on `x` in train mode (batch statistics, dropout off) and in eval mode, on one thread."
    with torch.no_grad():
        m.train()
        for mod in m.modules():
            if isinstance(mod, torch.nn.Dropout2d): mod.eval()
        train = m.encode_decode(x, None)
        return train, m.eval().encode_decode(x, None)

def _random_weights(model, seed):
    "Fill a model built on the meta device with random weights and non-trivial BatchNorm statistics (cheap)."
    g = torch.Generator().manual_seed(seed)
    model.to_empty(device='cpu')
    for n, t in model.state_dict().items():
        if n.endswith('num_batches_tracked'): t.zero_()
        elif n.endswith('running_var') or (n.endswith('.weight') and t.dim() == 1): t.copy_(torch.rand(t.shape, generator=g) + .5)
        elif t.dim() > 1: t.copy_(torch.randn(t.shape, generator=g) * (2 / t[0].numel()) ** .5)
        else: t.copy_(torch.rand(t.shape, generator=g) * .4 - .2)
    return model

@needs_mmseg
@pytest.mark.skipif(not os.path.isdir(SHIPPED), reason='segnb/configs not found')
def test_every_shipped_config_gives_mmseg_logits_in_train_and_eval():
    """Every ResNet-family config under segnb/configs (26 distinct models in 41 files): segnb's model and mmseg 0.30's, with the
    same random weights and BatchNorm statistics, give the same logits in fp32 on the CPU (one thread on both sides,
    so that reductions split alike) within 1e-5 relative, in train mode (batch statistics; dropout off on both
    sides) and in eval mode, on a 2x3x33x49 batch."""
    import ast, inspect
    x = torch.randn(2, 3, 33, 49, generator=torch.Generator().manual_seed(0))
    models = _shipped_models()
    assert len(models) >= 20 and sum(map(len, models.values())) >= 40, (len(models), sum(map(len, models.values())))
    cfgs, sds, ours, threads = {}, {}, {}, torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for i, key in enumerate(models):
            cfgs[i] = ast.literal_eval(key)
            with torch.device('meta'): m = build_segmentor(cfgs[i])
            sds[i] = {k: v.clone() for k, v in _random_weights(m, i).state_dict().items()}   # before train mode moves BN stats
            ours[i] = _logits_both_modes(m, x)
    finally: torch.set_num_threads(threads)
    code = inspect.getsource(_logits_both_modes).replace('def _logits_both_modes', 'def logits_both_modes') + _MM_BOTH_MODES
    ref = run_mmseg(code, timeout=900, cfgs=cfgs, sds=sds, x=x)
    names = list(models.values())
    for i in ours:
        for mode, got, want in zip(('train', 'eval'), ours[i], ref[i]):
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * float(want.abs().max()), msg=lambda m: f'{names[i]} {mode}: {m}')
