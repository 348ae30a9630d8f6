"""`segnb` end to end in subprocesses, on the tiny config (tests/configs/tiny_pspnet.py): work-dir layout, test,
print-config, publish, Ctrl-C, and the errors a user meets first."""
import os, signal, subprocess, sys, time
import pytest, torch
from tiny_data import make_tiny_dataset, train_cmd, segnb_env, losses, TINY_CONFIG, data_options
from mmseg_venv import needs_mmseg, run_mmseg

@pytest.fixture(scope='module')
def data(tmp_path_factory): return make_tiny_dataset(tmp_path_factory.mktemp('tiny'))

@pytest.fixture(scope='module')
def trained(data, tmp_path_factory):
    work = tmp_path_factory.mktemp('work') / 'run'
    r = subprocess.run(train_cmd(work, data), env=segnb_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return work, r

def test_work_dir_layout_like_mmseg(trained):
    work, r = trained
    files = sorted(os.listdir(work))
    stamp = [f[:-4] for f in files if f.endswith('.log') and not f.endswith('.json')][0]
    assert files == sorted([f'{stamp}.log', f'{stamp}.log.json', 'best_mIoU_iter_8.pth', 'iter_4.pth', 'iter_8.pth',
                            'latest.pth', 'tiny_pspnet.py'])
    assert os.path.realpath(work / 'latest.pth') == os.path.realpath(work / 'iter_8.pth')
    log = (work / f'{stamp}.log').read_text()
    assert 'Iter [8/8]' in log and 'eta:' in log and 'per class results:' in log and '| square' in log
    ckpt = torch.load(work / 'iter_8.pth', weights_only=True)
    assert ckpt['meta']['CLASSES'] == ('background', 'square', 'disk') and ckpt['meta']['iter'] == 8
    assert sorted(losses(work)) == list(range(1, 9))

def test_test_command_and_publish(trained, data, tmp_path):
    work, _ = trained
    r = subprocess.run([sys.executable, '-m', 'segnb', 'test', TINY_CONFIG, str(work / 'latest.pth'), '--eval', 'mIoU',
                        '--work-dir', str(tmp_path), '--show-dir', str(tmp_path / 'show'), '--out', str(tmp_path / 'r.pkl'),
                        '--cfg-options', *data_options(data)],
                       env=segnb_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'per class results:' in r.stdout + r.stderr and len(os.listdir(tmp_path / 'show')) == 4
    assert any(f.startswith('eval_single_scale_') for f in os.listdir(tmp_path))
    import pickle
    maps = pickle.load(open(tmp_path / 'r.pkl', 'rb'))
    assert len(maps) == 4 and maps[0].shape == (32, 32)          # label maps, evaluated after saving
    from segnb.cli import main
    assert main(['publish', str(work / 'iter_8.pth'), str(tmp_path / 'tiny.pth')]) == 0
    pub = [f for f in os.listdir(tmp_path) if f.startswith('tiny-') and f.endswith('.pth')]
    assert len(pub) == 1 and 'optimizer' not in torch.load(tmp_path / pub[0], weights_only=True)

def test_print_config_and_flops(capsys):
    from segnb.cli import main
    assert main(['print-config', TINY_CONFIG, '--cfg-options', 'runner.max_iters=3']) == 0
    assert "max_iters=3" in capsys.readouterr().out
    assert main(['flops', TINY_CONFIG, '--shape', '32']) == 0
    assert 'FLOPs:' in capsys.readouterr().out

def test_ctrl_c_saves_and_exits(data, tmp_path):
    work = tmp_path / 'run'
    p = subprocess.Popen(train_cmd(work, data, options=['runner.max_iters=200', 'checkpoint_config.interval=1000']),
                         env=segnb_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = ''
    for line in p.stdout:
        seen += line
        if 'Iter [3/200]' in line: p.send_signal(signal.SIGINT); break
    out, _ = p.communicate(timeout=120)
    seen += out
    assert p.returncode == 130, seen[-2000:]
    saved = [f for f in os.listdir(work) if f.startswith('iter_')]
    assert len(saved) == 1 and 'Interrupted at iter' in seen and 'resume_from=' in seen
    assert torch.load(work / 'latest.pth', weights_only=True)['meta']['iter'] == int(saved[0][5:-4])

def test_unwritable_work_dir(data, tmp_path):
    (tmp_path / 'file').write_text('')
    r = subprocess.run(train_cmd(tmp_path / 'file' / 'run', data), env=segnb_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and 'is not writable' in r.stderr and 'Traceback' not in r.stderr

def test_unknown_config_name():
    r = subprocess.run([sys.executable, '-m', 'segnb', 'train', 'pspnet_r50-d8_512x512_20k_voc12aguu'],
                       env=segnb_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and 'no config' in r.stderr and 'pspnet_r50-d8_512x512_20k_voc12aug' in r.stderr

def test_checkpoint_of_another_model_lists_mismatches(data, tmp_path):
    from segnb.config import Config
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    from segnb.checkpoint import save_checkpoint
    cfg = Config.fromfile(TINY_CONFIG); cfg.model.decode_head.num_classes = 5
    save_checkpoint(build_segmentor(cfg.model), str(tmp_path / 'other.pth'))
    r = subprocess.run(train_cmd(tmp_path / 'run', data, '--load-from', str(tmp_path / 'other.pth'), '--no-validate',
                                 options=['runner.max_iters=1']), env=segnb_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'size mismatch' in r.stderr and 'decode_head.conv_seg.weight (5, 16, 1, 1) in checkpoint vs (3, 16, 1, 1) in model' in r.stderr

def test_benchmark_command(trained, data, capsys):
    from segnb.cli import main
    work, _ = trained
    assert main(['benchmark', TINY_CONFIG, str(work / 'latest.pth'), '--num-images', '3', '--log-interval', '1',
                 '--device', 'cpu', '--cfg-options', *data_options(data)]) == 0
    out = capsys.readouterr().out
    assert 'Done image [3  / 3]' in out and 'Overall average fps:' in out

def test_browse_dataset_reports_bad_masks(tmp_path, capsys):
    import numpy as np
    from PIL import Image
    from segnb.cli import main
    root = make_tiny_dataset(tmp_path / 'd', n_train=3, n_val=1)
    assert main(['browse-dataset', TINY_CONFIG, '--show-dir', str(tmp_path / 'show'), '--cfg-options', *data_options(root)]) == 0
    assert len(os.listdir(tmp_path / 'show')) == 3
    bad = tmp_path / 'd' / 'ann_dir' / 'train' / '001.png'
    m = np.array(Image.open(bad)); m[0, 0] = 7; Image.fromarray(m).save(bad)
    assert main(['browse-dataset', TINY_CONFIG, '--cfg-options', *data_options(root)]) == 1
    assert '001.png' in capsys.readouterr().out


def _tiny_cfg(data, work_dir, **options):
    from segnb.config import Config
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.merge_from_dict({**{f'data.{s}.data_root': str(data) for s in ('train', 'val', 'test')}, **options})
    cfg.work_dir, cfg.seed = str(work_dir), 0
    return cfg

def _tiny_model(cfg):
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    torch.manual_seed(0)
    return build_segmentor(cfg.model)

def test_train_segmentor_in_the_background(data, tmp_path):
    "background=True returns a BackgroundTraining handle; training advances; stop() gives a checkpoint that loads."
    from segnb.apis import train_segmentor
    from segnb.data.loader import build_dataset
    from segnb.checkpoint import load_checkpoint
    from segnb.dashboard import BackgroundTraining
    cfg = _tiny_cfg(data, tmp_path, **{'runner.max_iters': 10_000, 'checkpoint_config.interval': 10_000, 'log_config.interval': 50})
    bg = train_segmentor(_tiny_model(cfg), build_dataset(cfg.data.train), cfg, background=True)
    try:
        assert isinstance(bg, BackgroundTraining) and bg.thread.is_alive()
        deadline = time.time() + 120
        while bg.runner.iter < 3 and time.time() < deadline: time.sleep(0.05)
        assert bg.runner.iter >= 3
        ckpt = bg.stop(timeout=120)
    finally:
        bg.control.stop_requested = True; bg.control.go.set(); bg.thread.join(120)
    assert bg.state == 'stopped' and 3 <= bg.runner.iter < 10_000
    assert os.path.isfile(ckpt) and os.path.dirname(ckpt) == str(tmp_path)
    fresh = _tiny_model(cfg)
    load_checkpoint(fresh, str(ckpt), strict=True)
    trained = getattr(bg.runner.model, 'module', bg.runner.model).state_dict()   # wrap_model's wrapper
    for k, v in fresh.state_dict().items(): assert torch.equal(v, trained[k]), k
    assert torch.load(ckpt, weights_only=True)['meta']['iter'] == bg.runner.iter


def test_dashboard_in_custom_hooks_without_importing_it(data, tmp_path):
    "A config naming LiveDashboardHook trains in a fresh process that never imported segnb.dashboard itself."
    code = f'''
import sys
from test_train_cli import _tiny_cfg, _tiny_model
from segnb.apis import train_segmentor
from segnb.data.loader import build_dataset
assert 'segnb.dashboard' not in sys.modules
cfg = _tiny_cfg({str(data)!r}, {str(tmp_path)!r}, **{{'runner.max_iters': 2}})
cfg.custom_hooks = [dict(type='LiveDashboardHook', interval=1, num_images=2)]
runner = train_segmentor(_tiny_model(cfg), build_dataset(cfg.data.train), cfg)
dash = [h for h in runner.hooks if type(h).__name__ == 'LiveDashboardHook']
print(len(dash), [r['iter'] for r in dash[0].log['train']])
'''
    r = subprocess.run([sys.executable, '-c', code], env=segnb_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().splitlines()[-1] == '1 [1, 2]'

# --- `segnb test` options, against independent references ------------------------------------------------------

def _segnb_test(*args, launcher=(), timeout=300):
    cmd = [*launcher, *([sys.executable, '-m'] if not launcher else ['-m']), 'segnb', 'test', *args]
    r = subprocess.run(cmd, env=segnb_env(), capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return r

def _maps(path):
    import pickle
    with open(path, 'rb') as f: return pickle.load(f)

MM_AUG_TEST = '''
from mmcv import Config
from mmcv.parallel import MMDataParallel
from mmcv.runner import load_checkpoint
from mmseg.apis import single_gpu_test
from mmseg.datasets import build_dataset, build_dataloader
from mmseg.models import build_segmentor
cfg = Config.fromfile(inp['config'])
cfg.data.test.data_root = inp['root']; cfg.data.test.test_mode = True
cfg.data.test.pipeline[1].img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]; cfg.data.test.pipeline[1].flip = True   # mmseg tools/test.py --aug-test
ds = build_dataset(cfg.data.test)
loader = build_dataloader(ds, samples_per_gpu=1, workers_per_gpu=0, dist=False, shuffle=False, persistent_workers=False)
model = build_segmentor(cfg.model, test_cfg=cfg.get('test_cfg'))
load_checkpoint(model, inp['ckpt'], map_location='cpu')
out['maps'] = single_gpu_test(MMDataParallel(model.eval(), device_ids=None), loader)
'''

def _random_checkpoint(path):
    "Random weights and BN statistics: predictions vary from pixel to pixel and from scale to scale (8 trained iterations do not)."
    from segnb.config import Config
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    from segnb.checkpoint import save_checkpoint
    torch.manual_seed(0)
    model = build_segmentor(Config.fromfile(TINY_CONFIG).model); model.init_weights()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d): m.running_mean.uniform_(-.5, .5); m.running_var.uniform_(.5, 2)
    save_checkpoint(model, str(path))
    return str(path)

@needs_mmseg
def test_aug_test_matches_mmseg(data, tmp_path):
    "`segnb test --aug-test` (6 scales and flips) predicts what mmseg 0.30's test.py --aug-test predicts with the same weights."
    ckpt = _random_checkpoint(tmp_path / 'random.pth')
    _segnb_test(TINY_CONFIG, ckpt, '--aug-test', '--out', str(tmp_path / 'aug.pkl'), '--cfg-options', *data_options(data))
    _segnb_test(TINY_CONFIG, ckpt, '--out', str(tmp_path / 'one.pkl'), '--cfg-options', *data_options(data))
    ours, single = _maps(tmp_path / 'aug.pkl'), _maps(tmp_path / 'one.pkl')
    ref = run_mmseg(MM_AUG_TEST, config=TINY_CONFIG, root=data, ckpt=ckpt)['maps']
    agree = lambda xs, ys: sum((a == b).sum() for a, b in zip(xs, ys)) / sum(a.size for a in ys)
    assert len(ours) == len(ref) == 4
    assert agree(ours, ref) > 0.99, agree(ours, ref)            # JPEG decoders (PIL vs OpenCV) may move a few pixels
    assert agree(single, ref) < agree(ours, ref) - 0.02, (agree(single, ref), agree(ours, ref))   # the flag mattered

def test_format_only_writes_the_dataset_format(trained, data, tmp_path):
    "ADE20K's submission format is the label map + 1 as PNG, named after the image: read back and compared by hand."
    import numpy as np
    from PIL import Image
    work, _ = trained
    ade = ['data.test.type=ADE20KDataset', 'data.test.classes=None', 'data.test.palette=None']
    _segnb_test(TINY_CONFIG, str(work / 'latest.pth'), '--out', str(tmp_path / 'maps.pkl'), '--cfg-options', *data_options(data), *ade)
    r = _segnb_test(TINY_CONFIG, str(work / 'latest.pth'), '--format-only', '--eval-options', f'imgfile_prefix={tmp_path / "sub"}',
                    '--cfg-options', *data_options(data), *ade)
    assert 'per class results' not in r.stderr + r.stdout                         # formats, does not evaluate
    maps, names = _maps(tmp_path / 'maps.pkl'), sorted(os.listdir(os.path.join(data, 'img_dir', 'val')))
    assert sorted(os.listdir(tmp_path / 'sub')) == [n.replace('.jpg', '.png') for n in names]
    for m, n in zip(maps, names):
        np.testing.assert_array_equal(np.array(Image.open(tmp_path / 'sub' / n.replace('.jpg', '.png'))), m + 1)

def test_test_with_launcher_pytorch_equals_one_process(trained, data, tmp_path):
    "`torchrun --nproc_per_node=2 -m segnb test ... --launcher pytorch` (gloo): rank 0 gathers every map, in order."
    from free_port import free_port
    work, _ = trained
    args = [TINY_CONFIG, str(work / 'latest.pth'), '--eval', 'mIoU', '--cfg-options', *data_options(data), 'dist_params.backend=gloo']
    two = _segnb_test(*args, '--out', str(tmp_path / 'two.pkl'), '--launcher', 'pytorch',
                      launcher=['torchrun', '--nproc_per_node=2', f'--master_port={free_port()}'])
    _segnb_test(*args, '--out', str(tmp_path / 'one.pkl'))
    one, both = _maps(tmp_path / 'one.pkl'), _maps(tmp_path / 'two.pkl')
    assert len(both) == len(one) == 4 and all((a == b).all() for a, b in zip(one, both))
    assert two.stderr.count('per class results') + two.stdout.count('per class results') == 1   # rank 0 only

# --- the tools through the `segnb` console script -------------------------------------------------------------

def _console_script():
    "The `segnb` command pip installed next to this python (setup.py's console_scripts -> segnb.cli:main)."
    exe = os.path.join(os.path.dirname(sys.executable), 'segnb')
    assert os.path.exists(exe), f'{exe} is missing: pip install -e . installs it'
    return exe

def test_make_shapes_through_the_segnb_command_reproduces_the_shipped_copy(tmp_path):
    import filecmp
    shipped = os.path.join(os.path.dirname(TINY_CONFIG), '..', '..', 'data', 'shapes')
    r = subprocess.run([_console_script(), 'make-shapes', str(tmp_path / 'shapes')], env=segnb_env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and 'wrote 1000 train + 200 val Shapes images of 64x64' in r.stdout, r.stderr[-2000:]
    for sub in ('img_dir/train', 'img_dir/val', 'ann_dir/train', 'ann_dir/val'):
        names = sorted(os.listdir(os.path.join(shipped, sub)))
        assert sorted(os.listdir(tmp_path / 'shapes' / sub)) == names
        match, mismatch, errors = filecmp.cmpfiles(os.path.join(shipped, sub), tmp_path / 'shapes' / sub, names, shallow=False)
        assert not mismatch and not errors, (sub, mismatch[:5], errors[:5])

def test_voc_aug_through_the_segnb_command(tmp_path):
    import numpy as np
    from PIL import Image
    from data_trees import make_voc
    from test_sbd import make_sbd, fixture_mask
    voc = make_voc(tmp_path, train=('2007_000032',), val=('2007_000033',), aug=(), size=(37, 50))
    for n in ('2008_000002', '2008_000008'): Image.fromarray(np.full((37, 50, 3), 99, np.uint8)).save(f'{voc}/JPEGImages/{n}.jpg')
    sbd = make_sbd(tmp_path, ['2008_000002'], ['2007_000033', '2008_000008'], {})
    r = subprocess.run([_console_script(), 'voc-aug', str(tmp_path / 'VOCdevkit'), sbd, '--no-check'], env=segnb_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'wrote 3 masks' in r.stdout and 'trainaug.txt lists 3 images, aug.txt 2' in r.stdout, r.stdout
    sets = f'{voc}/ImageSets/Segmentation'
    assert open(f'{sets}/trainaug.txt').read().split() == ['2007_000032', '2008_000002', '2008_000008']
    np.testing.assert_array_equal(np.array(Image.open(f'{voc}/SegmentationClassAug/2008_000002.png')), fixture_mask())
    bad = subprocess.run([_console_script(), 'voc-aug', str(tmp_path / 'VOCdevkit'), str(tmp_path)], env=segnb_env(),
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "aug_path must be SBD's benchmark_RELEASE" in bad.stderr, bad.stderr[-2000:]
