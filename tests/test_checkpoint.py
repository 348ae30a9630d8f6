"""segnb.checkpoint: atomic saves (fault injection), safe loads, key reports, named weights via a temp TORCH_HOME.
Nothing here touches the network: downloads are replaced by a local copy."""
import os, shutil, signal, subprocess, sys, textwrap, time
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as nn

import segnb
from segnb import checkpoint as ck
from segnb.checkpoint import save_checkpoint, load_checkpoint, load_state_dict, find_checkpoint, checkpoint_url


def small_net(classes=3):
    torch.manual_seed(classes)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, classes, 1))


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    return tmp_path / 'torch_home'


def test_roundtrip_with_meta_and_optimizer(tmp_path):
    net, path = small_net(), tmp_path / 'ckpt.pth'
    net.CLASSES, net.PALETTE = ('a', 'b', 'c'), np.array([[0, 0, 0], [1, 2, 3], [4, 5, 6]], dtype=np.uint8)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(2, 3, 8, 8)).sum().backward(); opt.step()
    class FakeConfig: pretty_text = "model = dict(type='EncoderDecoder')"
    save_checkpoint(net, path, optimizer=opt, meta=dict(iter=7, epoch=2, config=FakeConfig()))
    raw = torch.load(path, weights_only=True)          # the safe loader reads everything we write
    assert raw['meta']['PALETTE'] == [[0, 0, 0], [1, 2, 3], [4, 5, 6]]
    assert raw['meta']['CLASSES'] == ('a', 'b', 'c')
    assert (raw['meta']['iter'], raw['meta']['epoch']) == (7, 2)
    assert raw['meta']['config'] == "model = dict(type='EncoderDecoder')"
    assert raw['meta']['segnb_version'] == segnb.__version__ and 'time' in raw['meta']
    assert raw['optimizer']['state'][0]['momentum_buffer'].shape == (4, 3, 3, 3)
    other = small_net(3); torch.manual_seed(99); nn.init.normal_(other[0].weight)
    got = load_checkpoint(other, str(path), strict=True)
    assert got['meta']['iter'] == 7
    for (k, a), b in zip(net.state_dict().items(), other.state_dict().values()): assert torch.equal(a, b), k


def test_meta_must_be_dict(tmp_path):
    with pytest.raises(TypeError, match='meta must be a dict or None, got list'):
        save_checkpoint(small_net(), tmp_path / 'x.pth', meta=[1])


def test_saves_inner_module_of_dataparallel(tmp_path):
    net = small_net()
    save_checkpoint(nn.DataParallel(net), tmp_path / 'dp.pth')
    assert list(torch.load(tmp_path / 'dp.pth')['state_dict']) == list(net.state_dict())


def test_crash_during_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / 'latest.pth'
    save_checkpoint(small_net(), path, meta=dict(iter=1))
    before = path.read_bytes()
    real_save = torch.save
    def crash_midway(obj, f, *a, **k):
        real_save(obj, f, *a, **k)
        f.seek(0); f.truncate(100)                    # a half-written file ...
        raise KeyboardInterrupt                         # ... then the user hits Ctrl-C
    monkeypatch.setattr(torch, 'save', crash_midway)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(small_net(5), path, meta=dict(iter=2))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ['latest.pth']      # the temp file was removed
    monkeypatch.setattr(torch, 'save', real_save)
    assert torch.load(path)['meta']['iter'] == 1


def test_killed_process_never_leaves_truncated_checkpoint(tmp_path):
    """SIGKILL a process in the middle of writing: the target must still hold the old, complete checkpoint."""
    path = tmp_path / 'latest.pth'
    save_checkpoint(small_net(), path, meta=dict(iter=1))
    before = path.read_bytes()
    flag = tmp_path / 'writing'
    code = textwrap.dedent(f"""
        import time, torch, torch.nn as nn
        from segnb.checkpoint import save_checkpoint
        real = torch.save
        def slow_save(obj, f, *a, **k):
            f.write(b'x' * 1000); f.flush(); open({str(flag)!r}, 'w').close(); time.sleep(60)
        torch.save = slow_save
        save_checkpoint(nn.Linear(100, 100), {str(path)!r}, meta=dict(iter=2))
    """)
    proc = subprocess.Popen([sys.executable, '-c', code])
    try:
        for _ in range(600):
            if flag.exists() or proc.poll() is not None: break
            time.sleep(0.05)
        assert flag.exists(), 'the child never started writing'
        proc.send_signal(signal.SIGKILL); proc.wait()
    finally:
        if proc.poll() is None: proc.kill()
    assert path.read_bytes() == before
    assert torch.load(path)['meta']['iter'] == 1


def test_bare_state_dict_module_prefix_and_revise_keys(tmp_path):
    net = small_net()
    torch.save(OrderedDict(('module.' + k, v) for k, v in net.state_dict().items()), tmp_path / 'bare.pth')
    other = small_net(3); nn.init.zeros_(other[3].weight)
    load_checkpoint(other, tmp_path / 'bare.pth', strict=True)
    assert torch.equal(other[3].weight, net[3].weight)
    # revise_keys: rename '3.' -> 'head.' for a model that names its last layer differently
    m = nn.Module(); m.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)); m.head = nn.Conv2d(4, 3, 1)
    load_checkpoint(m, tmp_path / 'bare.pth', strict=True,
                    revise_keys=[(r'^module\.', ''), (r'^3\.', 'head.'), (r'^([01])\.', r'body.\1.')])
    assert torch.equal(m.head.weight, net[3].weight)


def test_prefix_selects_submodule(tmp_path):
    seg = nn.Module(); seg.backbone = small_net(); seg.decode_head = nn.Conv2d(3, 2, 1)
    save_checkpoint(seg, tmp_path / 'seg.pth')
    bb = small_net(3); nn.init.zeros_(bb[0].weight)
    load_checkpoint(bb, tmp_path / 'seg.pth', prefix='backbone', strict=True)
    assert torch.equal(bb[0].weight, seg.backbone[0].weight)
    with pytest.raises(KeyError, match=r"No key in .*seg.pth starts with 'neck.'; its keys start with backbone., decode_head."):
        load_checkpoint(bb, tmp_path / 'seg.pth', prefix='neck.')


def test_report_missing_unexpected_and_mismatched(tmp_path, capsys):
    src, dst = small_net(19), small_net(21)
    sd = src.state_dict(); sd['aux.weight'] = torch.ones(2); del sd['1.bias']; del sd['1.num_batches_tracked']
    torch.save({'state_dict': sd}, tmp_path / 'c.pth')
    load_checkpoint(dst, tmp_path / 'c.pth')
    out = capsys.readouterr().out
    assert 'unexpected key in source state_dict: aux.weight' in out
    assert 'missing keys in source state_dict: 1.bias\n' in out + '\n'     # num_batches_tracked not reported
    assert '3.weight (19, 4, 1, 1) in checkpoint vs (21, 4, 1, 1) in model' in out
    assert torch.equal(dst[0].weight, src[0].weight)                        # the rest was loaded
    rep = load_state_dict(dst, sd)
    assert [k for k, *_ in rep.mismatched_keys] == ['3.weight', '3.bias']
    with pytest.raises(RuntimeError, match='does not fit the model: size mismatch: 3.weight'):
        load_checkpoint(dst, tmp_path / 'c.pth', strict=True)


def test_logger_receives_report(tmp_path):
    import logging
    records = []
    class H(logging.Handler):
        def emit(self, r): records.append(r.getMessage())
    log = logging.getLogger('segnb-test-ckpt'); log.addHandler(H())
    torch.save({'x': torch.zeros(1)}, tmp_path / 'x.pth')
    load_checkpoint(small_net(), tmp_path / 'x.pth', logger=log)
    assert records and 'unexpected key in source state_dict: x' in records[0]


def test_weights_only_by_default(tmp_path):
    torch.save({'state_dict': small_net().state_dict(), 'meta': {'when': __import__('datetime').date(2020, 1, 1)}},
               tmp_path / 'old.pth')
    with pytest.raises(RuntimeError, match='If you trust the file, load it with weights_only=False'):
        load_checkpoint(small_net(), tmp_path / 'old.pth')
    got = load_checkpoint(small_net(), tmp_path / 'old.pth', weights_only=False, strict=True)
    assert got['meta']['when'].year == 2020


def test_not_a_dict(tmp_path):
    torch.save(torch.zeros(3), tmp_path / 't.pth')
    with pytest.raises(RuntimeError, match='No state_dict found in checkpoint file .*t.pth: it holds a Tensor'):
        load_checkpoint(small_net(), tmp_path / 't.pth')


@pytest.mark.parametrize('name,url', [
    ('torchvision://resnet50', 'https://download.pytorch.org/models/resnet50-0676ba61.pth'),
    ('torchvision://resnet101', 'https://download.pytorch.org/models/resnet101-63fe2227.pth'),
    ('torchvision://resnet18', 'https://download.pytorch.org/models/resnet18-f37072fd.pth'),
    ('open-mmlab://resnet50_v1c', 'https://download.openmmlab.com/pretrain/third_party/resnet50_v1c-2cccc1ad.pth'),
    ('open-mmlab://resnet101_v1c', 'https://download.openmmlab.com/pretrain/third_party/resnet101_v1c-e67eebb6.pth'),
    ('open-mmlab://resnet18_v1c', 'https://download.openmmlab.com/pretrain/third_party/resnet18_v1c-b5776b93.pth')])
def test_names_resolve_to_published_urls(name, url):
    assert checkpoint_url(name) == url


def test_url_table_matches_torchvision_weights_enums():
    import torchvision.models as tvm
    for depth in (18, 34, 50, 101, 152):
        enum = getattr(tvm, f'ResNet{depth}_Weights')
        assert checkpoint_url(f'torchvision://resnet{depth}') == enum.IMAGENET1K_V1.url
        for w in enum: assert checkpoint_url(f'torchvision://ResNet{depth}_Weights.{w.name}') == w.url


MMCV_JSON = os.environ.get('SEGNB_MMCV_OPEN_MMLAB_JSON')

@pytest.mark.skipif(not MMCV_JSON, reason='set SEGNB_MMCV_OPEN_MMLAB_JSON to mmcv/model_zoo/open_mmlab.json')
def test_open_mmlab_table_matches_mmcv():
    import json
    table = json.load(open(MMCV_JSON))
    for name, url in ck.OPEN_MMLAB_URLS.items(): assert table[name] == url


def test_named_checkpoint_loads_from_cache(torch_home):
    net = small_net()
    cache = torch_home / 'hub' / 'checkpoints'; cache.mkdir(parents=True)
    torch.save(net.state_dict(), cache / 'resnet50_v1c-2cccc1ad.pth')
    other = small_net(3); nn.init.zeros_(other[0].weight)
    load_checkpoint(other, 'open-mmlab://resnet50_v1c', strict=True)
    assert torch.equal(other[0].weight, net[0].weight)


def test_absent_and_offline_gives_clear_error(torch_home, monkeypatch):
    def no_network(*a, **k): raise AssertionError('must not download without download=True')
    monkeypatch.setattr(torch.hub, 'download_url_to_file', no_network)
    expected = str(torch_home / 'hub' / 'checkpoints' / 'resnet50-0676ba61.pth')
    with pytest.raises(FileNotFoundError) as e:
        load_checkpoint(small_net(), 'torchvision://resnet50')
    assert expected in str(e.value) and 'pass download=True' in str(e.value)
    assert 'https://download.pytorch.org/models/resnet50-0676ba61.pth' in str(e.value)


def test_download_on_request_uses_torch_hub_with_hash(torch_home, tmp_path, monkeypatch):
    served = tmp_path / 'served.pth'; torch.save(small_net().state_dict(), served)
    calls = []
    def fake_download(url, dst, hash_prefix=None, progress=True):
        calls.append((url, dst, hash_prefix)); shutil.copy(served, dst)
    monkeypatch.setattr(torch.hub, 'download_url_to_file', fake_download)
    load_checkpoint(small_net(), 'torchvision://resnet18', download=True, strict=True)
    dst = str(torch_home / 'hub' / 'checkpoints' / 'resnet18-f37072fd.pth')
    assert calls == [('https://download.pytorch.org/models/resnet18-f37072fd.pth', dst, 'f37072fd')]
    load_checkpoint(small_net(), 'torchvision://resnet18', download=True)   # now cached: no second download
    assert len(calls) == 1


def test_download_failure_offline(torch_home, monkeypatch):
    import urllib.error
    def offline(*a, **k): raise urllib.error.URLError('[Errno -3] Temporary failure in name resolution')
    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    with pytest.raises(OSError, match='If this machine is offline, copy the file there'):
        find_checkpoint('open-mmlab://resnet18_v1c', download=True)


def test_unknown_name_and_missing_file(tmp_path):
    with pytest.raises(KeyError, match=r"Unknown checkpoint name 'torchvision://vgg16'"):
        find_checkpoint('torchvision://vgg16')
    with pytest.raises(FileNotFoundError, match=r"Checkpoint file '.*nope.pth' does not exist"):
        load_checkpoint(small_net(), tmp_path / 'nope.pth')


def test_numpy_meta_from_numpy1_mmcv_checkpoints_loads_safely(tmp_path):
    """mmcv-era checkpoints pickle numpy scalars/arrays as numpy.core.multiarray.*; the safe loader accepts them."""
    import io
    buf = io.BytesIO()
    sd = small_net().state_dict()
    torch.save({'meta': {'hook_msgs': {'best_score': np.float64(0.5)}, 'PALETTE': np.array([[1, 2, 3]])}, 'state_dict': sd},
               buf, _use_new_zipfile_serialization=False)
    raw = buf.getvalue().replace(b'numpy._core.multiarray', b'numpy.core.multiarray')   # what numpy 1.x wrote
    assert b'numpy.core.multiarray' in raw
    (tmp_path / 'np1.pth').write_bytes(raw)
    got = load_checkpoint(small_net(), tmp_path / 'np1.pth', strict=True)
    assert got['meta']['hook_msgs']['best_score'] == 0.5 and got['meta']['PALETTE'].tolist() == [[1, 2, 3]]


def test_truncated_file_is_named(tmp_path):
    save_checkpoint(small_net(), tmp_path / 'ok.pth')
    (tmp_path / 'cut.pth').write_bytes((tmp_path / 'ok.pth').read_bytes()[:300])
    with pytest.raises(RuntimeError, match=r'Could not read checkpoint .*cut.pth .*the file may be truncated'):
        load_checkpoint(small_net(), tmp_path / 'cut.pth')


def test_saved_file_has_the_usual_permissions(tmp_path):
    """The atomic save must not leave a private (0600) file where a plain torch.save would give 0644 under umask 022."""
    old = os.umask(0o022)
    try:
        save_checkpoint(small_net(), tmp_path / 'ckpt.pth')
        torch.save({}, tmp_path / 'plain.pth')
    finally: os.umask(old)
    assert (tmp_path / 'ckpt.pth').stat().st_mode & 0o777 == (tmp_path / 'plain.pth').stat().st_mode & 0o777 == 0o644


MM_SAVE = '''
import numpy as np
from mmcv.runner import save_checkpoint
from mmseg.models import build_backbone
m = build_backbone(dict(type='ResNetV1c', depth=18, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)))
m.CLASSES, m.PALETTE = ('road', 'car'), [[128, 64, 128], [0, 0, 142]]
seg = torch.nn.Module(); seg.backbone = m
opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
meta = dict(mmseg_version='0.30.0', config="norm_cfg = dict(type='SyncBN')", CLASSES=m.CLASSES, PALETTE=m.PALETTE,
            epoch=1, iter=40000, hook_msgs=dict(best_score=np.float64(0.7712), last_ckpt='iter_40000.pth'), seed=np.int64(7))
save_checkpoint(seg, inp['path'], optimizer=opt, meta=meta)
out['sd'] = m.state_dict()
'''

from mmseg_venv import needs_mmseg, run_mmseg

@needs_mmseg
def test_mmcv_written_checkpoint_loads_safely_and_strictly(tmp_path):
    """A checkpoint saved by mmcv 1.7's save_checkpoint (numpy in meta, as mmseg's eval hook leaves it) loads with
    weights_only=True, and prefix='backbone.' gives segnb's ResNetV1c every tensor, strictly."""
    from segnb.models.backbones.resnet import ResNetV1c
    path = str(tmp_path / 'mm.pth')
    ref = run_mmseg(MM_SAVE, path=path)['sd']
    ours = ResNetV1c(depth=18, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4))
    got = load_checkpoint(ours, path, prefix='backbone.', strict=True)
    assert got['meta']['CLASSES'] == ('road', 'car') and got['meta']['iter'] == 40000
    assert float(got['meta']['hook_msgs']['best_score']) == 0.7712 and 'optimizer' in got
    for k, v in ref.items(): assert torch.equal(ours.state_dict()[k], v), k
