"""Fault injection on `segnb train` (tiny config, CPU, deterministic): SIGKILL at an arbitrary iteration then
`--resume-from latest.pth` reproduces the uninterrupted run's losses exactly; dying half-way through a checkpoint
write never leaves a truncated latest.pth; `--load-from` loads weights only."""
import os, random, subprocess, time
import pytest, torch
from tiny_data import make_tiny_dataset, train_cmd, segnb_env, losses

MAX = 8
CRASH = os.path.join(os.path.dirname(__file__), 'configs', 'tiny_pspnet_crash.py')
PAUSE = os.path.join(os.path.dirname(__file__), 'configs', 'tiny_pspnet_pause.py')
SEED = int(os.environ.get('SEGNB_TEST_SEED', 0))     # the kill point is random but reproducible

@pytest.fixture(scope='module')
def data(tmp_path_factory): return make_tiny_dataset(tmp_path_factory.mktemp('tiny'))

@pytest.fixture(scope='module')
def reference(data, tmp_path_factory):
    work = tmp_path_factory.mktemp('ref') / 'run'
    subprocess.run(train_cmd(work, data, '--no-validate', options=['checkpoint_config.interval=2']), env=segnb_env(),
                   check=True, capture_output=True, timeout=300)
    ref = losses(work)
    assert sorted(ref) == list(range(1, MAX + 1))
    return ref

def _kill_after_iter(cmd, n):
    "Run `cmd` (the pausing config), SIGKILL it while it sleeps after iteration `n`; its output."
    p = subprocess.Popen(cmd, env=segnb_env(SEGNB_TEST_PAUSE_AT=str(n)), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = ''
    for line in p.stdout:
        out += line
        if f'PAUSED at iter {n}' in line: break       # after iter n's checkpoint and log; iter n + 1 never starts
    p.kill(); p.wait(timeout=60)
    assert f'PAUSED at iter {n}' in out, out[-2000:]
    return out

def test_sigkill_then_resume_matches_uninterrupted(data, reference, tmp_path):
    work, kill_at = tmp_path / 'run', random.Random(SEED).randint(3, MAX - 1)   # an iteration after the first checkpoint
    _kill_after_iter(train_cmd(work, data, '--no-validate', options=['checkpoint_config.interval=2'], config=PAUSE), kill_at)
    saved = torch.load(work / 'latest.pth', weights_only=True)['meta']['iter']
    assert saved == kill_at // 2 * 2, f'killed after iter {kill_at} (SEGNB_TEST_SEED={SEED}), latest.pth holds iter {saved}'
    time.sleep(1)   # a new log timestamp
    r = subprocess.run(train_cmd(work, data, '--no-validate', '--resume-from', str(work / 'latest.pth'),
                                 options=['checkpoint_config.interval=2']), env=segnb_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f'resumed from {work / "latest.pth"}: iter {saved}' in r.stderr and 'RNG state' in r.stderr
    after = {i: l for i, l in losses(work).items() if i > saved}
    assert after == {i: reference[i] for i in range(saved + 1, MAX + 1)}, (kill_at, saved)

def test_auto_resume_finds_latest_in_the_work_dir(data, reference, tmp_path):
    "`--auto-resume` after a SIGKILL: no path given, the run continues from the work dir's latest.pth, exactly."
    work = tmp_path / 'run'
    _kill_after_iter(train_cmd(work, data, '--no-validate', options=['checkpoint_config.interval=2'], config=PAUSE), 5)
    time.sleep(1)   # a new log timestamp
    r = subprocess.run(train_cmd(work, data, '--no-validate', '--auto-resume', options=['checkpoint_config.interval=2']),
                       env=segnb_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f'resumed from {work / "latest.pth"}: iter 4' in r.stderr or f'resumed from {work / "iter_4.pth"}: iter 4' in r.stderr, r.stderr[-2000:]
    assert {i: l for i, l in losses(work).items() if i > 4} == {i: reference[i] for i in range(5, MAX + 1)}

def test_auto_resume_in_an_empty_work_dir_starts_from_scratch(data, reference, tmp_path):
    r = subprocess.run(train_cmd(tmp_path / 'run', data, '--no-validate', '--auto-resume', options=['checkpoint_config.interval=2']),
                       env=segnb_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and 'resumed from' not in r.stderr, r.stderr[-2000:]
    assert losses(tmp_path / 'run') == reference

def test_death_while_writing_a_checkpoint_keeps_the_previous_latest(data, tmp_path):
    "The process dies with iter_4.pth half written (tests/crash_save.py): latest.pth is still the whole iter_2.pth."
    work = tmp_path / 'run'
    r = subprocess.run(train_cmd(work, data, '--no-validate', config=CRASH), env=segnb_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 9 and 'Saving checkpoint at 4 iterations' in r.stderr, r.stderr[-2000:]
    assert not (work / 'iter_4.pth').exists()
    assert torch.load(work / 'latest.pth', weights_only=True)['meta']['iter'] == 2     # loads: not truncated
    assert [f for f in os.listdir(work) if f.endswith('.tmp')]                           # the half-written temp file

def test_load_from_loads_weights_only(data, reference, tmp_path):
    src = tmp_path / 'src'
    subprocess.run(train_cmd(src, data, '--no-validate', options=['runner.max_iters=2', 'checkpoint_config.interval=2']),
                   env=segnb_env(), check=True, capture_output=True, timeout=300)
    r = subprocess.run(train_cmd(tmp_path / 'dst', data, '--no-validate', '--load-from', str(src / 'latest.pth'),
                                 options=['runner.max_iters=2', 'checkpoint_config.interval=2']),
                       env=segnb_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    log = losses(tmp_path / 'dst')
    assert sorted(log) == [1, 2]                      # the iteration count starts again at 1
    assert log[1] != reference[1]                     # but from the loaded weights, not from scratch
    assert 'resumed from' not in r.stderr
