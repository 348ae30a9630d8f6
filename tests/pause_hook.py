"""A hook that stops its process dead after one iteration so a test can SIGKILL it at a known point (no race with the
next checkpoint): imported through custom_imports by tests/configs/tiny_pspnet_pause.py."""
import os, sys, time
from segnb.registry import HOOKS
from segnb.runner.hooks import Hook

@HOOKS.register_module()
class PauseAtIterHook(Hook):
    "After iteration `SEGNB_TEST_PAUSE_AT` (unset: never) print `PAUSED at iter N` and sleep until killed."
    def after_train_iter(self, runner):
        if str(runner.iter + 1) != os.environ.get('SEGNB_TEST_PAUSE_AT'): return
        print(f'PAUSED at iter {runner.iter + 1}', file=sys.stderr, flush=True)
        time.sleep(600)
