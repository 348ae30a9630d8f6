"""mmseg 0.30 model-zoo families FPN, UNet, MobileNetV2, ResNeSt, MobileNetV3 + LR-ASPP, JPU, PointRend: differential
tests against mmseg itself (same keys and shapes, same weights -> same logits and training losses), on tiny inputs.

The differential tests need SEGNB_MMSEG_CONFIGS and SEGNB_MMSEG_VENV (see tests/test_models_mmseg.py) and skip
without them; `point_sample` is checked against plain loops everywhere."""
import os
import pytest, torch
from segnb.config import Config
from segnb.models.segmentors.encoder_decoder import build_segmentor
from mmseg_venv import needs_mmseg, run_mmseg

ROOT = os.environ.get('SEGNB_MMSEG_CONFIGS')
pytestmark = [pytest.mark.filterwarnings("ignore")]
needs_configs = pytest.mark.skipif(not ROOT, reason='set SEGNB_MMSEG_CONFIGS to mmsegmentation 0.30.0 mmseg/.mim/configs')

def needs_both(test): return needs_mmseg(needs_configs(test))

def _bn(d):
    "SyncBN -> BN everywhere: both sides build without a process group."
    if isinstance(d, dict): return {k: ('BN' if k == 'type' and v == 'SyncBN' else _bn(v)) for k, v in d.items()}
    if isinstance(d, (list, tuple)): return type(d)(_bn(v) for v in d)
    return d

def _model_cfg(name, **changes):
    cfg = Config.fromfile(os.path.join(ROOT, name + '.py'), import_custom_modules=False)
    return dict(_bn(cfg.to_dict()['model']), pretrained=None, **changes)

def _randomize_norms(model):
    "Non-trivial running statistics, so eval-mode logits exercise them."
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-.2, .2); m.running_var.uniform_(.5, 2)

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

_MMSEG = '''
from mmcv import ConfigDict
from mmseg.models import build_segmentor
for n, cfg in inp['cfgs'].items():
    m = build_segmentor(ConfigDict(cfg))
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    m.load_state_dict(inp['sds'][n], strict=True)
    m.eval()
    b = inp['bs'][n]
    with torch.no_grad(): logits = m.encode_decode(b['img'][:1], None)
    m.train()
    for mod in m.modules():
        if isinstance(mod, torch.nn.modules.dropout._DropoutNd): mod.eval()
    torch.manual_seed(0)
    losses = m.forward_train(b['img'], b['img_metas'], b['gt_semantic_seg'])
    out[n] = dict(shapes=shapes, logits=logits, losses={k: v.detach() for k, v in losses.items()})
'''

def check_like_mmseg(names, size=64, changes=None):
    "Build each config on both sides; compare keys and shapes, eval logits (1 image) and training losses (2 images)."
    torch.manual_seed(0)
    cfgs = {n: _model_cfg(n, **(changes or {})) for n in names}
    ours, sds, bs = {}, {}, {}
    for n, cfg in cfgs.items():
        model = build_segmentor(cfg).eval()
        _randomize_norms(model)
        sds[n] = {k: v.clone() for k, v in model.state_dict().items()}
        num_classes = cfg['decode_head']['num_classes'] if isinstance(cfg['decode_head'], dict) else cfg['decode_head'][-1]['num_classes']
        b = bs[n] = _batch(2, size, size, num_classes)
        with torch.no_grad(): logits = model.encode_decode(b['img'][:1], None)
        torch.manual_seed(0)
        losses = _train_no_dropout(model).forward_train(b['img'], b['img_metas'], b['gt_semantic_seg'])
        ours[n] = dict(shapes={k: tuple(v.shape) for k, v in sds[n].items()}, logits=logits, losses=losses)
    ref = run_mmseg(_MMSEG, cfgs=cfgs, sds=sds, bs=bs)
    for n in names:
        assert ours[n]['shapes'] == ref[n]['shapes'], (n, set(ours[n]['shapes']) ^ set(ref[n]['shapes']))
        torch.testing.assert_close(ours[n]['logits'], ref[n]['logits'], rtol=1e-5, atol=1e-5, msg=n)
        assert list(ours[n]['losses']) == list(ref[n]['losses']), n
        one_pixel = 100.5 / int((bs[n]['gt_semantic_seg'] != 255).sum())   # acc_seg, in percent of labelled pixels: a near-tie may flip one
        for k, v in ours[n]['losses'].items():
            tol = dict(rtol=0, atol=one_pixel) if k.endswith('acc_seg') else dict(rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(v.detach(), ref[n]['losses'][k], **tol, msg=f'{n}: {k}')
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
