"Losses against PyTorch, hand-computed numbers, and mmsegmentation 0.30 itself (when SEGNB_MMSEG_VENV is set)."
import json, warnings
import pytest, torch
import torch.nn.functional as F
from segnb.models.losses.losses import CrossEntropyLoss, DiceLoss, FocalLoss, accuracy, get_class_weight
from segnb.registry import MODELS
from mmseg_venv import needs_mmseg, run_mmseg

pytestmark = pytest.mark.filterwarnings('ignore:Default ``avg_non_ignore``')

def _inputs(seed=0, n=2, c=4, h=6, w=5, ignore=255):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(n, c, h, w, generator=g), torch.randint(0, c, (n, h, w), generator=g)
    y[0, :2] = ignore
    return x, y

def test_ce_matches_torch_with_avg_non_ignore():
    x, y = _inputs()
    test = CrossEntropyLoss(avg_non_ignore=True)(x, y, ignore_index=255)
    assert torch.allclose(test, F.cross_entropy(x, y, ignore_index=255))

def test_ce_default_mean_counts_ignored_pixels():
    x, y = _inputs()
    assert torch.allclose(CrossEntropyLoss()(x, y, ignore_index=255),
                          F.cross_entropy(x, y, ignore_index=255, reduction='sum') / y.numel())

def test_ce_warns_like_mmseg():
    with pytest.warns(UserWarning, match='set ``avg_non_ignore=True``'): CrossEntropyLoss()
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        CrossEntropyLoss(avg_non_ignore=True); CrossEntropyLoss(reduction='sum')

def test_ce_class_weight_file(tmp_path):
    p = tmp_path / 'w.json'; p.write_text(json.dumps([1, 2, 3, 4]))
    x, y = _inputs()
    a = CrossEntropyLoss(class_weight=str(p))(x, y, ignore_index=255)
    b = CrossEntropyLoss(class_weight=[1., 2., 3., 4.])(x, y, ignore_index=255)
    assert torch.allclose(a, b)
    with pytest.raises(FileNotFoundError, match='nope.npy'): get_class_weight(str(tmp_path / 'nope.npy'))

def test_bad_labels_named_before_any_kernel():
    x, y = _inputs()
    y[1, 0, 0], y[1, 0, 1] = 9, -3
    for loss in (CrossEntropyLoss(), DiceLoss(), FocalLoss()):
        with pytest.raises(ValueError, match=r'label values -3, 9 are outside \[0, 4\) and are not ignore_index=255'):
            loss(x, y, ignore_index=255)

def test_ignore_index_not_passed_is_explained():
    x, y = _inputs()
    with pytest.raises(ValueError, match='label values 255 are outside .* ignore_index=-100'): CrossEntropyLoss()(x, y)

def test_num_classes_1_softmax_refused():
    x, y = _inputs(c=1, ignore=0)
    with pytest.raises(ValueError, match='softmax cross-entropy over a single class is always 0'):
        MODELS.build(dict(type='CrossEntropyLoss'))(x, y, ignore_index=255)
    MODELS.build(dict(type='CrossEntropyLoss', use_sigmoid=True))(x, y.clamp(max=1), ignore_index=255)  # the way out

def test_loss_names_and_weight():
    assert [c().loss_name for c in (CrossEntropyLoss, DiceLoss, FocalLoss)] == ['loss_ce', 'loss_dice', 'loss_focal']
    x, y = _inputs()
    assert torch.allclose(CrossEntropyLoss(loss_weight=0.4)(x, y, ignore_index=255),
                          0.4 * CrossEntropyLoss()(x, y, ignore_index=255))

def test_ohem_style_weight_and_none_reduction():
    x, y = _inputs()
    px = CrossEntropyLoss()(x, y, ignore_index=255, reduction_override='none')
    assert px.shape == y.shape and (px[y == 255] == 0).all()
    w = (torch.rand(y.shape) > 0.5).float()
    assert torch.allclose(CrossEntropyLoss(reduction='sum')(x, y, weight=w, ignore_index=255), (px * w).sum())

def test_accuracy_by_hand():
    pred = torch.eye(3)[None, :, :, None].expand(2, 3, 3, 4)      # argmax of row i is class i
    tgt = torch.tensor([0, 1, 2])[None, :, None].expand(2, 3, 4).clone()
    assert accuracy(pred, tgt).item() == pytest.approx(100.)
    tgt[:, 0] = 2; tgt[:, 1] = 255
    assert accuracy(pred, tgt, ignore_index=255).item() == pytest.approx(50.)

def _compare_with_mmseg(cfgs, x, y, ignore_index=255, **fw):
    code = '''
from mmseg.models.builder import build_loss
from mmseg.models.losses import accuracy
for i, cfg in enumerate(inp['cfgs']):
    loss = build_loss(cfg)
    for red in ('mean', 'sum', 'none'):
        out[(i, red)] = loss(inp['x'], inp['y'], reduction_override=red, ignore_index=inp['ii'], **inp['fw'])
out['acc'] = accuracy(inp['x'], inp['y'], topk=(1, 2), ignore_index=inp['ii'])
out['acc1'] = accuracy(inp['x'], inp['y'], topk=1, ignore_index=inp['ii'])
out['acc_t'] = accuracy(inp['x'].flatten(2).transpose(1, 2).reshape(-1, inp['x'].size(1)).softmax(1), inp['y'].reshape(-1), topk=1, thresh=0.3)
'''
    ref = run_mmseg(code, cfgs=cfgs, x=x, y=y, ii=ignore_index, fw=fw)
    for i, cfg in enumerate(cfgs):
        loss = MODELS.build(dict(cfg))
        for red in ('mean', 'sum', 'none'):
            got = loss(x, y, reduction_override=red, ignore_index=ignore_index, **fw)
            assert torch.allclose(got, ref[(i, red)], atol=1e-6, rtol=1e-5), (cfg, red)
    for a, b in zip(accuracy(x, y, topk=(1, 2), ignore_index=ignore_index), ref['acc']): assert torch.allclose(a, b)
    assert torch.allclose(accuracy(x, y, topk=1, ignore_index=ignore_index), ref['acc1'])
    flat = x.flatten(2).transpose(1, 2).reshape(-1, x.size(1)).softmax(1)    # mmseg's thresh works on [N, C] only
    assert torch.allclose(accuracy(flat, y.reshape(-1), topk=1, thresh=0.3), ref['acc_t'])

@needs_mmseg
def test_losses_match_mmseg():
    x, y = _inputs(seed=3)
    cfgs = [dict(type='CrossEntropyLoss'), dict(type='CrossEntropyLoss', avg_non_ignore=True, loss_weight=0.4),
            dict(type='CrossEntropyLoss', class_weight=[0.5, 1.0, 2.0, 1.5], avg_non_ignore=True),
            dict(type='CrossEntropyLoss', use_sigmoid=True), dict(type='CrossEntropyLoss', use_sigmoid=True, avg_non_ignore=True),
            dict(type='DiceLoss'), dict(type='DiceLoss', class_weight=[0.5, 1.0, 2.0, 1.5], exponent=3, smooth=0.5),
            dict(type='FocalLoss'), dict(type='FocalLoss', gamma=1.5, alpha=[0.1, 0.2, 0.3, 0.4], class_weight=[1.0, 2.0, 1.0, 0.5])]
    _compare_with_mmseg(cfgs, x, y)
    w = (torch.rand(y.shape, generator=torch.Generator().manual_seed(1)) > 0.3).float()
    _compare_with_mmseg([dict(type='CrossEntropyLoss'), dict(type='CrossEntropyLoss', use_sigmoid=True)], x, y, weight=w)

@needs_mmseg
def test_binary_sigmoid_matches_mmseg():
    x, y = _inputs(seed=4, c=1, ignore=255)
    y = torch.where(y == 255, y, torch.randint(0, 2, y.shape, generator=torch.Generator().manual_seed(2)))
    ref = run_mmseg('''
from mmseg.models.builder import build_loss
out['l'] = build_loss(dict(type='CrossEntropyLoss', use_sigmoid=True, avg_non_ignore=True))(inp['x'], inp['y'], ignore_index=255)
''', x=x, y=y)
    assert torch.allclose(CrossEntropyLoss(use_sigmoid=True, avg_non_ignore=True)(x, y, ignore_index=255), ref['l'])
