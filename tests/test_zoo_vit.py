"""Plain ViT and SETR of mmseg 0.30 (VisionTransformer, MultiLevelNeck, MLANeck, SETRUPHead, SETRMLAHead): same keys and
shapes, logits and losses as mmseg.

Needs SEGNB_MMSEG_CONFIGS (mmseg's configs) and SEGNB_MMSEG_VENV (a venv with mmsegmentation 0.30); skips otherwise."""
import glob, os
import pytest, torch
from segnb.config import Config
from segnb.registry import MODELS
from segnb.models.segmentors.encoder_decoder import build_segmentor
from mmseg_venv import needs_mmseg, run_mmseg

ROOT = os.environ.get('SEGNB_MMSEG_CONFIGS')
pytestmark = [pytest.mark.filterwarnings('ignore'), needs_mmseg,
              pytest.mark.skipif(not ROOT, reason='set SEGNB_MMSEG_CONFIGS to mmsegmentation 0.30.0 mmseg/.mim/configs')]

def _bn(d):
    "SyncBN -> BN everywhere (a single process)."
    if isinstance(d, dict): return {k: ('BN' if k == 'type' and v == 'SyncBN' else _bn(v)) for k, v in d.items()}
    if isinstance(d, (list, tuple)): return type(d)(_bn(v) for v in d)
    return d

def _model_cfg(name, backbone=None, small=True):
    "mmseg's model cfg of config `name`, single-process, no checkpoint, at test size (`_shrink`), `backbone` keys overridden."
    cfg = Config.fromfile(os.path.join(ROOT, name + '.py'), import_custom_modules=False)
    model = dict(_bn(dict(cfg.model)), pretrained=None)
    model['backbone'] = dict(model['backbone'], init_cfg=None)
    if small: model = _shrink(model)
    model['backbone'].update(backbone or {})
    return model

def _random_stats(model):
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-.2, .2); m.running_var.uniform_(.5, 2)
            m.weight.data.uniform_(.5, 1.5); m.bias.data.uniform_(-.2, .2)
        if isinstance(m, torch.nn.LayerNorm):
            m.weight.data.uniform_(.5, 1.5); m.bias.data.uniform_(-.2, .2)

def _random_embeddings(model):
    "Non-zero class token and position embedding (both start at zero), so that their use is tested."
    for name, p in model.named_parameters():
        if name.endswith(('cls_token', 'pos_embed')): p.data.normal_(0, 0.5)

_MMSEG = '''
from mmcv import ConfigDict
from mmseg.models import build_segmentor
torch.manual_seed(0)
m = build_segmentor(ConfigDict(inp['cfg'])).eval()
out['keys'] = list(m.state_dict())
out['shapes'] = {k: tuple(v.shape) for k, v in m.state_dict().items()}
m.load_state_dict(inp['sd'], strict=True)
with torch.no_grad():
    out['logits'] = m.encode_decode(inp['x'], None)
    out['losses'] = m.forward_train(inp['x'], inp['metas'], inp['gt'])
'''

def check_against_mmseg(name, backbone=None, size=64, n_classes=19):
    "Keys (in order) and shapes, eval logits and eval-mode losses (auxiliary heads included) equal mmseg's."
    torch.manual_seed(0)
    cfg = _model_cfg(name, backbone)
    model = build_segmentor(cfg).eval()
    _random_stats(model); _random_embeddings(model)
    x = torch.randn(2, 3, size, size)
    gt = torch.randint(0, n_classes, (2, 1, size, size))
    gt[:, :, :4] = 255
    metas = [dict(img_shape=(size, size, 3), ori_shape=(size, size, 3), pad_shape=(size, size, 3), flip=False)] * 2
    sd = model.state_dict()
    with torch.no_grad(): logits, losses = model.encode_decode(x, None), model.forward_train(x, metas, gt)
    ref = run_mmseg(_MMSEG, cfg=cfg, sd=sd, x=x, gt=gt, metas=metas)
    assert list(sd) == ref['keys']
    assert {k: tuple(v.shape) for k, v in sd.items()} == ref['shapes']
    torch.testing.assert_close(logits, ref['logits'], rtol=1e-5, atol=1e-5)
    assert set(losses) == set(ref['losses']), (set(losses), set(ref['losses']))
    for k in losses: torch.testing.assert_close(losses[k], ref['losses'][k], rtol=1e-5, atol=1e-5, msg=k)
    return losses

def _shrink(model, dims=64, heads=4):
    "The same model at test size: the ViT `dims` wide with one layer more than it has outputs (the last output skips one)."
    model, bb = dict(model), dict(model['backbone'])
    old, outs = bb.get('embed_dims', 768), bb.get('out_indices', -1)
    if isinstance(outs, int): bb.update(num_layers=2)
    else: bb.update(num_layers=len(outs) + 1, out_indices=tuple(range(len(outs) - 1)) + (len(outs),))
    bb.update(embed_dims=dims, num_heads=heads)
    model['backbone'] = bb
    def narrow(d):
        if isinstance(d, (list, tuple)): return type(d)(narrow(v) for v in d)
        if not isinstance(d, dict): return d
        d = dict(d)
        c = d.get('in_channels')
        if c == old: d['in_channels'] = dims
        elif isinstance(c, (list, tuple)) and old in c: d['in_channels'] = type(c)(dims if v == old else v for v in c)
        if d.get('type') == 'MultiLevelNeck' and d.get('out_channels') == old: d['out_channels'] = dims
        return d
    for k in ('neck', 'decode_head', 'auxiliary_head'):
        if model.get(k) is not None: model[k] = narrow(model[k])
    return model

def test_upernet_vit_b16_mln_matches_mmseg():
    "ViT + MultiLevelNeck (scales 4, 2, 1, 0.5) + UPerHead + FCN auxiliary head; img_size = the input: no resizing."
    losses = check_against_mmseg('vit/upernet_vit-b16_mln_512x512_80k_ade20k', dict(img_size=(64, 64)), n_classes=150)
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)

def test_upernet_vit_b16_ln_mln_resized_pos_embed_matches_mmseg():
    "final_norm=True; img_size 512 and a 64x64 input: the 32x32 position grid is resized (bicubic) on every forward."
    check_against_mmseg('vit/upernet_vit-b16_ln_mln_512x512_160k_ade20k', n_classes=150)

def test_upernet_deit_s16_matches_mmseg():
    "DeiT-S: ViT with drop_path_rate=0.1 (an eval forward, so the same logits) and no neck: UPerHead on 1/16 maps."
    check_against_mmseg('vit/upernet_deit-s16_512x512_80k_ade20k', n_classes=150)

def test_setr_naive_matches_mmseg():
    "SETR naive: SETRUPHead with one 1x1 conv, three SETRUPHead auxiliary heads; bilinear pos-embed resizing."
    losses = check_against_mmseg('setr/setr_vit-large_naive_8x1_768x768_80k_cityscapes')
    assert {'decode.loss_ce', 'aux_0.loss_ce', 'aux_1.loss_ce', 'aux_2.loss_ce'} <= set(losses)

def test_setr_pup_matches_mmseg():
    "SETR PUP: four conv + 2x upsampling steps in the decode head (progressive upsampling)."
    losses = check_against_mmseg('setr/setr_pup_512x512_160k_b16_ade20k', n_classes=150)
    assert {'decode.loss_ce', 'aux_0.loss_ce', 'aux_2.loss_ce'} <= set(losses)

def test_setr_mla_matches_mmseg():
    "SETR MLA: with_cls_token=False, MLANeck (per-level LN, top-down sums), SETRMLAHead and four FCN auxiliary heads."
    losses = check_against_mmseg('setr/setr_vit-large_mla_8x1_768x768_80k_cityscapes')
    assert {'decode.loss_ce', 'aux_0.loss_ce', 'aux_3.loss_ce'} <= set(losses)
