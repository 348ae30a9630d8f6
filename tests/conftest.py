"""Shared pytest setup: each test starts from the same process state, the order can be reversed or shuffled, and in
CI a test may only skip when it needs a GPU.

- Every test starts with Python's default Ctrl-C handler (even when pytest itself was started with SIGINT ignored,
  as under `nohup` or `&` in a script) and in the working directory pytest started in; the `segnb` loggers get back
  their handlers, level and propagation afterwards. No test sees what another left behind.
- `SEGNB_TEST_ORDER=reverse` runs the collected tests in reverse order; `SEGNB_TEST_ORDER=random` shuffles them
  with the seed `SEGNB_TEST_SEED` (printed in the header). Use either with `-p no:randomly` if that plugin is installed.
- With `CI=true` (or `SEGNB_CI_NO_SKIPS=1`) a test that skips for any reason other than a missing GPU fails the run,
  and the summary lists each one with its reason.
"""
import logging, os, random, re, signal
import pytest

ORDER = os.environ.get('SEGNB_TEST_ORDER', '')
SEED = int(os.environ.get('SEGNB_TEST_SEED', random.randrange(10**6)))
NO_SKIPS = os.environ.get('CI', '').lower() in ('1', 'true', 'yes') or bool(os.environ.get('SEGNB_CI_NO_SKIPS'))
GPU_REASON = re.compile(r'\b(cuda|gpu|gpus)\b', re.I)


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: takes more than a few seconds (run in CI; deselect with -m "not slow")')
    config.addinivalue_line('markers', 'gpu: needs a CUDA device; the only tests allowed to skip in CI')
    config._segnb_bad_skips = []


def pytest_report_header(config):
    lines = [f'segnb test order: {ORDER} (SEGNB_TEST_SEED={SEED})'] if ORDER else []
    if NO_SKIPS: lines.append('segnb skip budget: only GPU tests may skip (CI / SEGNB_CI_NO_SKIPS)')
    return lines


def pytest_collection_modifyitems(config, items):
    if ORDER == 'reverse': items.reverse()
    elif ORDER == 'random': random.Random(SEED).shuffle(items)
    elif ORDER: raise pytest.UsageError(f'SEGNB_TEST_ORDER={ORDER!r}: use reverse or random (or leave it unset)')

# --- the same process state for every test --------------------------------------------------------------------------

def _segnb_loggers():
    names = [n for n in logging.root.manager.loggerDict if n == 'segnb' or n.startswith('segnb.')]
    return [logging.getLogger(n) for n in names]


@pytest.fixture(autouse=True)
def _clean_process_state():
    "Default Ctrl-C handler and pytest's cwd for the test; the segnb loggers' handlers, level and propagation back after."
    sigint, cwd = signal.getsignal(signal.SIGINT), os.getcwd()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    saved = {lg.name: (list(lg.handlers), lg.level, lg.propagate) for lg in _segnb_loggers()}
    try: yield
    finally:
        signal.signal(signal.SIGINT, sigint)
        os.chdir(cwd)
        for lg in _segnb_loggers():
            handlers, level, propagate = saved.get(lg.name, ([], logging.NOTSET, True))
            for h in lg.handlers:
                if h not in handlers: lg.removeHandler(h); h.close()
            for h in handlers:
                if h not in lg.handlers: lg.addHandler(h)
            lg.setLevel(level); lg.propagate = propagate

# --- the skipped-test budget ----------------------------------------------------------------------------------------

def _is_gpu_skip(item, reason):
    return item is not None and (item.get_closest_marker('gpu') or item.get_closest_marker('cuda')) or bool(GPU_REASON.search(reason))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if NO_SKIPS and rep.skipped and not hasattr(rep, 'wasxfail'):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        if not _is_gpu_skip(item, reason): item.config._segnb_bad_skips.append((item.nodeid, reason))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    bad = getattr(config, '_segnb_bad_skips', [])
    if not bad: return
    tr = terminalreporter
    tr.section('skipped-test budget', red=True)
    tr.line(f'{len(bad)} test(s) skipped in CI for a reason other than a missing GPU; give CI what they need:')
    for nodeid, reason in bad: tr.line(f'  {nodeid}: {reason}', red=True)


def pytest_sessionfinish(session, exitstatus):
    if getattr(session.config, '_segnb_bad_skips', []) and exitstatus == 0: session.exitstatus = 1
