"""The attention/context heads (NL, GC, DA, CC, ...) against mmsegmentation 0.30: keys, shapes, logits and losses.

Each family is checked on one mmseg config, built at its own depth (50): logits on a 1x3x64x64 input, losses on a batch of two with SyncBN -> BN;
every parameter and BatchNorm statistic is randomized first (a zero-initialised `conv_out` would hide the attention)."""
import torch
from segnb.models.segmentors.encoder_decoder import build_segmentor
from zoo_check import MARKS, assert_same, model_cfg as _model_cfg, run_both

pytestmark = MARKS

def _randomized(model):
    "Every parameter and BatchNorm statistic drawn at random (scaled to keep activations tame), in place."
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            fan_in = p[0].numel() if p.dim() > 1 else 1
            p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5 if p.dim() > 1 else 0.5 + torch.rand(p.shape, generator=g) if name.endswith('weight') else 0.1 * torch.randn(p.shape, generator=g))
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-.2, .2, generator=g); m.running_var.uniform_(.5, 2, generator=g)
    return model

def _no_dropout(model):
    for m in model.modules():
        if isinstance(m, torch.nn.modules.dropout._DropoutNd): m.eval()
    return model

def _inputs(size):
    torch.manual_seed(0)
    x = torch.randn(2, 3, size, size)          # logits of x[:1]; losses of the batch of 2 (BatchNorm on 1x1 pooled maps)
    gt = torch.randint(0, 19, (2, 1, size, size)); gt[..., :4, :] = 255
    metas = [dict(img_shape=(size, size, 3), ori_shape=(size, size, 3), pad_shape=(size, size, 3), flip=False)] * 2
    return x, gt, metas

def _local_losses(name, size=64):
    "Our training losses for config `name` (no mmseg)."
    x, gt, metas = _inputs(size)
    model = _no_dropout(_randomized(build_segmentor(_model_cfg(name))).train())
    return {k: v.detach() for k, v in model.forward_train(x, metas, gt).items()}

def check_against_mmseg(name, patch='', size=64, edit=None):
    """Config `name` (changed in place by `edit`) in both, mmseg's after `patch`: keys in order and shapes, logits of
    one image, training losses (dropout off) of two; returns our logits and losses."""
    cfg = _model_cfg(name)
    if edit: edit(cfg)
    x, gt, metas = _inputs(size)
    case = dict(cfg=cfg, model=_randomized(build_segmentor(cfg)), x=x, logits_n=1, gt=gt, metas=metas, mode='train_no_dropout')
    ours, ref = run_both({name: case}, patch=patch)
    # accuracy counts argmaxes: a near-tie may flip a pixel or two (0.013% each at 2x60x64 valid pixels)
    assert_same(ours[name], ref[name], acc_atol=0.03, ordered_keys=True, name=name)
    return ours[name]['logits'], ours[name]['losses']

def test_nonlocal_matches_mmseg():
    logits, losses = check_against_mmseg('nonlocal_net/nonlocal_r50-d8_512x1024_40k_cityscapes')
    assert logits.shape == (1, 19, 64, 64) and {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)

def test_gcnet_matches_mmseg():
    check_against_mmseg('gcnet/gcnet_r50-d8_512x1024_40k_cityscapes')

def test_danet_matches_mmseg():
    _, losses = check_against_mmseg('danet/danet_r50-d8_512x1024_40k_cityscapes')
    assert {'decode.pam_cam.loss_ce', 'decode.pam.loss_ce', 'decode.cam.loss_ce', 'aux.loss_ce'} <= set(losses)

def test_ccnet_matches_mmseg():
    "mmcv 1.7's CrissCrossAttention is itself PyTorch code (einsum), so mmseg builds CCHead once `mmcv._ext` is stubbed."
    check_against_mmseg('ccnet/ccnet_r50-d8_512x1024_40k_cityscapes')

def test_ann_matches_mmseg():
    check_against_mmseg('ann/ann_r50-d8_512x1024_40k_cityscapes')

def test_encnet_matches_mmseg_with_se_loss():
    _, losses = check_against_mmseg('encnet/encnet_r50-d8_512x1024_40k_cityscapes')
    assert {'decode.loss_ce', 'decode.loss_se', 'aux.loss_ce'} <= set(losses)

def test_apcnet_matches_mmseg():
    check_against_mmseg('apcnet/apcnet_r50-d8_512x1024_40k_cityscapes')

def test_dmnet_matches_mmseg():
    check_against_mmseg('dmnet/dmnet_r50-d8_512x1024_40k_cityscapes')

def test_dnlnet_matches_mmseg():
    check_against_mmseg('dnlnet/dnl_r50-d8_512x1024_40k_cityscapes')

def test_isanet_matches_mmseg():
    "At 72x72 the 1/8 map is 9x9: padded to two 8x8 blocks a side, so both steps attend over several pixels."
    check_against_mmseg('isanet/isanet_r50-d8_512x1024_40k_cityscapes', size=72)

# mmcv's PSAMask is a compiled op (absent in the mmseg venv): this is its CPU kernel's loop, as plain Python.
LOOP_PSAMASK = '''
import torch
class LoopPSAMask(torch.nn.Module):
    def __init__(self, psa_type, mask_size=None):
        super().__init__()
        self.psa_type, self.mask_size = psa_type, mask_size
    def forward(self, x):
        (hm, wm), (n, _, h, w) = self.mask_size, x.shape
        hh, hw = (hm - 1) // 2, (wm - 1) // 2
        out = x.new_zeros(n, h * w, h, w)
        for y in range(h):
            for x_ in range(w):
                for i in range(max(0, hh - y), min(hm, h + hh - y)):
                    for j in range(max(0, hw - x_), min(wm, w + hw - x_)):
                        qy, qx = i + y - hh, j + x_ - hw
                        if self.psa_type == 'collect': out[:, qy * w + qx, y, x_] = x[:, i * wm + j, y, x_]
                        else: out[:, y * w + x_, qy, qx] = x[:, i * wm + j, y, x_]
        return out
'''

def test_psa_mask_matches_the_kernel_loop():
    from segnb.models.decode_heads.psa_head import psa_mask
    ns = {}; exec(LOOP_PSAMASK, ns)
    x = torch.randn(2, 7 * 9, 5, 6)
    for t in ('collect', 'distribute'):
        assert torch.equal(psa_mask(x, t, (7, 9)), ns['LoopPSAMask'](t, (7, 9))(x))

def test_psanet_matches_mmseg_with_loop_psamask():
    "mmseg's PSAHead with mmcv's PSAMask replaced by the loop above (at 72x72 the shrunk map is 5x5, odd: align_corners path)."
    check_against_mmseg('psanet/psanet_r50-d8_512x1024_40k_cityscapes', size=72, patch=LOOP_PSAMASK +
                        'import mmseg.models.decode_heads.psa_head as _psa\n_psa.PSAMask = LoopPSAMask\n')

def test_emanet_matches_mmseg():
    check_against_mmseg('emanet/emanet_r50-d8_512x1024_80k_cityscapes')

def _ohem(cfg):
    "Both OHEM modes: a probability threshold on the decode head, the min_kept hardest losses on the auxiliary head."
    cfg['decode_head']['sampler'] = dict(type='OHEMPixelSampler', thresh=0.05, min_kept=1000)   # random weights: p ~ 1/19
    cfg['auxiliary_head']['sampler'] = dict(type='OHEMPixelSampler', min_kept=1500)

def test_ohem_pixel_sampler_losses_match_mmseg():
    _, losses = check_against_mmseg('gcnet/gcnet_r50-d8_512x1024_40k_cityscapes', edit=_ohem)
    plain = _local_losses('gcnet/gcnet_r50-d8_512x1024_40k_cityscapes')
    for k in ('decode.loss_ce', 'aux.loss_ce'): assert abs(float(losses[k]) - float(plain[k])) > 1e-3, k   # both samplers act
