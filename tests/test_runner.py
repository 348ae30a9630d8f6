"""Runners: exact resume (loss sequences equal), Ctrl-C saves, workflows, errors, the optimizer builder (hand-computed
and against mmcv 1.7.2 when SEGNB_MMSEG_VENV is set), EpochBasedRunner, build_runner."""
import inspect, logging, os, os.path as osp, signal
import pytest, torch, torch.nn as nn
from segnb.runner.hooks import Hook
from segnb.runner.eval_hooks import EvalHook
from segnb.runner.runner import IterBasedRunner, EpochBasedRunner, build_runner
from segnb.runner.optimizer import build_optimizer
from runner_stand_ins import OneConvSeg, tiny_loader, make_runner, record_losses, quiet_logger
from mmseg_venv import needs_mmseg, run_mmseg
from log_records import log_records


class StopAt(Hook):
    "Interrupt the run when `runner.iter` reaches `at`: by request (Ctrl-C's path), a real SIGINT, or a raw KeyboardInterrupt."
    def __init__(self, at, how): self.at, self.how = at, how
    def before_train_iter(self, runner):
        if runner.iter != self.at: return
        if self.how == 'raise': raise KeyboardInterrupt
    def after_train_iter(self, runner):
        if runner.iter + 1 != self.at: return
        if self.how == 'request': runner.request_stop()
        if self.how == 'sigint': os.kill(os.getpid(), signal.SIGINT)


class NoisyEval(EvalHook):
    "An evaluation every 2 iterations that draws random numbers (which must not disturb training)."
    def __init__(self):
        class Scored(torch.utils.data.Dataset):
            def __len__(self): return 2
            def __getitem__(self, i): return i
            def evaluate(self, results, **kw): return dict(mIoU=float(torch.rand(())))
        super().__init__(torch.utils.data.DataLoader(Scored()), interval=2, save_best='mIoU',
                         test_fn=lambda model, loader, **kw: [torch.rand(50)] and [0, 0])


def _run(work_dir, max_iters, stop=None, resume=None, seed=0, n=8, eval_hook=False):
    r = make_runner(str(work_dir), max_iters=max_iters, seed=seed, model=lambda: OneConvSeg(dropout=0.3))
    seen = record_losses(r)
    if stop: r.register_hook(StopAt(*stop))
    if eval_hook: r.register_hook(NoisyEval(), 'LOW')
    restored = r.resume(str(resume)) if resume else None
    r.run([tiny_loader(n=n, augment=True)], [('train', 1)])
    return r, seen, restored


@pytest.mark.parametrize('stop_at, how, n', [(3, 'request', 8), (4, 'sigint', 8), (7, 'request', 6)])
def test_resume_gives_the_same_losses(tmp_path, stop_at, how, n):
    "Shuffled data with random flips, dropout, poly LR, momentum: cut mid-epoch or at an epoch end, the losses match."
    _, ref, _ = _run(tmp_path / 'full', 10, n=n, eval_hook=True)
    cut, first, _ = _run(tmp_path / 'cut', 10, stop=(stop_at, how), n=n, eval_hook=True)
    assert (cut.interrupted, cut.iter, len(first)) == (True, stop_at, stop_at)
    assert osp.realpath(tmp_path / 'cut' / 'latest.pth').endswith(f'iter_{stop_at}.pth')
    torch.manual_seed(12345)
    _, rest, restored = _run(tmp_path / 'cut', 10, resume=tmp_path / 'cut' / 'latest.pth', seed=7, n=n, eval_hook=True)
    assert first + rest == ref
    assert restored[0].startswith(f'iter {stop_at}, epoch ')


def test_resume_restores_and_reports(tmp_path, caplog):
    r, _, _ = _run(tmp_path, 4)
    lr_after, state = r.current_lr(), r.optimizer.state_dict()
    new = make_runner(str(tmp_path), max_iters=8, seed=3)
    new.logger.propagate = True
    with caplog.at_level(logging.INFO, logger='segnb.tests'):
        restored = new.resume(str(tmp_path / 'latest.pth'))
    new.logger.propagate = False
    assert new.iter == 4 and new.current_lr() == lr_after
    torch.testing.assert_close(new.optimizer.state_dict()['state'], state['state'])
    assert restored[0] == 'iter 4, epoch 0'
    msg = [m for m in caplog.messages if m.startswith('resumed from')][0]
    for part in ('iter 4', 'optimizer (SGD', 'LR schedule continues', 'RNG state (torch, numpy, python)',
                 'data loader position (epoch 0, batch 4)', 'hook_msgs'):
        assert part in msg, (part, msg)


def test_raw_keyboard_interrupt_mid_iteration_saves_the_last_completed_position(tmp_path):
    "A KeyboardInterrupt raised inside iteration 6 (after its batch was fetched) saves iter_5 with the loader at batch 5."
    cut, first, _ = _run(tmp_path, 10, stop=(5, 'raise'))
    assert (cut.interrupted, cut.iter, len(first)) == (True, 5, 5)
    meta = torch.load(tmp_path / 'latest.pth', weights_only=True)['meta']
    assert (meta['iter'], meta['loader_state']['epoch'], meta['loader_state']['consumed']) == (5, 1, 1)   # 4 batches an epoch
    _, rest, _ = _run(tmp_path, 10, resume=tmp_path / 'latest.pth')
    assert len(rest) == 5


def test_resume_from_another_model_lists_the_mismatches(tmp_path):
    class Wider(OneConvSeg):
        def __init__(self): super().__init__(); self.conv = nn.Conv2d(3, 5, 1)
    _run(tmp_path, 2)
    r = make_runner(str(tmp_path / 'other'), model=Wider())
    with pytest.raises(RuntimeError, match=r'(?s)cannot resume from .*latest.pth: it was saved from a different model\. .*'
                                           r'size mismatch.*conv.weight \(2, 3, 1, 1\) in checkpoint vs \(5, 3, 1, 1\) in model'):
        r.resume(str(tmp_path / 'latest.pth'))


def test_resume_from_a_weights_only_file_says_so(tmp_path):
    torch.save(OneConvSeg().state_dict(), tmp_path / 'weights.pth')
    r = make_runner(str(tmp_path), max_iters=2)
    with pytest.raises(KeyError, match='has no meta.iter/meta.epoch: it is not a training checkpoint; use load_from'):
        r.resume(str(tmp_path / 'weights.pth'))
    r.load_checkpoint(str(tmp_path / 'weights.pth'))        # weights only works


def test_ctrl_c_outside_training_is_not_swallowed(tmp_path):
    # conftest gives every test Python's default handler, whether or not pytest started with SIGINT ignored (nohup, &)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    r = make_runner(str(tmp_path), max_iters=2)
    r.run([tiny_loader()], [('train', 1)])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # the runner's handler is gone after run()
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)


def test_run_restores_an_ignored_sigint(tmp_path):
    "A process started with SIGINT ignored (a background job in a script) still ignores it after a run."
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    r = make_runner(str(tmp_path), max_iters=2)
    r.run([tiny_loader()], [('train', 1)])
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN


def test_interrupt_without_work_dir_warns():
    model = OneConvSeg()
    r = IterBasedRunner(model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), logger=quiet_logger(), max_iters=5)
    r.register_training_hooks(None, optimizer_config=dict())
    r.register_hook(StopAt(2, 'request'))
    with log_records(r.logger, logging.WARNING) as seen: r.run([tiny_loader()], [('train', 1)])
    assert r.interrupted and r.iter == 2
    assert seen == [('WARNING', 'Interrupted at iter 2: no work_dir, so no checkpoint was saved')]


def test_workflow_dispatch_counts(tmp_path):
    calls = []
    class Count(Hook):
        def before_train_iter(self, runner): calls.append('train')
        def before_val_iter(self, runner): calls.append('val')
    r = make_runner(str(tmp_path), max_iters=5)
    r.register_hook(Count())
    r.run([tiny_loader(), tiny_loader(shuffle=False)], [('train', 2), ('val', 1)])
    assert calls == ['train', 'train', 'val', 'train', 'train', 'val', 'train', 'val']


@pytest.mark.parametrize('kw, loaders, workflow, err, match', [
    (dict(max_iters=None), 1, [('train', 1)], ValueError, 'IterBasedRunner needs max_iters: set runner = dict'),
    ({}, 1, [('test', 1)], ValueError, "workflow phase 'test' is unknown: IterBasedRunner runs the phases train, val"),
    ({}, 1, [('save_checkpoint', 1)], ValueError, "workflow phase 'save_checkpoint' is unknown"),
    ({}, 2, [('train', 1)], ValueError, '2 data loaders for 1 workflow phases'),
    ({}, 1, ['train'], TypeError, 'workflow must be a list of \\(phase, count\\) tuples')])
def test_run_errors(tmp_path, kw, loaders, workflow, err, match):
    r = make_runner(str(tmp_path), **kw)
    with pytest.raises(err, match=match):
        r.run([tiny_loader()] * loaders, workflow)


def test_constructor_errors(tmp_path):
    (tmp_path / 'afile').write_text('x')
    with pytest.raises(OSError, match=f'work_dir {tmp_path}/afile/run is not writable .*pass a directory you can write to'):
        IterBasedRunner(OneConvSeg(), work_dir=str(tmp_path / 'afile' / 'run'), logger=quiet_logger())
    with pytest.raises(TypeError, match='Linear has no train_step'):
        IterBasedRunner(nn.Linear(1, 1), logger=quiet_logger())
    with pytest.raises(TypeError, match='optimizer must be a torch.optim.Optimizer'):
        IterBasedRunner(OneConvSeg(), optimizer='SGD', logger=quiet_logger())
    with pytest.raises(ValueError, match='Only one of `max_epochs` or `max_iters`'):
        IterBasedRunner(OneConvSeg(), max_iters=1, max_epochs=1, logger=quiet_logger())


def test_train_step_must_return_a_dict(tmp_path):
    class Bad(OneConvSeg):
        def train_step(self, data_batch, optimizer, **kw): return 1.0
    r = make_runner(str(tmp_path), model=Bad())
    with pytest.raises(TypeError, match=r'model.train_step\(\) must return a dict, got float'):
        r.run([tiny_loader()], [('train', 1)])


def test_epoch_runner_resume_and_files(tmp_path):
    def run(d, max_epochs, resume=None, stop=None):
        r = make_runner(str(d), max_iters=max_epochs, runner_cls=EpochBasedRunner, checkpoint_interval=1, model=lambda: OneConvSeg(dropout=0.3))
        seen = record_losses(r)
        if resume: r.resume(str(resume))
        r.run([tiny_loader(augment=True)], [('train', 1)])
        return r, seen
    full, ref = run(tmp_path / 'a', 3)
    assert (full.epoch, full.iter) == (3, 12)
    assert sorted(f for f in os.listdir(tmp_path / 'a') if f.endswith('.pth')) == ['epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth', 'latest.pth']
    _, first = run(tmp_path / 'b', 1)
    torch.manual_seed(99)
    r, rest = run(tmp_path / 'b', 3, resume=tmp_path / 'b' / 'epoch_1.pth')
    assert first + rest == ref


def test_build_runner():
    model = OneConvSeg()
    r = build_runner(dict(type='EpochBasedRunner', max_epochs=2), default_args=dict(model=model, logger=quiet_logger()))
    assert isinstance(r, EpochBasedRunner) and r.max_epochs == 2
    with pytest.raises(KeyError, match="'IterRunner' is not in the runner registry"):
        build_runner(dict(type='IterRunner'))

# --- optimizer builder -----------------------------------------------------------------------------------------

class Net(nn.Module):
    "conv+bn backbone, a depthwise conv, a decode head with GN, an auxiliary head; a frozen parameter."
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 3, groups=4))
        self.decode_head = nn.Sequential(nn.Conv2d(4, 4, 1), nn.GroupNorm(2, 4), nn.Conv2d(4, 2, 1))
        self.auxiliary_head = nn.Conv2d(4, 2, 1)
        self.backbone[0].weight.requires_grad_(False)


OPT_CFGS = [
    dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4,
         paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.), 'decode_head.2': dict(lr_mult=2., decay_mult=0.)})),
    dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01,
         paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0., bias_lr_mult=2., dwconv_decay_mult=0.5)),
    dict(type='Adam', lr=1e-3, paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))]


def _groups(opt):
    return [(len(g['params']), g['lr'], g.get('weight_decay'), tuple(g['params'][0].shape)) for g in opt.param_groups]


def test_param_groups_by_hand():
    opt = build_optimizer(Net(), OPT_CFGS[1])
    # order: backbone.0.w (frozen), bn.w, bn.b, dwconv.w, dwconv.b, decode.0.w, .b, gn.w, gn.b, decode.2.w, .b, aux.w, .b
    expect_lr = [0.01, 0.01, 0.01, 0.01, 0.01, 0.1, 0.1, 0.1, 0.1, 0.02, 0.02, 0.1, 0.1]
    expect_wd = [5e-4] * 9 + [0., 0., 5e-4, 5e-4]     # 'decode_head.2' is longer than 'head', so it wins there
    assert [g['lr'] for g in opt.param_groups] == pytest.approx(expect_lr)
    assert [g['weight_decay'] for g in opt.param_groups] == pytest.approx(expect_wd)
    opt = build_optimizer(Net(), OPT_CFGS[2])
    wd = [g['weight_decay'] for g in opt.param_groups]
    lr = [g['lr'] for g in opt.param_groups]
    # bn/gn: 0 decay; conv biases: 0 decay and 2x lr; the depthwise conv's weight *and bias*: 0.5x decay (mmcv checks
    # depthwise before bias)
    assert wd == pytest.approx([0.01, 0., 0., 0.005, 0.005, 0.01, 0., 0., 0., 0.01, 0., 0.01, 0.])
    assert lr == pytest.approx([6e-5, 6e-5, 6e-5, 6e-5, 1.2e-4, 6e-5, 1.2e-4, 6e-5, 6e-5, 6e-5, 1.2e-4, 6e-5, 1.2e-4])


def test_optimizer_errors():
    with pytest.raises(ValueError, match='paramwise_cfg sets a decay_mult but the optimizer has no weight_decay'):
        build_optimizer(Net(), dict(type='SGD', lr=0.1, paramwise_cfg=dict(custom_keys={'head': dict(decay_mult=0.)})))
    with pytest.raises(KeyError, match="'Adamw' is not in the optimizer registry.*AdamW"):
        build_optimizer(Net(), dict(type='Adamw', lr=0.1))


@needs_mmseg
def test_param_groups_match_mmcv():
    torch.manual_seed(0)
    net = Net()
    ref = run_mmseg('''
import torch.nn as nn
from mmcv.runner import build_optimizer
import mmcv.runner.optimizer.default_constructor as dc
dc.check_ops_exist = lambda: False          # no compiled ops here (no DCN modules in the test model anyway)
''' + inspect.getsource(Net) + '''
out['groups'] = []
for cfg in inp['cfgs']:
    opt = build_optimizer(Net(), cfg)
    out['groups'].append([(len(g['params']), g['lr'], g.get('weight_decay'), tuple(g['params'][0].shape)) for g in opt.param_groups])
''', cfgs=OPT_CFGS)
    for cfg, theirs in zip(OPT_CFGS, ref['groups']):
        assert _groups(build_optimizer(net, cfg)) == theirs, cfg


@pytest.mark.parametrize('infinite', [False, True])
def test_resume_with_segnb_build_dataloader(tmp_path, infinite):
    "The data engineer's build_dataloader (shuffle, seed, collate; optionally the infinite sampler), cut mid-epoch."
    loader_mod = pytest.importorskip('segnb.data.loader')
    from runner_stand_ins import TinyData
    def run(d, stop=None, resume=None):
        r = make_runner(str(d), max_iters=9, model=lambda: OneConvSeg(dropout=0.3))
        seen = record_losses(r)
        if stop: r.register_hook(StopAt(stop, 'request'))
        if resume: r.resume(str(resume))
        loader = loader_mod.build_dataloader(TinyData(10, augment=True), 2, 0, seed=3, shuffle=True, infinite=infinite)
        r.run([loader], [('train', 1)])
        return seen
    ref = run(tmp_path / 'a')
    first = run(tmp_path / 'b', stop=7)
    rest = run(tmp_path / 'b', resume=tmp_path / 'b' / 'latest.pth')
    assert first + rest == ref


def test_workflow_from_a_json_config_lists_not_tuples(tmp_path):
    r = make_runner(str(tmp_path), max_iters=2)
    r.run([tiny_loader()], [['train', 1]])
    assert r.iter == 2


def test_resume_continues_the_ema_weights(tmp_path):
    def run(d, stop=None, resume=None):
        r = make_runner(str(d), max_iters=6, model=lambda: OneConvSeg(dropout=0.3),
                        custom_hooks_config=[dict(type='EMAHook', momentum=0.3, warm_up=2)])
        if stop: r.register_hook(StopAt(stop, 'request'))
        if resume: r.resume(str(resume))
        r.run([tiny_loader(augment=True)], [('train', 1)])
        return r.model.conv.weight.detach()
    full = run(tmp_path / 'a')
    run(tmp_path / 'b', stop=3)
    torch.testing.assert_close(run(tmp_path / 'b', resume=tmp_path / 'b' / 'latest.pth'), full, rtol=0, atol=0)


def test_custom_hooks_take_hook_objects_and_dicts(tmp_path):
    "mmcv 1.x's register_custom_hooks: dicts are built (priority from the dict), Hook objects go in at NORMAL."
    from segnb.apis import register_custom_hooks
    class Count(Hook):
        def __init__(self): self.n = 0
        def after_train_iter(self, runner): self.n += 1
    for register in (lambda r, c: r.register_custom_hooks(c), register_custom_hooks):
        r = make_runner(str(tmp_path), max_iters=3)
        before, mine = len(r.hooks), Count()
        register(r, [dict(type='EMAHook', priority='LOWEST'), mine])
        assert mine in r.hooks and mine.priority == 50 and type(r.hooks[-1]).__name__ == 'EMAHook'
        assert len(r.hooks) == before + 2
        r.run([tiny_loader()], [('train', 1)])
        assert mine.n == 3
    with pytest.raises(TypeError, match='register_hook takes a Hook, got int'): r.register_custom_hooks([3])
