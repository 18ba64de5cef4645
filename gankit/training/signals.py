"""Stopping cleanly on SIGINT/SIGTERM: a checkpoint at the next step boundary, on every process."""
import contextlib
import signal

import torch

STOP_SYNC_EVERY = 5  # steps between the (tiny) collectives that let all processes agree to stop


class StopFlag:
    """SIGINT/SIGTERM ask for a checkpoint at the next step boundary; a second Ctrl-C exits at once."""

    def __init__(self):
        self.requested = None

    def agreed(self, acc, step: int) -> str | None:
        """The signal that stops the run, decided jointly: a signal seen by any process stops them all
        at the same step (one small all-reduce every STOP_SYNC_EVERY steps, none with one process)."""
        if acc.num_processes == 1:
            return self.requested
        if step % STOP_SYNC_EVERY:
            return None
        code = {None: 0, "SIGINT": 2, "SIGTERM": 15}.get(self.requested, 15)
        code = int(acc.gather(torch.tensor([code], device=acc.device)).max().item())
        return signal.Signals(code).name if code else None

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def installed(self):
        @contextlib.contextmanager
        def ctx():
            try:
                old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
            except ValueError:  # not the main thread: leave signals alone
                old = {}
            try:
                yield self
            finally:
                for s, h in old.items():
                    signal.signal(s, h)

        return ctx()
