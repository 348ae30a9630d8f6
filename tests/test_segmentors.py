"Segmentors: train/test paths, distributed parse_losses on 2 CPU processes, GPU-readiness on CPU, and mmseg itself."
import copy, os, socket, warnings
import numpy as np, pytest, torch
import torch.distributed as dist
import torch.multiprocessing as mp
from segnb.models.segmentors.encoder_decoder import build_segmentor, parse_losses
from mmseg_venv import needs_mmseg, run_mmseg

pytestmark = [pytest.mark.filterwarnings('ignore:Default ``avg_non_ignore``'),
              pytest.mark.filterwarnings('ignore:SyncBN needs an initialised')]
BN = dict(type='BN', requires_grad=True)

def psp_cfg(num_classes=4, **test_cfg):
    "PSPNet-R18-D8 at tiny widths: mmseg's pspnet_r50-d8 model config with depth 18."
    return dict(type='EncoderDecoder', pretrained=None,
        backbone=dict(type='ResNetV1c', depth=18, num_stages=4, out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4),
                      strides=(1, 2, 1, 1), norm_cfg=BN, norm_eval=False, style='pytorch', contract_dilation=True),
        decode_head=dict(type='PSPHead', in_channels=512, in_index=3, channels=16, pool_scales=(1, 2, 3, 6), dropout_ratio=0.1,
                         num_classes=num_classes, norm_cfg=BN, align_corners=False,
                         loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        auxiliary_head=dict(type='FCNHead', in_channels=256, in_index=2, channels=8, num_convs=1, concat_input=False,
                            dropout_ratio=0.1, num_classes=num_classes, norm_cfg=BN, align_corners=False,
                            loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
        train_cfg=dict(), test_cfg=dict(mode='whole', **test_cfg))

def metas(n, h=48, w=40, ori=None, **kw):
    return [dict(ori_shape=ori or (h, w, 3), img_shape=(h, w, 3), pad_shape=(h, w, 3), flip=False, **kw) for _ in range(n)]

def batch(n=2, h=48, w=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    gt = torch.randint(0, 4, (n, 1, h, w), generator=g); gt[:, :, :4] = 255
    return dict(img=torch.randn(n, 3, h, w, generator=g), img_metas=metas(n, h, w), gt_semantic_seg=gt)

def _randomize_bn(model):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-.2, .2); m.running_var.uniform_(.5, 2); m.weight.data.uniform_(.5, 1.5)

def test_train_and_val_step_contract():
    torch.manual_seed(0)
    model = build_segmentor(psp_cfg())
    out = model.train_step(batch(), None)
    assert set(out) == {'loss', 'log_vars', 'num_samples'} and out['num_samples'] == 2
    assert list(out['log_vars']) == ['decode.loss_ce', 'decode.acc_seg', 'aux.loss_ce', 'aux.acc_seg', 'loss']
    assert all(isinstance(v, float) for v in out['log_vars'].values()) and out['loss'].requires_grad
    val = model.val_step(batch())
    assert list(val['log_vars'])[-1] == 'loss_val'

def test_build_segmentor_cfg_rules():
    cfg = psp_cfg(); cfg.pop('test_cfg')
    with pytest.warns(UserWarning, match='train_cfg and test_cfg is deprecated'):
        m = build_segmentor(cfg, test_cfg=dict(mode='slide', crop_size=(32, 32), stride=(16, 16)))
    assert m.test_cfg['mode'] == 'slide'
    with pytest.raises(ValueError, match='train_cfg specified in both outer field and model field'):
        build_segmentor(psp_cfg(), train_cfg=dict())
    with pytest.raises(ValueError, match='both backbone and segmentor set pretrained'):
        build_segmentor(dict(psp_cfg(), pretrained='a.pth', backbone=dict(psp_cfg()['backbone'], pretrained='b.pth')))
    with pytest.raises(KeyError, match="'EncoderDecodr' is not in the models registry"):
        build_segmentor(dict(psp_cfg(), type='EncoderDecodr'))

def test_slide_covers_every_pixel_and_rescales():
    torch.manual_seed(0)
    model = build_segmentor(psp_cfg(), ).eval()
    model.test_cfg = dict(mode='slide', crop_size=(32, 32), stride=(20, 20))
    b = batch(1, 50, 45)
    with torch.no_grad():
        probs = model.inference(b['img'], metas(1, 50, 45), rescale=True)
        assert probs.shape == (1, 4, 50, 45) and torch.allclose(probs.sum(1), torch.ones(1, 50, 45))
        pred = model(return_loss=False, img=[b['img']], img_metas=[metas(1, 50, 45, ori=(25, 30, 3))])
    assert pred[0].shape == (25, 30) and isinstance(pred[0], np.ndarray)

def test_binary_out_channels_1_uses_threshold():
    cfg = psp_cfg(num_classes=2)
    for k in ('decode_head', 'auxiliary_head'):
        cfg[k] = dict(cfg[k], out_channels=1, threshold=0.5, loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = build_segmentor(cfg)
    b = batch(); b['gt_semantic_seg'] = torch.where(b['gt_semantic_seg'] == 255, 255, b['gt_semantic_seg'] % 2)
    assert 'decode.loss_ce' in model.train_step(b)['log_vars']
    model.eval()
    with torch.no_grad():
        prob = model.inference(b['img'], b['img_metas'], True)
        pred = model.simple_test(b['img'], b['img_metas'])
    assert np.array_equal(pred[0], (prob[0, 0] > 0.5).long().numpy())

def test_channels_last_and_bf16_autocast_match_fp32():
    """Tolerances: channels_last logits within 1e-4 abs of fp32 (identical predictions); bf16 autocast logits within
    5% of the logit range and >= 97% identical predictions."""
    torch.manual_seed(0)
    model = build_segmentor(psp_cfg()).eval()
    _randomize_bn(model)
    torch.nn.init.normal_(model.decode_head.conv_seg.weight, 0, 0.5)
    img = batch(2, 64, 64)['img']
    with torch.no_grad():
        ref = model.encode_decode(img, None)
        cl = copy.deepcopy(model).to(memory_format=torch.channels_last).encode_decode(img, None)
        with torch.autocast('cpu', dtype=torch.bfloat16): bf = model.encode_decode(img, None)
    assert (cl - ref).abs().max() < 1e-4 and torch.equal(cl.argmax(1), ref.argmax(1))
    assert bf.dtype == torch.bfloat16
    assert (bf.float() - ref).abs().max() < 0.05 * (ref.max() - ref.min())
    assert (bf.float().argmax(1) == ref.argmax(1)).float().mean() >= 0.97

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _dist_worker(rank, port, mismatch, q):
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=2)
    try:
        losses = {'decode.loss_ce': torch.tensor(1.0 + rank), 'decode.acc_seg': torch.tensor([50.0 * rank])}
        if mismatch and rank == 1: losses['aux.loss_dice'] = losses.pop('decode.acc_seg')
        loss, log_vars = parse_losses(losses)
        q.put((rank, 'ok', float(loss), dict(log_vars)))
    except Exception as e: q.put((rank, type(e).__name__, str(e), None))
    finally: dist.destroy_process_group()

def _run_dist(mismatch):
    ctx, port = mp.get_context('spawn'), _free_port()
    q = ctx.Queue()
    procs = [ctx.Process(target=_dist_worker, args=(r, port, mismatch, q)) for r in range(2)]
    for p in procs: p.start()
    res = sorted(q.get(timeout=120) for _ in procs)
    for p in procs: p.join(30)
    return res

def test_parse_losses_distributed_mean():
    res = _run_dist(False)
    assert [r[1] for r in res] == ['ok', 'ok']
    assert [r[2] for r in res] == [1.0, 2.0]                # the back-propagated loss stays per rank
    for r in res: assert r[3] == {'decode.loss_ce': 1.5, 'decode.acc_seg': 25.0, 'loss': 1.5}

def test_parse_losses_distributed_name_mismatch_raises_on_every_rank():
    res = _run_dist(True)
    assert [r[1] for r in res] == ['RuntimeError', 'RuntimeError']
    for r in res: assert 'rank 0: decode.loss_ce, decode.acc_seg, loss; rank 1: decode.loss_ce, aux.loss_dice, loss' in r[2]

@needs_mmseg
def test_encoder_decoder_matches_mmseg():
    "Same weights loaded strict into mmseg's model; same losses, logits, slide and flip-augmented predictions."
    torch.manual_seed(0)
    cfg = psp_cfg()
    model = build_segmentor(copy.deepcopy(cfg))
    _randomize_bn(model)
    b = batch(2, 48, 40)
    model.eval()  # dropout off for a deterministic loss; BN in eval on both sides
    with torch.no_grad():
        ours = dict(losses=model.forward_train(b['img'], b['img_metas'], b['gt_semantic_seg']),
                    logits=model.encode_decode(b['img'], None))
        model.test_cfg = dict(mode='slide', crop_size=(32, 32), stride=(20, 20))
        flipped = metas(2, 48, 40, flip_direction='vertical'); [m.update(flip=True) for m in flipped]
        ours['slide'] = model(return_loss=False, img=[b['img'], b['img'].flip(2)], img_metas=[b['img_metas'], flipped])
    code = '''
import copy
from mmcv import ConfigDict
from mmseg.models import build_segmentor
m = build_segmentor(ConfigDict(inp['cfg']))
m.load_state_dict(inp['sd'], strict=True)
m.eval()
b = inp['b']
with torch.no_grad():
    out['losses'] = m.forward_train(b['img'], b['img_metas'], b['gt_semantic_seg'])
    out['logits'] = m.encode_decode(b['img'], None)
    m.test_cfg = ConfigDict(mode='slide', crop_size=(32, 32), stride=(20, 20))
    out['slide'] = m(return_loss=False, img=[b['img'], b['img'].flip(2)], img_metas=[b['img_metas'], inp['flipped']])
'''
    ref = run_mmseg(code, cfg=cfg, sd=model.state_dict(), b=b, flipped=flipped)
    assert list(ours['losses']) == list(ref['losses'])
    for k in ours['losses']: torch.testing.assert_close(ours['losses'][k], ref['losses'][k], rtol=1e-4, atol=1e-5, msg=k)
    torch.testing.assert_close(ours['logits'], ref['logits'], rtol=1e-4, atol=1e-5)
    for a, r in zip(ours['slide'], ref['slide']): assert (a == r).mean() > 0.999


def _small_base_cfg(base):
    "One of segnb's shipped model configs (mmseg's `_base_/models`) with a ResNet-18 at quarter width, BN, 4 classes."
    import json
    from segnb.config import Config
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'segnb', 'configs', '_base_', 'models', base)
    cfg = json.loads(json.dumps(Config.fromfile(path).model).replace('"SyncBN"', '"BN"'))
    cfg['pretrained'] = None
    cfg['backbone'].update(depth=18, stem_channels=16, base_channels=16)
    head = cfg['decode_head']
    head.update(channels=16, num_classes=4, in_channels=[16, 32, 64, 128] if base.startswith('upernet') else 128)
    if 'c1_in_channels' in head: head.update(c1_in_channels=16, c1_channels=8)
    cfg['auxiliary_head'].update(in_channels=64, channels=8, num_classes=4)
    return cfg

def _runs(module): return type(module) is not torch.nn.ModuleList     # a container, never called

@pytest.mark.parametrize('base', ['pspnet_r50-d8.py', 'upernet_r50.py', 'deeplabv3plus_r50-d8.py'])
def test_every_forward_hook_fires_once_per_forward(base):
    """The reference path calls every submodule once per forward, as mmseg does (in train and eval), except the
    residual blocks' shared `relu`, which mmseg's blocks also call once per conv (2 in BasicBlock); at test time the
    auxiliary head and the losses do not run; plain `nn.ModuleList` containers have no forward."""
    import re
    torch.manual_seed(0)
    model = build_segmentor(_small_base_cfg(base))
    counts = {}
    hooks = [m.register_forward_hook(lambda *a, n=n: counts.__setitem__(n, counts.get(n, 0) + 1))
             for n, m in model.named_modules() if n]
    b = batch(2, 48, 40)
    shared_relu = re.compile(r'^backbone\.layer\d\.\d+\.relu$')
    for mode in ('train', 'eval'):
        counts.clear()
        if mode == 'train':
            losses = model.train().forward_train(b['img'], b['img_metas'], b['gt_semantic_seg'])
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            expected = {n: 2 if shared_relu.match(n) else 1 for n, m in model.named_modules() if n and _runs(m)}
        else:
            with torch.no_grad(): model.eval().encode_decode(b['img'], None)
            expected = {n: 2 if shared_relu.match(n) else 1 for n, m in model.named_modules()
                        if n and _runs(m) and not n.startswith('auxiliary_head') and 'loss_decode' not in n}
        assert counts == expected, (mode, {n: (counts.get(n), c) for n, c in expected.items() if counts.get(n) != c},
                                    set(counts) - set(expected))
    for h in hooks: h.remove()
