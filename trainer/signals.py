"""Ctrl-C and SIGTERM as a request to stop: the loop checks it after each step, then checkpoints."""

from __future__ import annotations

import signal
from contextlib import contextmanager


class StopRequest:
    """Turns Ctrl-C / SIGTERM into a flag the loop checks after each step (then checkpoints)."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def _handle(self, signum, frame) -> None:  # noqa: ARG002 (signal handler signature)
        self.signal_name = signal.Signals(signum).name

    @contextmanager
    def installed(self):
        previous = {}
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread (e.g. called from a worker): no handlers
            pass
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
