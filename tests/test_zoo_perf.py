"""FastFCN (JPU neck) with every head mmseg 0.30 pairs it with: EncHead (and its SE loss), PSPHead, ASPPHead.

Differential tests against mmseg itself: the same keys and shapes for all twelve fastfcn configs, and for one config
per head the same eval logits and the same training losses (decode, SE and auxiliary) with the same weights.
Needs SEGNB_MMSEG_CONFIGS and SEGNB_MMSEG_VENV; skips without them (CI has both and fails on skips)."""
import torch
import torch.nn.functional as F
from segnb.models.segmentors.encoder_decoder import build_segmentor
from test_zoo_b import _batch, _model_cfg, _train_no_dropout, check_like_mmseg
from zoo_check import MARKS, assert_keys_and_shapes, config_names

pytestmark = MARKS

ENC = 'fastfcn/fastfcn_r50-d32_jpu_enc_512x1024_80k_cityscapes'

def test_fastfcn_enc_head_like_mmseg():
    "JPU + EncHead: keys, eval logits, training losses (cross-entropy, the SE loss, the FCN auxiliary head)."
    ours = check_like_mmseg([ENC])[ENC]
    want = {'decode.loss_ce', 'decode.loss_se', 'decode.acc_seg', 'aux.loss_ce', 'aux.acc_seg'}
    assert set(ours['losses']) == want, set(ours['losses'])
    assert ours['losses']['decode.loss_se'] > 0

def test_fastfcn_heads_like_mmseg_on_ade20k():
    "The ADE20K variants (150 classes) of the three heads, 4x4 batch configs included in the keys test below."
    check_like_mmseg([f'fastfcn/fastfcn_r50-d32_jpu_{h}_512x512_80k_ade20k' for h in ('enc', 'psp', 'aspp')])

def test_enc_se_loss_is_the_weighted_bce_of_the_present_classes():
    "The SE loss, written by hand: 0.2 x BCE-with-logits(se_logits, which classes each image has), 255 left out."
    torch.manual_seed(0)
    model = _train_no_dropout(build_segmentor(_model_cfg(ENC)))
    b = _batch(2, 64, 64, 19)
    head, gt = model.decode_head, b['gt_semantic_seg']
    _, se_logits = head(model.extract_feat(b['img']))
    present = torch.stack([torch.bincount(g[g != 255].flatten(), minlength=19)[:19] > 0 for g in gt]).float()
    want = 0.2 * F.binary_cross_entropy_with_logits(se_logits, present)
    torch.manual_seed(0)
    got = model.forward_train(b['img'], b['img_metas'], gt)['decode.loss_se']
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)

def test_every_fastfcn_config_has_mmsegs_keys_and_shapes():
    "All 12 fastfcn configs of mmseg 0.30 build in segnb (meta device) with mmseg's state_dict keys, order and shapes."
    names = config_names('fastfcn')
    assert len(names) == 12, names
    assert_keys_and_shapes({n: _model_cfg(n) for n in names})
