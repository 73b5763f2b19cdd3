"""Running a generation off Blender's main thread.

bpy must only be touched from the main thread, and torch releases the GIL while it computes, so
the generator runs in a worker thread and the main thread stays free to draw and to take a Cancel.
The worker only fills in plain attributes (progress, result, error); the operator's modal timer
reads them on the main thread and writes the images. In background mode there is no event loop,
so callers run the same work with `run_now` instead.

No bpy here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Work = Callable[[Callable[[float], None], Callable[[], bool]], object]


class Job:
    """One piece of work in a daemon thread, with progress and cooperative cancel."""

    def __init__(self, work: Work) -> None:
        self.progress = 0.0
        self.result: object = None
        self.error: BaseException | None = None
        self._work = work
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ganart-generate", daemon=True)

    def start(self) -> "Job":
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive() and self._thread.ident is not None

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return self.done

    def _set_progress(self, fraction: float) -> None:
        self.progress = min(1.0, max(0.0, float(fraction)))

    def _run(self) -> None:
        try:
            self.result = self._work(self._set_progress, self._cancel.is_set)
        except Exception as exc:  # noqa: BLE001 - any failure, Cancelled included, goes to the main thread
            self.error = exc


def run_now(work: Work) -> object:
    """The same work, synchronously (background mode, scripts): errors propagate as raised."""
    return work(lambda _fraction: None, lambda: False)


class _Registry:
    """The job the panel shows; one at a time, so a second Generate press is refused."""

    def __init__(self) -> None:
        self.job: Job | None = None

    def running(self) -> Job | None:
        return self.job if self.job is not None and not self.job.done else None


ACTIVE = _Registry()
