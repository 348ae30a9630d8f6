"""Kill-and-resume soak: `segnb train` is SIGKILLed at seeded random moments (mid-iteration, mid-checkpoint write),
resumed with `--auto-resume` each time, and must end with the uninterrupted run's weights, bit for bit, with
`workers_per_gpu=0` and with `workers_per_gpu=2` (each sample's augmentation is drawn from (seed, epoch, index),
see nbs/29a_data.loader.ipynb). The tiny config with a random flip; a checkpoint every iteration."""
import random, subprocess, time
import pytest, torch
from tiny_data import make_tiny_dataset, train_cmd, segnb_env

MAX, KILLS = 40, 5   # an iteration of the tiny config takes ~0.02 s on an idle CPU: 5 kills use at most ~30

@pytest.fixture(scope='module')
def data(tmp_path_factory): return make_tiny_dataset(tmp_path_factory.mktemp('tiny'))

def soak_cmd(work, data, workers, *extra):
    return train_cmd(work, data, '--no-validate', *extra, options=[
        f'runner.max_iters={MAX}', 'checkpoint_config.interval=1', 'checkpoint_config.max_keep_ckpts=2',
        'data.train.pipeline.2.prob=0.5', f'data.workers_per_gpu={workers}', 'data.samples_per_gpu=2'])

def final_weights(work):
    ckpt = torch.load(work/f'iter_{MAX}.pth', weights_only=True)
    assert ckpt['meta']['iter'] == MAX
    return ckpt['state_dict']

def kill_at_a_random_moment(cmd, rng):
    """Start `cmd`, wait until it logs a random number (1-3) of iterations, then a random 0-0.05 s more (up to a few
    iterations: mid-step or mid-checkpoint), and SIGKILL it."""
    p = subprocess.Popen(cmd, env=segnb_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wanted, seen, out = rng.randint(1, 3), 0, ''
    for line in p.stdout:
        out += line
        seen += f'/{MAX}]' in line and 'Iter [' in line
        if seen >= wanted: break
    time.sleep(rng.uniform(0, 0.05))
    p.kill(); p.wait(timeout=60)
    return out

@pytest.mark.slow
@pytest.mark.parametrize('workers', [0, 2])
def test_kill_and_resume_gives_the_uninterrupted_weights(data, tmp_path, workers):
    ref, soaked, rng = tmp_path/'ref', tmp_path/'soaked', random.Random(workers)
    subprocess.run(soak_cmd(ref, data, workers), env=segnb_env(), check=True, capture_output=True, timeout=300)
    kills = 0
    while kills < KILLS:
        out = kill_at_a_random_moment(soak_cmd(soaked, data, workers, '--auto-resume'), rng)
        assert 'Traceback' not in out, out[-3000:]
        kills += 1
        if f'Iter [{MAX}/{MAX}]' in out: break           # it finished before the kill: nothing left to soak
    assert kills == KILLS, f'the run finished after {kills} kills; make MAX larger'
    r = subprocess.run(soak_cmd(soaked, data, workers, '--auto-resume'), env=segnb_env(), capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and 'resumed from' in r.stderr, r.stderr[-3000:]
    want, got = final_weights(ref), final_weights(soaked)
    assert list(want) == list(got)
    differ = [k for k in want if not torch.equal(want[k], got[k])]
    assert not differ, f'{len(differ)} tensors differ after {KILLS} kills, e.g. {differ[:3]}'
