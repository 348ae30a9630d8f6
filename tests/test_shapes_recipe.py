"""The default recipe (`shapes/pspnet_r18-d8_shapes.py`), tuned for time to first result: a OneCycle schedule that is
torch's `OneCycleLR`, bf16 autocast, one evaluation at the end, and batched validation that scores as one by one."""
from types import SimpleNamespace
import pytest, torch
from segnb.apis import load_config
from segnb.registry import HOOKS, build_from_cfg
import segnb.runner  # noqa: F401  (registers the LR hooks)

CONFIG = 'shapes/pspnet_r18-d8_shapes.py'


@pytest.fixture(scope='module')
def cfg(): return load_config(CONFIG)


def _lr_trace(lr_cfg, optimizer, max_iters):
    "The LR before each iteration, driving the config's LR hook as the runner does."
    lr_cfg = dict(lr_cfg); policy = lr_cfg.pop('policy')
    hook = build_from_cfg(dict(lr_cfg, type=policy + 'LrUpdaterHook'), HOOKS)
    runner = SimpleNamespace(optimizer=optimizer, iter=0, epoch=0, max_iters=max_iters, max_epochs=None, data_loader=[])
    hook.before_run(runner); hook.before_train_epoch(runner)
    lrs = []
    for runner.iter in range(max_iters):
        hook.before_train_iter(runner); lrs.append(optimizer.param_groups[0]['lr'])
    return lrs


def test_schedule_is_torch_one_cycle(cfg):
    n, max_lr = cfg.runner.max_iters, cfg.lr_config.max_lr
    params = [torch.nn.Parameter(torch.zeros(1))]
    ours = _lr_trace(cfg.lr_config, torch.optim.AdamW(params, lr=cfg.optimizer.lr), n)
    opt = torch.optim.AdamW(params, lr=max_lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=n, cycle_momentum=False)
    ref = []
    for _ in range(n): ref.append(opt.param_groups[0]['lr']); opt.step(); sched.step()
    assert ours == pytest.approx(ref, rel=1e-9, abs=1e-15)
    assert ours[0] == pytest.approx(max_lr / 25) and max(ours) == pytest.approx(max_lr)


def test_recipe_evaluates_once_at_the_end_in_bf16(cfg):
    assert cfg.optimizer.type == 'AdamW' and cfg.optimizer_config.amp == 'bf16'
    assert cfg.evaluation.interval == cfg.checkpoint_config.interval == cfg.runner.max_iters
    assert cfg.data.val_dataloader.samples_per_gpu > 1


def test_batched_validation_gives_the_label_maps_of_one_by_one(cfg, tmp_path):
    "The config validates in batches; every pre-eval area must equal the one-image-per-forward result."
    from segnb.runner.testing import single_gpu_test
    from segnb.apis import loader_cfg
    from segnb.data.loader import build_dataset, build_dataloader
    from segnb.models.segmentors.encoder_decoder import build_segmentor
    from segnb.dist import wrap_model
    split = tmp_path / 'val20.txt'
    split.write_text('\n'.join(f'{i:05d}' for i in range(20)))
    val = build_dataset(dict(cfg.data.val, split=str(split)), dict(test_mode=True))
    torch.manual_seed(0)
    model = build_segmentor(cfg.model, test_cfg=cfg.get('test_cfg')); model.init_weights()
    model = wrap_model(model, False, 'cpu')
    def run(batch_cfg):
        c = cfg.copy(); c.data = dict(cfg.data, workers_per_gpu=0, val_dataloader=batch_cfg)
        return single_gpu_test(model, build_dataloader(val, **loader_cfg(c, False, 'val')), pre_eval=True)
    one, batched = run(dict(samples_per_gpu=1)), run(cfg.data.val_dataloader)
    assert len(one) == len(batched) == 20
    for a, b in zip(one, batched):
        for x, y in zip(a, b): torch.testing.assert_close(x, y, rtol=0, atol=0)
