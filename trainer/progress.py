"""The progress display for long runs: step, steps/s, images/s, losses, elapsed time and ETA.

tqdm draws it (rate, ETA and their smoothing are its own). On a terminal the bar redraws in place
and a note (a metrics line) is printed above it without garbling it. In a log file (not a TTY)
carriage-return redraws would pile up on one line, so there each update becomes one plain line,
every 5 % of the steps or every minute, whichever comes first. Only the main process shows it.
"""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

_LOG_EVERY_S = 60.0
_LOG_FORMAT = "{desc} {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


class _Bar(tqdm):
    """tqdm without its monitor thread: the bar is updated from the loop, once a step."""

    monitor_interval = 0


class _LogLines:
    """A log file as tqdm's output: each redraw becomes one line without carriage returns."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.last_write = time.monotonic()

    def write(self, text: str) -> None:
        text = text.replace("\r", "").rstrip()
        if text:  # tqdm clears a line by writing spaces: nothing to log
            self.stream.write(text + "\n")
            self.last_write = time.monotonic()

    def flush(self) -> None:
        self.stream.flush()


class ProgressLine:
    def __init__(self, total: int, start: int = 0, enabled: bool = True, stream=None):
        stream = stream or sys.stderr
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.log = None if self.tty else _LogLines(stream)
        # In a log: a line every 5 % of the steps, no bar; closing adds nothing (the last line is there).
        options = dict(mininterval=0.1) if self.tty else dict(
            mininterval=0, miniters=max(1, (total - start) // 20), bar_format=_LOG_FORMAT, leave=False)
        self.bar = _Bar(total=total, initial=start, desc="step", unit="step", file=self.log or stream,
                        disable=not enabled, dynamic_ncols=True, **options)

    def update(self, step: int, images_per_s: float, d_loss: float, g_loss: float) -> None:
        if self.bar.disable:
            return
        self.bar.set_postfix_str(f"{images_per_s:.1f} img/s, D {d_loss:.4f}, G {g_loss:.4f}", refresh=False)
        shown = self.bar.update(step - self.bar.n)
        if self.log and not shown and (step == self.bar.total or time.monotonic() - self.log.last_write > _LOG_EVERY_S):
            self.bar.refresh()

    def note(self, message: str) -> None:
        """A message on its own line that does not garble the progress bar."""
        if self.bar.disable:
            return
        if self.log:
            self.log.write(message)
        else:
            self.bar.write(message, file=self.bar.fp)

    def close(self) -> None:
        self.bar.close()
