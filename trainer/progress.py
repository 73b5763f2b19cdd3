"""A one-line progress display for long runs: step, images/s, losses and ETA.

On a terminal the line redraws in place; in a log file (not a TTY) it prints a line every 5 %
of the steps or every minute instead, so logs stay readable. Only the main process shows it.

Not tqdm: it is not among the project's dependencies or on its machines, and in a log file it
writes carriage-return redraws or a line per `miniters` rather than one plain line per 5 %;
matching this line (losses in it, notes between updates) would take about as much code as this.
"""

from __future__ import annotations

import sys
import time


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class ProgressLine:
    def __init__(self, total: int, start: int = 0, enabled: bool = True, stream=None):
        self.total, self.start = total, start
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.monotonic()
        self.every = max(1, (total - start) // 20)
        self.last_text = ""
        self.last_print = self.t0

    def update(self, step: int, images_per_s: float, d_loss: float, g_loss: float) -> None:
        if not self.enabled:
            return
        done = step - self.start
        eta = (time.monotonic() - self.t0) / max(done, 1) * (self.total - step)
        text = (f"step {step}/{self.total} | {images_per_s:6.1f} img/s | D {d_loss:7.4f} | G {g_loss:7.4f} "
                f"| ETA {_duration(eta)}")
        if self.tty:
            self.stream.write("\r" + text.ljust(len(self.last_text)))
            self.stream.flush()
        elif done % self.every == 0 or step == self.total or time.monotonic() - self.last_print > 60:
            self.stream.write(text + "\n")
            self.stream.flush()
            self.last_print = time.monotonic()
        self.last_text = text

    def note(self, message: str) -> None:
        """A message on its own line that does not garble the progress line."""
        if not self.enabled:
            return
        prefix = "\n" if self.tty and self.last_text else ""
        self.stream.write(prefix + message + "\n")
        self.stream.flush()
        self.last_text = ""

    def close(self) -> None:
        if self.enabled and self.tty and self.last_text:
            self.stream.write("\n")
            self.stream.flush()
