"""tests/conftest.py's rules, checked on a scratch test folder run by a fresh pytest: in CI only GPU tests may skip
(the others are listed and fail the run), SEGNB_TEST_ORDER reverses or shuffles, and every test starts with the
default Ctrl-C handler even when pytest itself starts with SIGINT ignored (nohup, `&` in a script)."""
import os, shutil, signal, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))

SAMPLE = '''
import signal, pytest
def test_a(): pass
def test_b(): pytest.skip('set SOMETHING_ELSE to run this')
@pytest.mark.skipif(True, reason='needs a CUDA GPU')
def test_c(): pass
def test_d(): assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
'''


def run_sample(tmp_path, *args, ignore_sigint=False, **env):
    shutil.copy(os.path.join(HERE, 'conftest.py'), tmp_path / 'conftest.py')
    (tmp_path / 'test_sample.py').write_text(SAMPLE)
    env = {k: v for k, v in os.environ.items() if k not in ('CI', 'SEGNB_CI_NO_SKIPS', 'SEGNB_TEST_ORDER')} | env
    pre = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None
    return subprocess.run([sys.executable, '-m', 'pytest', '-v', '-p', 'no:cacheprovider', '-p', 'no:randomly', *args, 'test_sample.py'],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, preexec_fn=pre)


def test_outside_ci_skips_are_allowed(tmp_path):
    r = run_sample(tmp_path)
    assert r.returncode == 0 and '2 skipped' in r.stdout and 'skipped-test budget' not in r.stdout, r.stdout[-2000:]


def test_in_ci_a_non_gpu_skip_fails_and_is_listed(tmp_path):
    r = run_sample(tmp_path, CI='true')
    assert r.returncode == 1, r.stdout[-2000:]
    budget = r.stdout[r.stdout.index('skipped-test budget'):]
    assert 'test_sample.py::test_b: Skipped: set SOMETHING_ELSE to run this' in budget
    assert 'test_c' not in budget.split('short test summary')[0]          # the GPU skip is allowed
    assert run_sample(tmp_path, SEGNB_CI_NO_SKIPS='1').returncode == 1


def test_order_reverse_and_random(tmp_path):
    names = lambda r: [l.split('::')[1].split()[0] for l in r.stdout.splitlines() if l.startswith('test_sample.py::')]
    assert names(run_sample(tmp_path)) == ['test_a', 'test_b', 'test_c', 'test_d']
    assert names(run_sample(tmp_path, SEGNB_TEST_ORDER='reverse')) == ['test_d', 'test_c', 'test_b', 'test_a']
    shuffled = names(run_sample(tmp_path, SEGNB_TEST_ORDER='random', SEGNB_TEST_SEED='3'))
    assert sorted(shuffled) == ['test_a', 'test_b', 'test_c', 'test_d']
    assert names(run_sample(tmp_path, SEGNB_TEST_ORDER='random', SEGNB_TEST_SEED='3')) == shuffled   # the seed repeats it
    bad = run_sample(tmp_path, SEGNB_TEST_ORDER='backwards')
    assert bad.returncode != 0 and "SEGNB_TEST_ORDER='backwards': use reverse or random" in bad.stderr + bad.stdout


def test_default_ctrl_c_handler_even_when_started_with_sigint_ignored(tmp_path):
    r = run_sample(tmp_path, '-k', 'test_d', ignore_sigint=True)
    assert r.returncode == 0 and '1 passed' in r.stdout, r.stdout[-2000:]
