"""mmseg 0.30 model-zoo families FPN, UNet, MobileNetV2, ResNeSt, MobileNetV3 + LR-ASPP, JPU, PointRend: differential
tests against mmseg itself (same keys and shapes, same weights -> same logits and training losses), on tiny inputs.

The differential tests need SEGNB_MMSEG_CONFIGS and SEGNB_MMSEG_VENV (see tests/test_models_mmseg.py) and skip
without them; `point_sample` is checked against plain loops everywhere."""
import pytest, torch
from segnb.models.segmentors.encoder_decoder import build_segmentor
from zoo_check import assert_same, model_cfg as _model_cfg, needs_both, random_norms, run_both

pytestmark = [pytest.mark.filterwarnings("ignore")]

def _batch(n, h, w, num_classes, seed=0):
    g = torch.Generator().manual_seed(seed)
    gt = torch.randint(0, num_classes, (n, 1, h, w), generator=g); gt[:, :, :3] = 255
    metas = [dict(ori_shape=(h, w, 3), img_shape=(h, w, 3), pad_shape=(h, w, 3), flip=False) for _ in range(n)]
    return dict(img=torch.randn(n, 3, h, w, generator=g), img_metas=metas, gt_semantic_seg=gt)

def _train_no_dropout(model):
    "Training mode (BN on batch statistics) with dropout off, so both sides compute the same deterministic losses."
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.modules.dropout._DropoutNd): m.eval()
    return model

def check_like_mmseg(names, size=64, changes=None):
    """Build each config on both sides; compare keys and shapes, eval logits (1 image) and training losses (2 images,
    dropout off, the same seed before them: PointRend draws random points)."""
    torch.manual_seed(0)
    cases = {}
    for n in names:
        cfg = _model_cfg(n, **(changes or {}))
        head = cfg['decode_head'] if isinstance(cfg['decode_head'], dict) else cfg['decode_head'][-1]
        b = _batch(2, size, size, head['num_classes'])
        cases[n] = dict(cfg=cfg, model=random_norms(build_segmentor(cfg).eval()), x=b['img'], logits_n=1, metas=b['img_metas'],
                        gt=b['gt_semantic_seg'], mode='train_no_dropout', seed=0)
    ours, ref = run_both(cases)
    for n, c in cases.items():
        one_pixel = 100.5 / int((c['gt'] != 255).sum())   # acc_seg, in percent of labelled pixels: a near-tie may flip one
        assert_same(ours[n], ref[n], acc_atol=one_pixel, ordered_losses=True, name=n)
    return ours

@needs_both
def test_fpn_like_mmseg():
    "Semantic FPN (FPN neck + FPNHead) on ResNet-50."
    check_like_mmseg(['sem_fpn/fpn_r50_512x1024_80k_cityscapes'])

@needs_both
def test_unet_like_mmseg():
    "UNet-S5-D16 (InterpConv decoder) with FCN and PSP heads; the PSP one with CE + Dice losses."
    check_like_mmseg(['unet/fcn_unet_s5-d16_64x64_40k_drive', 'unet/pspnet_unet_s5-d16_ce-1.0-dice-3.0_64x64_40k_drive'])

@needs_both
def test_mobilenet_v2_like_mmseg():
    "MobileNetV2 (output stride 8) under DeepLabV3+ and PSPNet heads, with their FCN auxiliary heads."
    check_like_mmseg(['mobilenet_v2/deeplabv3plus_m-v2-d8_512x1024_80k_cityscapes', 'mobilenet_v2/pspnet_m-v2-d8_512x512_160k_ade20k'])

@needs_both
def test_resnest_like_mmseg():
    "ResNeSt-101 (output stride 8) under the FCN head; the package's Bottleneck is still ResNet's."
    import segnb.models.backbones as bb
    from segnb.models.backbones.resnet import Bottleneck
    assert bb.Bottleneck is Bottleneck
    check_like_mmseg(['resnest/fcn_s101-d8_512x1024_80k_cityscapes'])

@needs_both
def test_mobilenet_v3_lraspp_like_mmseg():
    "MobileNetV3 large and small with the LR-ASPP head; 400x400, as the head's 49x49 pool needs a 1/8 map of 49+."
    check_like_mmseg(['mobilenet_v3/lraspp_m-v3-d8_512x1024_320k_cityscapes', 'mobilenet_v3/lraspp_m-v3s-d8_512x1024_320k_cityscapes'],
                     size=400)

@needs_both
def test_jpu_like_mmseg():
    "FastFCN: ResNet-50 at strides 8/16/32, the JPU neck, PSP and ASPP heads with the FCN auxiliary head."
    check_like_mmseg(['fastfcn/fastfcn_r50-d32_jpu_psp_512x1024_80k_cityscapes', 'fastfcn/fastfcn_r50-d32_jpu_aspp_512x1024_80k_cityscapes'])

@needs_both
def test_pointrend_like_mmseg():
    """PointRend (Semantic FPN + PointHead in a CascadeEncoderDecoder): test-time subdivision logits, and the training
    losses with the random point draws aligned (same seed, same draw order on both sides)."""
    check_like_mmseg(['point_rend/pointrend_r50_512x1024_80k_cityscapes'])

def test_point_sample_matches_loops():
    "point_sample against bilinear interpolation written with loops (zeros outside), and nearest mode on pixel centres."
    from segnb.models.decode_heads.point_head import point_sample
    torch.manual_seed(0)
    feat, pts = torch.randn(2, 3, 5, 7), torch.rand(2, 9, 2) * 1.2 - 0.1      # some points outside the image
    ref = torch.zeros(2, 3, 9)
    for n in range(2):
        for p in range(9):
            px, py = float(pts[n, p, 0]) * 7 - 0.5, float(pts[n, p, 1]) * 5 - 0.5
            x0, y0 = int(torch.tensor(px).floor()), int(torch.tensor(py).floor())
            for yy, wy in ((y0, 1 - (py - y0)), (y0 + 1, py - y0)):
                for xx, wx in ((x0, 1 - (px - x0)), (x0 + 1, px - x0)):
                    if 0 <= yy < 5 and 0 <= xx < 7: ref[n, :, p] += wy * wx * feat[n, :, yy, xx]
    torch.testing.assert_close(point_sample(feat, pts), ref, rtol=1e-5, atol=1e-6)
    centres = torch.tensor([[[(3 + .5) / 7, (2 + .5) / 5], [(0 + .5) / 7, (4 + .5) / 5]]]).expand(2, 2, 2)
    torch.testing.assert_close(point_sample(feat, centres, mode='nearest'), feat[:, :, [2, 4], [3, 0]])
