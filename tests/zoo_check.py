"""What the model-zoo differential tests (tests/test_zoo_*.py) share: mmseg 0.30's config of a model, built by segnb and
by mmseg from the same dict, segnb's weights loaded into mmseg's model (strict), the same inputs run through both, then
the same state_dict keys and shapes, the same logits and the same losses asserted.

The forward that produces the compared outputs (`zoo_outputs`) is one piece of source text, run here and in mmseg's
process alike, so both sides do exactly the same steps. Needs SEGNB_MMSEG_CONFIGS (mmseg's configs folder) and
SEGNB_MMSEG_VENV (a venv with mmsegmentation 0.30); the marks below skip a test without them."""
import os
import pytest, torch
from segnb.config import Config
from segnb.models.segmentors.encoder_decoder import build_segmentor
from mmseg_venv import needs_mmseg, run_mmseg

ROOT = os.environ.get('SEGNB_MMSEG_CONFIGS')
needs_configs = pytest.mark.skipif(not ROOT, reason='set SEGNB_MMSEG_CONFIGS to mmsegmentation 0.30.0 mmseg/.mim/configs')
def needs_both(test): return needs_mmseg(needs_configs(test))
MARKS = [pytest.mark.filterwarnings('ignore'), needs_mmseg, needs_configs]   # `pytestmark` of a file whose tests all need both


def bn(d):
    "SyncBN -> BN everywhere (a single process)."
    if isinstance(d, dict): return {k: ('BN' if k == 'type' and v == 'SyncBN' else bn(v)) for k, v in d.items()}
    if isinstance(d, (list, tuple)): return type(d)(bn(v) for v in d)
    return d

def merge(base, changes):
    "`base` with `changes` merged in recursively (into dicts; anything else is replaced), as an mmcv config override."
    out = dict(base)
    for k, v in changes.items(): out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out

def model_cfg(name, **changes):
    "mmseg's model config `name` (relative to its configs folder, no `.py`), SyncBN -> BN, no pretrained weights, `changes` merged in."
    cfg = Config.fromfile(os.path.join(ROOT, name + '.py'), import_custom_modules=False)
    return merge(dict(bn(cfg.to_dict()['model']), pretrained=None), changes)

def config_names(*folders):
    "The names of every mmseg config in `folders`, sorted."
    import glob
    return sorted(os.path.relpath(f, ROOT)[:-3] for d in folders for f in glob.glob(f'{ROOT}/{d}/*.py'))

def random_norms(model, affine=False, layer_norm=False):
    """Random BatchNorm running statistics (so eval-mode logits exercise them); with `affine` random BatchNorm weights and
    biases too, with `layer_norm` LayerNorm's as well (so a wrong norm or a swapped key shows). In place; returns `model`."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-.2, .2); m.running_var.uniform_(.5, 2)
        if (affine and isinstance(m, torch.nn.modules.batchnorm._BatchNorm)) or (layer_norm and isinstance(m, torch.nn.LayerNorm)):
            m.weight.data.uniform_(.5, 1.5); m.bias.data.uniform_(-.2, .2)
    return model

def inputs(size, n_classes=19, batch=2, ignored_rows=4):
    "A random batch from the global RNG: images, labels (the top `ignored_rows` rows 255) and image metas; `size` int or (h, w)."
    h, w = (size, size) if isinstance(size, int) else size
    x = torch.randn(batch, 3, h, w)
    gt = torch.randint(0, n_classes, (batch, 1, h, w))
    gt[:, :, :ignored_rows] = 255
    metas = [dict(img_shape=(h, w, 3), ori_shape=(h, w, 3), pad_shape=(h, w, 3), flip=False)] * batch
    return x, gt, metas

# The compared forward, as text: exec'd here, and sent to mmseg's process.
FORWARD = '''
def zoo_outputs(m, c):
    """Eval logits of `c['x']` (its first `c['logits_n']` images), then, when `c['gt']` is given, the losses of
    `c['img']` (default `c['x']`): `c['mode']` 'eval' (no gradients), 'train' (BN on batch statistics, dropout on) or
    'train_no_dropout'; `torch.manual_seed(c['seed'])` first unless it is None. `c['stats']`: BN statistics after."""
    with torch.no_grad(): r = dict(logits=m.eval().encode_decode(c['x'][:c.get('logits_n')], None))
    if c.get('gt') is None: return r
    img, mode = c.get('img', c['x']), c.get('mode', 'eval')
    if mode != 'eval':
        m.train()
        if mode == 'train_no_dropout':
            for mod in m.modules():
                if isinstance(mod, torch.nn.modules.dropout._DropoutNd): mod.eval()
    if c.get('seed') is not None: torch.manual_seed(c['seed'])
    with torch.set_grad_enabled(mode != 'eval'): losses = m.forward_train(img, c['metas'], c['gt'])
    r['losses'] = {k: v.detach() for k, v in losses.items()}
    if c.get('stats'): r['stats'] = {k: v for k, v in m.state_dict().items() if 'running_' in k}
    return r
'''
_ns = {'torch': torch}
exec(FORWARD, _ns)
zoo_outputs = _ns['zoo_outputs']

_MMSEG = '''
from mmcv import ConfigDict
from mmseg.models import build_segmentor
{patch}
{forward}
for n, c in inp['cases'].items():
    torch.manual_seed(0)
    m = build_segmentor(ConfigDict(c['cfg']))
    r = out[n] = dict(shapes={{k: tuple(v.shape) for k, v in m.state_dict().items()}})
    m.load_state_dict(c['sd'], strict=True)
    r.update(zoo_outputs(m, c))
'''

def run_both(cases, patch='', timeout=300):
    """`cases`: {name: dict(cfg, model (segnb's, weights set), x, and zoo_outputs' keys)}. Runs each case in segnb, then
    all of them in one mmseg process (after `patch`, Python source) with segnb's weights: ({name: ours}, {name: mmseg's}),
    each a dict of shapes (in state_dict order), logits, and losses / stats where asked."""
    ours, send = {}, {}
    for n, c in cases.items():
        c = dict(c)
        model = c.pop('model')
        sd = {k: v.clone() for k, v in model.state_dict().items()}   # a training forward moves the BN statistics
        ours[n] = dict(shapes={k: tuple(v.shape) for k, v in sd.items()}, **zoo_outputs(model, c))
        send[n] = dict(c, sd=sd)
    return ours, run_mmseg(_MMSEG.format(patch=patch, forward=FORWARD), timeout=timeout, cases=send)

def assert_same(ours, ref, tol=1e-5, acc_atol=None, ordered_keys=False, ordered_losses=False, name=''):
    """One case: the same state_dict keys and shapes (keys in order when `ordered_keys`), logits within `tol`, the same
    loss names (in order when `ordered_losses`) and values within `tol` (accuracies within `acc_atol` points when given:
    a near-tie may flip a pixel), the same BN statistics where asked."""
    if ordered_keys: assert list(ours['shapes']) == list(ref['shapes']), (name, set(ours['shapes']) ^ set(ref['shapes']))
    assert ours['shapes'] == ref['shapes'], (name, set(ours['shapes']) ^ set(ref['shapes']))
    torch.testing.assert_close(ours['logits'], ref['logits'], rtol=tol, atol=tol, msg=lambda m: f'{name}: {m}')
    if 'losses' not in ours and 'losses' not in ref: return
    losses, ref_losses = ours['losses'], ref['losses']
    if ordered_losses: assert list(losses) == list(ref_losses), (name, list(losses), list(ref_losses))
    assert set(losses) == set(ref_losses), (name, sorted(losses), sorted(ref_losses))
    for k, v in losses.items():
        t = dict(rtol=0, atol=acc_atol) if acc_atol is not None and k.endswith('acc_seg') else dict(rtol=tol, atol=tol)
        torch.testing.assert_close(v, ref_losses[k], **t, msg=lambda m: f'{name}: {k}: {m}')
    for k, v in ours.get('stats', {}).items(): torch.testing.assert_close(v, ref['stats'][k], rtol=tol, atol=tol, msg=k)

def assert_keys_and_shapes(cfgs, patch='', timeout=300):
    "Every config of `cfgs` ({name: model dict}) builds in segnb and in mmseg (meta device) with the same keys, in order, and shapes."
    ref = run_mmseg('''
from mmcv import ConfigDict
from mmseg.models import build_segmentor
''' + patch + '''
for n, cfg in inp['cfgs'].items():
    with torch.device('meta'): out[n] = {k: tuple(v.shape) for k, v in build_segmentor(ConfigDict(cfg)).state_dict().items()}
''', timeout=timeout, cfgs=cfgs)
    for n, cfg in cfgs.items():
        with torch.device('meta'): ours = {k: tuple(v.shape) for k, v in build_segmentor(cfg).state_dict().items()}
        assert list(ours) == list(ref[n]), (n, set(ours) ^ set(ref[n]))
        assert ours == ref[n], n

# mmseg's drop-path rates call .item() on a linspace, which meta tensors refuse: the patch for `assert_keys_and_shapes`.
LINSPACE_ON_CPU = '''
_linspace = torch.linspace
torch.linspace = lambda *a, **k: _linspace(*a, **dict(k, device='cpu'))
'''
