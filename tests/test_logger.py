"""The logger of a run (issue 16): a run's logger holds only its own handlers and drops them when the run ends; two
runs in one process write two separate log files; the shared `segnb` logger is never given a handler."""
import copy, logging, os
import pytest
from segnb.utils import get_logger, run_logger, close_logger
from tiny_data import make_tiny_dataset, TINY_CONFIG, data_options

def _messages(path): return [line.split(' - ', 3)[-1] for line in open(path).read().splitlines()]

def _handlers_of(name): return list(logging.getLogger(name).handlers)

def test_asking_with_another_file_moves_the_logger(tmp_path):
    lg = get_logger('segnb.test_logger.move', log_file=tmp_path / 'a.log')
    lg.warning('into a')
    get_logger('segnb.test_logger.move', log_file=tmp_path / 'b.log')
    lg.warning('into b')
    close_logger(lg)
    assert _messages(tmp_path / 'a.log') == ['into a']
    assert _messages(tmp_path / 'b.log') == ['into b']
    assert lg.handlers == []

def test_close_logger_keeps_foreign_handlers(tmp_path):
    lg, foreign = get_logger('segnb.test_logger.foreign', log_file=tmp_path / 'a.log'), logging.NullHandler()
    lg.addHandler(foreign)
    close_logger(lg)
    assert lg.handlers == [foreign]
    lg.removeHandler(foreign)

def test_run_loggers_are_separate(tmp_path):
    a, b = run_logger(tmp_path / 'a.log'), run_logger(tmp_path / 'b.log')
    assert a.name != b.name and a.name.startswith('segnb.run.')
    a.warning('run a'); b.warning('run b')
    for lg in (a, b): close_logger(lg)
    assert _messages(tmp_path / 'a.log') == ['run a'] and _messages(tmp_path / 'b.log') == ['run b']

@pytest.fixture(scope='module')
def tiny_cfg(tmp_path_factory):
    from segnb.apis import load_config
    root = make_tiny_dataset(tmp_path_factory.mktemp('tiny'), n_train=4, n_val=2)
    opts = dict(o.split('=', 1) for o in data_options(root))
    cfg = load_config(TINY_CONFIG, {**opts, 'runner.max_iters': 2, 'checkpoint_config.interval': 2, 'evaluation.interval': 2})
    cfg.device, cfg.seed = 'cpu', 0
    return cfg

def _train(cfg, work_dir):
    from segnb.apis import train_segmentor
    from segnb.models import build_segmentor
    from segnb.data.loader import build_dataset
    cfg = copy.deepcopy(cfg); cfg.work_dir = str(work_dir)
    model = build_segmentor(cfg.model); model.init_weights()
    return train_segmentor(model, build_dataset(cfg.data.train), cfg, validate=True)

def _log_file(work_dir):
    logs = [f for f in os.listdir(work_dir) if f.endswith('.log')]
    assert len(logs) == 1, logs
    return os.path.join(work_dir, logs[0])

def test_two_runs_in_one_process_write_their_own_logs(tiny_cfg, tmp_path):
    segnb_before = (_handlers_of('segnb'), logging.getLogger('segnb').propagate)
    first = _train(tiny_cfg, tmp_path / 'first')
    second = _train(tiny_cfg, tmp_path / 'second')
    log1, log2 = open(_log_file(tmp_path / 'first')).read(), open(_log_file(tmp_path / 'second')).read()
    print(log1[-500:])
    assert f'work_dir: {tmp_path / "first"}' in log1 and f'work_dir: {tmp_path / "second"}' in log2
    assert str(tmp_path / 'second') not in log1, 'the second run wrote into the first run\'s log file'
    assert str(tmp_path / 'first') not in log2
    for log in (log1, log2): assert log.count('Iter [2/2]') == 1 and log.count('Start running') == 1
    assert first.logger is not second.logger
    assert first.logger.handlers == [] and second.logger.handlers == [], 'a finished run keeps its handlers'
    assert (_handlers_of('segnb'), logging.getLogger('segnb').propagate) == segnb_before

def test_train_dumps_the_config_the_run_used(tiny_cfg, tmp_path, monkeypatch):
    "`segnb train --cfg-options ... --work-dir ...` dumps exactly the config `build_train_runner` was given."
    import segnb.apis as apis
    from segnb.cli import main
    from segnb.config import Config
    used = {}
    def spy(model, cfg, *a, **k):
        used['cfg'] = cfg
        return build(model, cfg, *a, **k)
    build = apis.build_train_runner
    monkeypatch.setattr(apis, 'build_train_runner', spy)
    root = tiny_cfg.data.train.data_root
    work = tmp_path / 'work'
    assert main(['train', TINY_CONFIG, '--work-dir', str(work), '--seed', '3', '--no-validate', '--no-progress',
                 '--cfg-options', *data_options(root), 'runner.max_iters=1', 'optimizer.lr=0.02']) == 0
    dumped = Config.fromfile(str(work / 'tiny_pspnet.py'))
    print(dumped.pretty_text[-400:])
    assert dumped.optimizer.lr == 0.02 and dumped.runner.max_iters == 1 and dumped.seed == 3
    assert dumped.work_dir == str(work) and dumped.device == used['cfg'].device
    assert dumped.to_dict() == used["cfg"].to_dict()

def test_background_training_closes_its_run_logger(tmp_path):
    "A background run's logger is closed when its thread ends (BackgroundTraining's `on_end`), even on a failure."
    pytest.importorskip('ipywidgets')
    from segnb.dashboard import BackgroundTraining
    from runner_stand_ins import make_runner, tiny_loader
    for fail in (False, True):
        runner = make_runner(str(tmp_path / f'bg{fail}'), max_iters=2)
        runner.logger = run_logger(tmp_path / f'bg{fail}.log')
        loaders = [tiny_loader()] if not fail else [None]          # a None loader makes the run fail at once
        bg = BackgroundTraining(runner, loaders, [('train', 1)], on_end=lambda lg=runner.logger: close_logger(lg))
        bg.thread.join(60)
        assert not bg.thread.is_alive() and bg.state == ('failed' if fail else 'finished'), bg.state
        assert runner.logger.handlers == [], f'the run logger still has handlers after a {"failed" if fail else "finished"} run'
