"""HRNet, OCRHead and CascadeEncoderDecoder against mmsegmentation 0.30: same state_dict keys and shapes, same eval
logits with the same weights, same training losses (cascade stages included) and BatchNorm statistics after them.

Needs SEGNB_MMSEG_CONFIGS (mmseg's configs folder) and SEGNB_MMSEG_VENV (a venv with mmsegmentation 0.30); skips otherwise."""
import os
import pytest, torch
from segnb.config import Config
from segnb.models import build_segmentor
from mmseg_venv import needs_mmseg, run_mmseg
from zoo_check import assert_same, bn as _bn, model_cfg as _model_cfg, needs_configs, random_norms, run_both

pytestmark = pytest.mark.filterwarnings('ignore')
CONFIGS = ['hrnet/fcn_hr18s_512x1024_40k_cityscapes', 'hrnet/fcn_hr18_512x1024_40k_cityscapes',
           'ocrnet/ocrnet_hr18s_512x1024_40k_cityscapes', 'ocrnet/ocrnet_r101-d8_512x1024_40k_b8_cityscapes']
TRAIN = ['hrnet/fcn_hr18s_512x1024_40k_cityscapes', 'ocrnet/ocrnet_hr18s_512x1024_40k_cityscapes',
         'ocrnet/ocrnet_r101-d8_512x1024_40k_b8_cityscapes']

def _random_model(cfg, seed):
    "A segnb model with random weights and random BatchNorm statistics (so eval mode is not the identity)."
    torch.manual_seed(seed)
    return random_norms(build_segmentor(cfg), affine=True)

@pytest.fixture(scope='module')
def runs():
    "Both libraries on the same weights, one thread each (as the mmseg side runs): the sums of BN statistics then agree."
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try: return _both_libraries()
    finally: torch.set_num_threads(threads)

def _both_libraries():
    """Keys and shapes, eval logits, and for TRAIN one training forward (losses, BN statistics; dropout on, seed 1) in
    segnb and in mmseg."""
    torch.manual_seed(0)
    x, img = torch.randn(1, 3, 64, 64), torch.randn(2, 3, 64, 64)
    gt = torch.randint(0, 19, (2, 1, 64, 64)); gt[:, :, :8] = 255
    metas = [dict(ori_shape=(64, 64, 3), img_shape=(64, 64, 3), pad_shape=(64, 64, 3), flip=False)] * 2
    cases = {}
    for i, n in enumerate(CONFIGS):
        cfg = _model_cfg(n)
        cases[n] = dict(cfg=cfg, model=_random_model(cfg, i), x=x)
        if n in TRAIN: cases[n].update(img=img, gt=gt, metas=metas, mode='train', seed=1, stats=True)
    return run_both(cases, timeout=600)

@needs_configs
@needs_mmseg
@pytest.mark.parametrize('name', CONFIGS)
def test_keys_and_shapes_match_mmseg(runs, name):
    ours, ref = runs
    assert set(ours[name]['shapes']) == set(ref[name]['shapes']), set(ours[name]['shapes']) ^ set(ref[name]['shapes'])
    assert ours[name]['shapes'] == ref[name]['shapes']

@needs_configs
@needs_mmseg
@pytest.mark.parametrize('name', CONFIGS)
def test_same_weights_same_logits(runs, name):
    ours, ref = runs
    assert ours[name]['logits'].shape == (1, 19, 64, 64)
    torch.testing.assert_close(ours[name]['logits'], ref[name]['logits'], rtol=1e-5, atol=1e-5)

@needs_configs
@needs_mmseg
@pytest.mark.parametrize('name', TRAIN)
def test_same_training_losses_and_bn_statistics(runs, name):
    "Cascade configs log `decode_0.*` (FCN, weight 0.4) and `decode_1.*` (OCR); BN statistics move as in mmseg."
    ours, ref = runs
    if 'ocrnet' in name: assert list(ours[name]['losses'])[:3] == ['decode_0.loss_ce', 'decode_0.acc_seg', 'decode_1.loss_ce']
    assert ours[name]['stats'] and set(ours[name]['stats']) == set(ref[name]['stats'])
    assert_same(ours[name], ref[name], ordered_losses=True, name=name)

def _train_state(model):
    "Names of the parameters without gradient and of the modules in eval mode, after `model.train()`."
    model.train()
    return dict(frozen=sorted(n for n, p in model.named_parameters() if not p.requires_grad),
                eval=sorted(n for n, m in model.named_modules() if not m.training))

@needs_configs
@needs_mmseg
@pytest.mark.parametrize('frozen_stages, norm_eval', [(2, False), (4, True)])
def test_frozen_stages_and_norm_eval_as_mmseg(frozen_stages, norm_eval):
    "HRNet's frozen_stages (stem, layer1/stage k and a transition) and norm_eval freeze what mmseg 0.30 freezes."
    from segnb.registry import MODELS
    cfg = dict(_model_cfg('hrnet/fcn_hr18s_512x1024_40k_cityscapes')['backbone'], frozen_stages=frozen_stages, norm_eval=norm_eval)
    ours = _train_state(MODELS.build(cfg))
    ref = run_mmseg('''
from mmseg.models.builder import BACKBONES
m = BACKBONES.build(inp['cfg'])
m.train()                     # mmseg's HRNet.train returns None
out['frozen'] = sorted(n for n, p in m.named_parameters() if not p.requires_grad)
out['eval'] = sorted(n for n, m in m.named_modules() if not m.training)
''', cfg=cfg)
    assert ours['frozen'] and ours['eval']
    assert ours['frozen'] == ref['frozen']
    assert ours['eval'] == ref['eval']


def test_every_hrnet_module_runs_once_per_forward():
    "Forward hooks of every HRNet module with weights, and of every Upsample, fire exactly once per forward (eval and train)."
    from segnb.models.utils.layers import Upsample
    cfg = Config.fromfile(os.path.join(os.path.dirname(__file__), '..', 'segnb', 'configs', 'hrnet', 'fcn_hr18s_512x1024_40k_cityscapes.py'))
    model = build_segmentor(dict(_bn(dict(cfg.model)), pretrained=None))
    mods = {n: m for n, m in model.backbone.named_modules() if isinstance(m, Upsample) or list(m.parameters(recurse=False))}
    counts = dict.fromkeys(mods, 0)
    for n, m in mods.items(): m.register_forward_hook(lambda *a, n=n: counts.__setitem__(n, counts[n] + 1))
    img = torch.randn(2, 3, 64, 64)
    for mode in (False, True):
        model.train(mode)
        with torch.no_grad(): model.extract_feat(img)
        assert len(counts) > 300 and set(counts.values()) == {1}, {n: c for n, c in counts.items() if c != 1}
        counts.update(dict.fromkeys(counts, 0))
