"""Hooks: priorities, LR/momentum values (hand-computed and against mmcv 1.7.2 when SEGNB_MMSEG_VENV is set),
optimizer hooks, checkpoint rotation and atomic latest.pth, the NaN guard, loggers, EMA and evaluation hooks."""
import json, os, os.path as osp, re
import pytest, torch
from segnb.registry import HOOKS, build_from_cfg
from segnb.runner.hooks import Hook, OptimizerHook
from segnb.runner.checkpoint_hooks import InvalidLossError
from segnb.runner.eval_hooks import EvalHook
from segnb.runner.runner import IterBasedRunner
from runner_stand_ins import OneConvSeg, tiny_loader, make_runner, record_losses, quiet_logger
from mmseg_venv import needs_mmseg, run_mmseg
from log_records import log_records

# --- schedules ---------------------------------------------------------------------------------------------------

DRIVER = '''
import torch
from types import SimpleNamespace
def trace(hook, kind, by_epoch, max_iters, epoch_len):
    "The value of each param group before every iteration, driving the hook as a runner does."
    ps = [torch.nn.Parameter(torch.zeros(1)) for _ in range(2)]
    opt = (torch.optim.SGD([dict(params=[ps[0]], lr=0.01), dict(params=[ps[1]], lr=0.02)], lr=0.01, momentum=0.9)
           if kind == 'sgd' else torch.optim.Adam([dict(params=[ps[0]]), dict(params=[ps[1]], lr=0.02)], lr=0.01))
    key = (lambda g: g['lr']) if hook.__class__.__name__.endswith('LrUpdaterHook') else \\
          (lambda g: g['momentum'] if 'momentum' in g else g['betas'][0])
    r = SimpleNamespace(optimizer=opt, iter=0, epoch=0, max_iters=max_iters, max_epochs=max_iters // epoch_len,
                        data_loader=range(epoch_len))
    hook.before_run(r)
    out = []
    for r.iter in range(max_iters):
        if r.iter % epoch_len == 0 and by_epoch: r.epoch = r.iter // epoch_len; hook.before_train_epoch(r)
        hook.before_train_iter(r)
        out.append([key(g) for g in opt.param_groups])
    return out
'''
_driver = {}
exec(DRIVER, _driver)
trace = _driver['trace']

LR_CFGS = [dict(policy='poly', power=0.9, min_lr=1e-4, by_epoch=False),
           dict(policy='poly', power=1.0, min_lr=0.0, by_epoch=False, warmup='linear', warmup_iters=5, warmup_ratio=1e-6),
           dict(policy='poly', power=0.9, by_epoch=False, warmup='exp', warmup_iters=4, warmup_ratio=0.1),
           dict(policy='poly', power=0.9, by_epoch=False, warmup='constant', warmup_iters=3, warmup_ratio=0.5),
           dict(policy='poly', power=0.9, by_epoch=True, warmup='linear', warmup_iters=5),
           dict(policy='step', step=[4, 9], gamma=0.5, by_epoch=False),
           dict(policy='step', step=2, min_lr=1e-3, by_epoch=True),
           dict(policy='CosineAnnealing', min_lr_ratio=0.01, by_epoch=False, warmup='linear', warmup_iters=3),
           dict(policy='CosineAnnealing', min_lr=0., by_epoch=True),
           dict(policy='OneCycle', max_lr=0.1),
           dict(policy='OneCycle', max_lr=[0.1, 0.2], three_phase=True, anneal_strategy='linear', pct_start=0.4),
           dict(policy='exp', gamma=0.9, by_epoch=False),
           dict(policy='fixed', by_epoch=False, warmup='linear', warmup_iters=4)]
MOM_CFGS = [dict(policy='step', step=[3, 7], gamma=0.5, by_epoch=False),
            dict(policy='CosineAnnealing', min_momentum_ratio=0.8, by_epoch=False, warmup='linear', warmup_iters=3),
            dict(policy='CosineAnnealing', min_momentum=0.85, by_epoch=True),
            dict(policy='step', step=[6], gamma=0.5, by_epoch=False, warmup='linear', warmup_iters=4, warmup_ratio=0.9),
            dict(policy='step', step=[2], gamma=0.5, by_epoch=True, warmup='exp', warmup_iters=3, warmup_ratio=0.8)]


def _hook(cfg, kind):
    cfg = dict(cfg); p = cfg.pop('policy')
    return build_from_cfg(dict(cfg, type=(p.title() if p == p.lower() else p) + kind), HOOKS)


def _ours(cfgs, kind, optim):
    return [trace(_hook(c, kind), optim, c.get('by_epoch', True), 12, 4) for c in cfgs]


def test_poly_against_hand_computed_numbers():
    lrs = trace(_hook(LR_CFGS[0], 'LrUpdaterHook'), 'sgd', False, 10, 10)
    # (lr0 - min_lr) * (1 - i/10) ** 0.9 + min_lr, worked out by hand for i = 0, 3, 9, for both groups
    assert lrs[0] == pytest.approx([0.01, 0.02])
    assert lrs[3] == pytest.approx([0.0099 * 0.7254178 + 1e-4, 0.0199 * 0.7254178 + 1e-4], rel=1e-6)
    assert lrs[9] == pytest.approx([0.0099 * 0.1258925 + 1e-4, 0.0199 * 0.1258925 + 1e-4], rel=1e-6)


def test_linear_warmup_by_hand():
    lrs = [g[0] for g in trace(_hook(LR_CFGS[1], 'LrUpdaterHook'), 'sgd', False, 10, 10)]
    # power 1: regular lr_i = 0.01 * (1 - i/10); warmup factor 1 - (1 - i/5) * (1 - 1e-6) for i < 5
    for i in range(10):
        factor = 1 - (1 - i / 5) * (1 - 1e-6) if i < 5 else 1.0
        assert lrs[i] == pytest.approx(0.01 * (1 - i / 10) * factor, rel=1e-9, abs=1e-15)


def test_exp_and_fixed_by_hand():
    exp = trace(_hook(dict(policy='exp', gamma=0.9, by_epoch=False), 'LrUpdaterHook'), 'sgd', False, 10, 10)
    for i in range(10): assert exp[i] == pytest.approx([0.01 * 0.9 ** i, 0.02 * 0.9 ** i], rel=1e-12)   # base * gamma ** iter
    assert exp[3] == pytest.approx([0.00729, 0.01458], rel=1e-12)
    fixed = trace(_hook(dict(policy='fixed', by_epoch=False, warmup='linear', warmup_iters=4), 'LrUpdaterHook'), 'sgd', False, 8, 8)
    # warmup_ratio defaults to 0.1: factor 1 - (1 - i/4) * 0.9 = 0.1, 0.325, 0.55, 0.775, then the base lr for ever
    for i, f in enumerate([0.1, 0.325, 0.55, 0.775, 1, 1, 1, 1]): assert fixed[i] == pytest.approx([0.01 * f, 0.02 * f], rel=1e-12)
    by_epoch = trace(_hook(dict(policy='exp', gamma=0.5), 'LrUpdaterHook'), 'sgd', True, 8, 4)   # progress = epoch
    assert [g[0] for g in by_epoch] == pytest.approx([0.01] * 4 + [0.005] * 4, rel=1e-12)


def test_momentum_warmup_by_hand():
    "mmcv divides momentum by the warmup factor: momentum starts high and falls to the schedule's value."
    for optim in ('sgd', 'adam'):    # SGD's momentum, Adam's beta1
        mom = [g[0] for g in trace(_hook(MOM_CFGS[3], 'MomentumUpdaterHook'), optim, False, 10, 10)]
        # step at 6 (x0.5) from 0.9; linear warmup ratio 0.9 over 4 iters: factor 1 - (1 - i/4) * 0.1 = 0.9, 0.925, 0.95, 0.975
        want = [0.9 / 0.9, 0.9 / 0.925, 0.9 / 0.95, 0.9 / 0.975, 0.9, 0.9, 0.45, 0.45, 0.45, 0.45]
        assert mom == pytest.approx(want, rel=1e-12), optim


def test_unknown_policy_and_bad_warmup():
    r = IterBasedRunner(OneConvSeg(), optimizer=torch.optim.SGD(OneConvSeg().parameters(), lr=0.1), logger=quiet_logger())
    with pytest.raises(KeyError, match="lr_config policy 'Cosine' is unknown: there is no CosineLrUpdaterHook in the hook registry. "
                                       "Known policies: .*CosineAnnealing.*Poly"):
        r.register_training_hooks(lr_config=dict(policy='cosine'))
    with pytest.raises(KeyError, match='momentum_config policy'):
        r.register_training_hooks(lr_config=None, momentum_config=dict(policy='poly'))
    with pytest.raises(ValueError, match='"linaer" is not a supported type for warming up'):
        _hook(dict(policy='poly', warmup='linaer', warmup_iters=3), 'LrUpdaterHook')


@needs_mmseg
def test_schedules_match_mmcv():
    ref = run_mmseg(DRIVER + '''
from mmcv.runner.hooks import HOOKS
from mmcv.utils import build_from_cfg
def hook(cfg, kind):
    cfg = dict(cfg); p = cfg.pop('policy')
    return build_from_cfg(dict(cfg, type=(p.title() if p == p.lower() else p) + kind), HOOKS)
out['lr'] = [trace(hook(c, 'LrUpdaterHook'), 'sgd', c.get('by_epoch', True), 12, 4) for c in inp['lr']]
out['mom_sgd'] = [trace(hook(c, 'MomentumUpdaterHook'), 'sgd', c.get('by_epoch', True), 12, 4) for c in inp['mom']]
out['mom_adam'] = [trace(hook(c, 'MomentumUpdaterHook'), 'adam', c.get('by_epoch', True), 12, 4) for c in inp['mom']]
''', lr=LR_CFGS, mom=MOM_CFGS)
    for cfg, ours, theirs in zip(LR_CFGS, _ours(LR_CFGS, 'LrUpdaterHook', 'sgd'), ref['lr']):
        assert sum(ours, []) == pytest.approx(sum(theirs, []), rel=1e-12), cfg
    for optim in ('sgd', 'adam'):
        for cfg, ours, theirs in zip(MOM_CFGS, _ours(MOM_CFGS, 'MomentumUpdaterHook', optim), ref[f'mom_{optim}']):
            assert sum(ours, []) == pytest.approx(sum(theirs, []), rel=1e-12), (optim, cfg)

# --- priorities and errors ---------------------------------------------------------------------------------------

def test_priorities_stable_and_hook_error_names_hook_and_event(tmp_path):
    order = []
    class Tag(Hook):
        def __init__(self, name): self.name = name
        def before_run(self, runner): order.append(self.name)
    class Boom(Hook):
        def after_train_iter(self, runner): raise RuntimeError('no space left on device')
    r = make_runner(str(tmp_path), max_iters=2)
    for name, prio in [('n1', 'NORMAL'), ('vl', 'VERY_LOW'), ('h', 0), ('n2', 50), ('l', 'LOWEST')]: r.register_hook(Tag(name), prio)
    r.register_hook(Boom(), 'LOW')
    with pytest.raises(RuntimeError, match='^Boom.after_train_iter: no space left on device') as e:
        r.run([tiny_loader()], [('train', 1)])
    assert isinstance(e.value.__cause__, RuntimeError)
    assert order == ['h', 'n1', 'n2', 'vl', 'l']


def test_unknown_hook_type():
    r = IterBasedRunner(OneConvSeg(), logger=quiet_logger())
    with pytest.raises(KeyError, match="'TextLogerHook' is not in the hook registry.*Closest registered names: TextLoggerHook"):
        r.register_training_hooks(None, log_config=dict(interval=1, hooks=[dict(type='TextLogerHook')]))

# --- optimizer hooks -----------------------------------------------------------------------------------------------

def _grads_after(hook_cfg, iters, batch_size, tmp_path):
    model = OneConvSeg(); torch.manual_seed(0)
    r = IterBasedRunner(model, optimizer=torch.optim.SGD(model.parameters(), lr=0.5), logger=quiet_logger(), max_iters=iters,
                        work_dir=str(tmp_path))
    r.register_training_hooks(None, optimizer_config=hook_cfg)
    with torch.no_grad(): model.conv.weight.fill_(0.1); model.conv.bias.zero_()
    r.run([tiny_loader(shuffle=False, batch_size=batch_size)], [('train', 1)])
    return model.conv.weight.detach().clone()


def test_gradient_accumulation_equals_one_big_batch(tmp_path):
    big = _grads_after(dict(), 1, 4, tmp_path / 'a')
    acc = _grads_after(dict(type='GradientCumulativeOptimizerHook', cumulative_iters=2), 2, 2, tmp_path / 'b')
    torch.testing.assert_close(acc, big)


def _accumulated_by_hand(device, dtype, iters=2, scale=None):
    "OneConvSeg's weights after `iters` batches of 2 under autocast, each loss / iters (x scale), then one SGD step."
    model = OneConvSeg().to(device); opt = torch.optim.SGD(model.parameters(), lr=0.5)
    with torch.no_grad(): model.conv.weight.fill_(0.1); model.conv.bias.zero_()
    for _, batch in zip(range(iters), tiny_loader(shuffle=False, batch_size=2)):
        batch = {k: v.to(device) for k, v in batch.items()}
        with torch.autocast(device, dtype=dtype): loss = model.losses(batch)['loss'] / iters
        (loss * (scale or 1)).backward()
    if scale:
        for p in model.parameters(): p.grad /= scale
    opt.step()
    return model.conv.weight.detach().cpu()


def test_gradient_cumulative_fp16_hook_on_cpu_accumulates_under_bf16(tmp_path):
    "On a CPU fp16 falls back to bf16 autocast (with a warning, no scaler); two iterations give one step, as by hand."
    with pytest.warns(UserWarning, match='fp16 mixed precision needs CUDA; the model is on cpu, using bf16 autocast instead'):
        got = _grads_after(dict(type='GradientCumulativeFp16OptimizerHook', cumulative_iters=2), 2, 2, tmp_path)
    torch.testing.assert_close(got, _accumulated_by_hand('cpu', torch.bfloat16))
    assert not torch.equal(got, _grads_after(dict(type='GradientCumulativeOptimizerHook', cumulative_iters=2), 2, 2, tmp_path / 'fp32'))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
def test_gradient_cumulative_fp16_hook_on_gpu_scales_and_accumulates(tmp_path):
    model = OneConvSeg().cuda(); torch.manual_seed(0)
    r = IterBasedRunner(model, optimizer=torch.optim.SGD(model.parameters(), lr=0.5), logger=quiet_logger(), max_iters=2,
                        work_dir=str(tmp_path))
    r.register_training_hooks(None, optimizer_config=dict(type='GradientCumulativeFp16OptimizerHook', cumulative_iters=2, loss_scale=512.))
    with torch.no_grad(): model.conv.weight.fill_(0.1); model.conv.bias.zero_()
    loader = [{k: v.cuda() for k, v in b.items()} for b in tiny_loader(shuffle=False, batch_size=2)]
    r.run([loader], [('train', 1)])
    assert r.meta['fp16']['loss_scaler']['scale'] == 512.
    torch.testing.assert_close(model.conv.weight.detach().cpu(), _accumulated_by_hand('cuda', torch.float16, scale=512.))


def test_grad_clip_logs_grad_norm_and_bf16_autocast_trains(tmp_path):
    r = make_runner(str(tmp_path), max_iters=3, optimizer_config=dict(grad_clip=dict(max_norm=1e-3), amp='bf16'))
    dtypes = []
    class Spy(Hook):
        def before_train_iter(self, runner):
            with runner.autocast(): dtypes.append(runner.model.conv(torch.zeros(1, 3, 2, 2)).dtype)
    r.register_hook(Spy())
    before = r.model.conv.weight.detach().clone()
    r.run([tiny_loader()], [('train', 1)])
    assert dtypes == [torch.bfloat16] * 3
    assert 'grad_norm' in r.log_buffer.val_history
    step = (r.model.conv.weight - before).norm()
    assert 0 < step < 3 * 0.1 * 1e-3 * 1.1 + 3e-4   # 3 clipped steps of lr <= 0.1 and norm 1e-3 (+ momentum, decay)


def test_fp16_hook_on_cpu_falls_back_to_bf16(tmp_path):
    r = make_runner(str(tmp_path), max_iters=1, optimizer_config=dict(type='Fp16OptimizerHook', loss_scale=512.))
    with pytest.warns(UserWarning, match='fp16 mixed precision needs CUDA'):
        r.run([tiny_loader()], [('train', 1)])
    assert OptimizerHook in type(r.hooks[2]).__mro__ and r.hooks[2].scaler is None

# --- checkpoints -------------------------------------------------------------------------------------------------

def test_checkpoint_rotation_and_latest(tmp_path):
    r = make_runner(str(tmp_path), max_iters=7, checkpoint_kw=dict(max_keep_ckpts=2))
    r.run([tiny_loader()], [('train', 1)])
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth')) == ['iter_4.pth', 'iter_6.pth', 'iter_7.pth', 'latest.pth']
    assert osp.realpath(tmp_path / 'latest.pth') == str(tmp_path / 'iter_7.pth')
    ckpt = torch.load(tmp_path / 'latest.pth', weights_only=True)
    assert (ckpt['meta']['iter'], sorted(ckpt)) == (7, ['meta', 'optimizer', 'state_dict'])
    assert r.meta['hook_msgs']['last_ckpt'] == str(tmp_path / 'iter_7.pth')


def test_checkpoint_out_dir_and_no_optimizer(tmp_path):
    r = make_runner(str(tmp_path / 'work' / 'exp'), max_iters=2, checkpoint_kw=dict(out_dir=str(tmp_path / 'store'), save_optimizer=False))
    r.run([tiny_loader()], [('train', 1)])
    assert 'optimizer' not in torch.load(tmp_path / 'store' / 'exp' / 'iter_2.pth', weights_only=True)


def test_crash_while_saving_keeps_latest_whole(tmp_path, monkeypatch):
    r = make_runner(str(tmp_path), max_iters=4)
    real_save = torch.save
    def dying_save(obj, f, *a, **k):
        if obj['meta']['iter'] == 4: f.write(b'half a checkpoint'); raise OSError('killed mid-write')
        return real_save(obj, f, *a, **k)
    monkeypatch.setattr(torch, 'save', dying_save)
    with pytest.raises(OSError, match='CheckpointHook.after_train_iter: killed mid-write'):
        r.run([tiny_loader()], [('train', 1)])
    assert torch.load(tmp_path / 'latest.pth', weights_only=True)['meta']['iter'] == 2
    assert not (tmp_path / 'iter_4.pth').exists()
    assert not [f for f in os.listdir(tmp_path) if f.endswith('.tmp')]

# --- NaN guard -----------------------------------------------------------------------------------------------------

def test_nan_guard_stops_before_the_step_and_keeps_last_good(tmp_path):
    model = OneConvSeg(nan_at=3)
    r = make_runner(str(tmp_path), max_iters=6, model=model)
    weights = []
    class Keep(Hook):
        def after_train_iter(self, runner): weights.append(runner.model.conv.weight.detach().clone())
    r.register_hook(Keep(), 'LOWEST')
    with pytest.raises(FloatingPointError, match=r'CheckInvalidLossHook.after_train_iter: non-finite loss at iter 3: '
                       r'decode.loss_ce=nan, loss=nan\. Training stopped before the optimizer step; the last good checkpoint is '
                       + re.escape(str(tmp_path / 'iter_2.pth'))) as e:
        r.run([tiny_loader()], [('train', 1)])
    assert isinstance(e.value.__cause__, InvalidLossError)
    torch.testing.assert_close(model.conv.weight, weights[-1])          # unchanged by iteration 3
    assert torch.load(tmp_path / 'latest.pth', weights_only=True)['meta']['iter'] == 2

# --- loggers -------------------------------------------------------------------------------------------------------

def test_text_and_json_logs(tmp_path):
    r = make_runner(str(tmp_path), max_iters=4)
    with log_records(r.logger) as seen: r.run([tiny_loader()], [('train', 1)])
    lines = [m for _, m in seen if m.startswith('Iter [')]
    assert len(lines) == 4, lines
    assert re.match(r'Iter \[2/4\]\tlr: \d\.\d{3}e-\d\d, eta: 0:00:\d\d, time: \d+\.\d{3}, data_time: \d+\.\d{3}, '
                    r'memory: \d+, decode\.loss_ce: \d\.\d{4}, loss: \d\.\d{4}$', lines[1]), lines[1]
    records = [json.loads(l) for l in open(tmp_path / f'{r.timestamp}.log.json')]
    assert [x['iter'] for x in records] == [1, 2, 3, 4] and records[0]['mode'] == 'train'
    assert set(records[0]) >= {'lr', 'time', 'data_time', 'memory', 'decode.loss_ce', 'loss'}


def test_tensorboard_and_progress_bar(tmp_path, capsys):
    r = make_runner(str(tmp_path), max_iters=3, log=False)
    r.register_training_hooks(None, timer_config=None, invalid_loss_config=None, log_config=dict(
        interval=1, hooks=[dict(type='TensorboardLoggerHook', by_epoch=False), dict(type='ProgressBarHook')]))
    r.run([tiny_loader()], [('train', 1)])
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(tmp_path / 'tf_logs')); acc.Reload()
    assert [e.step for e in acc.Scalars('train/loss')] == [1, 2, 3]
    assert '3/3' in capsys.readouterr().err

# --- EMA and evaluation --------------------------------------------------------------------------------------------

def test_ema_hook_in_a_run(tmp_path):
    r = make_runner(str(tmp_path), max_iters=3, custom_hooks_config=[dict(type='EMAHook', momentum=0.5, warm_up=1)])
    seen = []
    class Snap(Hook):
        def after_train_iter(self, runner): seen.append(runner.model.conv.bias.detach().clone())
    r.register_hook(Snap(), 'LOWEST')
    start = r.model.conv.bias.detach().clone()
    r.run([tiny_loader()], [('train', 1)])
    ema = start
    for b in seen: ema = 0.5 * ema + 0.5 * b
    torch.testing.assert_close(r.model.conv.bias.detach(), ema)     # the model ends with the EMA weights
    assert 'ema_state_dict' in torch.load(tmp_path / 'iter_2.pth', weights_only=True)['meta']


class ScoredData(torch.utils.data.Dataset):
    def __init__(self, scores): self.scores = list(scores)
    def __len__(self): return 2
    def __getitem__(self, i): return i
    def evaluate(self, results, metric='mIoU', logger=None): return dict(mIoU=self.scores.pop(0), mAcc=0.5)


def test_eval_hook_in_a_run_saves_best_and_logs_val_line(tmp_path):
    val = torch.utils.data.DataLoader(ScoredData([0.3, 0.8, 0.5]), batch_size=1)
    calls = []
    r = make_runner(str(tmp_path), max_iters=6, checkpoint_interval=100)
    r.register_hook(EvalHook(val, interval=2, save_best='mIoU', metric='mIoU',
                             test_fn=lambda model, loader, **kw: calls.append(kw) or [0, 0]), 'LOW')
    r.run([tiny_loader()], [('train', 1)])
    assert calls == [dict(pre_eval=False)] * 3
    assert sorted(f for f in os.listdir(tmp_path) if f.startswith('best')) == ['best_mIoU_iter_4.pth']
    assert r.meta['hook_msgs']['best_score'] == 0.8
    records = [x for x in map(json.loads, open(tmp_path / f'{r.timestamp}.log.json')) if 'mode' in x]
    val_records = [x for x in records if x['mode'] == 'val']
    assert [(x['iter'], x['mIoU']) for x in val_records] == [(2, 0.3), (2, 0.8), (2, 0.5)]   # iter = len(val loader), as mmseg
    assert [x['iter'] for x in records if x['mode'] == 'train'] == [1, 2, 3, 4, 5, 6]


def test_eval_hook_does_not_change_training_randomness(tmp_path):
    def losses(with_eval, d):
        r = make_runner(str(d), max_iters=5, model=lambda: OneConvSeg(dropout=0.5), checkpoint_interval=100)
        seen = record_losses(r)
        if with_eval:
            noisy = lambda model, loader, **kw: [torch.rand(100)] and [0, 0]
            r.register_hook(EvalHook(torch.utils.data.DataLoader(ScoredData([0.1] * 3), batch_size=1), interval=2, test_fn=noisy), 'LOW')
        r.run([tiny_loader(augment=True)], [('train', 1)])
        return seen
    assert losses(True, tmp_path / 'a') == losses(False, tmp_path / 'b')


def test_grad_scaler_path_steps_like_plain_sgd_and_persists_its_state(tmp_path):
    "The fp16 code path (scale, unscale for clipping, step, update) on a CPU GradScaler: same step as without it."
    def step(with_scaler):
        torch.manual_seed(0)
        model = OneConvSeg()
        r = IterBasedRunner(model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), logger=quiet_logger(), max_iters=1)
        hook = OptimizerHook(grad_clip=dict(max_norm=0.05))
        r.register_hook(hook, 'ABOVE_NORMAL')
        if with_scaler:
            hook.scaler = torch.amp.GradScaler('cpu', init_scale=512.)
            hook.before_run = lambda runner: None              # keep the scaler (on CPU, amp='fp16' would pick bf16)
        r.run([tiny_loader(shuffle=False)], [('train', 1)])
        return model.conv.weight.detach(), r.meta
    plain, _ = step(False)
    scaled, meta = step(True)
    torch.testing.assert_close(scaled, plain)
    assert meta['fp16']['loss_scaler']['scale'] == 512.


def test_eval_hook_by_epoch_with_epoch_runner(tmp_path):
    val = torch.utils.data.DataLoader(ScoredData([0.2, 0.6]), batch_size=1)
    r = make_runner(str(tmp_path), max_iters=2, runner_cls=__import__('segnb.runner.runner', fromlist=['x']).EpochBasedRunner,
                    checkpoint_interval=1)
    r.register_hook(EvalHook(val, by_epoch=True, interval=1, save_best='mIoU', test_fn=lambda m, l, **kw: [0, 0]), 'LOW')
    r.run([tiny_loader()], [('train', 1)])
    assert sorted(f for f in os.listdir(tmp_path) if f.startswith('best')) == ['best_mIoU_epoch_2.pth']


def test_text_log_every_interval_with_a_progress_bar(tmp_path, capsys):
    """The last logger hook clears the averaged buffer once written. A progress bar registered after the text logger
    does not write the buffer, so it must not take that job: else the text logger re-writes the same line every
    iteration after the first interval (the default run logged `Iter [197/200]`, `[198/200]`, ... with equal values)."""
    from segnb.runner.loggers import TextLoggerHook
    r = make_runner(str(tmp_path), max_iters=6, log=False)
    r.register_training_hooks(None, timer_config=dict(type='IterTimerHook'), invalid_loss_config=None, log_config=dict(
        interval=3, hooks=[dict(type='TextLoggerHook', by_epoch=False), dict(type='ProgressBarHook')]))
    r.run([tiny_loader()], [('train', 1)])
    records = [json.loads(l) for l in open(tmp_path / f'{r.timestamp}.log.json')]
    print([x['iter'] for x in records])
    assert [x['iter'] for x in records] == [3, 6]
    text = next(h for h in r.hooks if isinstance(h, TextLoggerHook))
    assert text.reset_flag and '6/6' in capsys.readouterr().err
