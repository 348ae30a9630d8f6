"""A hook that kills its own process on one rank at one iteration: the dying-rank test imports it via custom_imports."""
import os
from segnb.registry import HOOKS
from segnb.runner.hooks import Hook

@HOOKS.register_module()
class DieAtIterHook(Hook):
    "`os._exit(3)` on rank `rank` after iteration `at_iter` (no cleanup, like a crash or an OOM kill)."
    def __init__(self, rank=1, at_iter=2): self.rank, self.at_iter = rank, at_iter
    def after_train_iter(self, runner):
        if runner.rank == self.rank and runner.iter + 1 == self.at_iter: os._exit(3)
