"""`log_records(logger)`: the messages a logger emits inside a `with` block, read from a handler of our own, so the
result does not depend on propagation, pytest's caplog (which changed between pytest 8 and 9) or other handlers."""
import contextlib, logging


class _Records(logging.Handler):
    def __init__(self): super().__init__(logging.DEBUG); self.messages = []
    def emit(self, record): self.messages.append((record.levelname, record.getMessage()))


@contextlib.contextmanager
def log_records(logger, level=logging.INFO):
    "Yield a list that fills with (levelname, message) for each record `logger` emits at `level` or above."
    seen, old = _Records(), logger.level
    logger.addHandler(seen); logger.setLevel(level)
    try: yield seen.messages
    finally: logger.removeHandler(seen); logger.setLevel(old)
