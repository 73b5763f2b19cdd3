"""Writing a file so that a kill or a full disk at any moment leaves either the old file or the
new one, never half of one: write a temporary file beside it, flush it to the disk, rename it
over the old one in one `os.replace`. Every file the trainer writes goes through here."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO


def write_atomically(path: str | Path, write: Callable[[IO[bytes]], object]) -> None:
    """Calls `write(handle)` on `path`.tmp, fsyncs it and moves it over `path`.

    On any error the temporary file is removed and the error raised again; `path` is untouched.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomically(path: str | Path, text: str) -> None:
    write_atomically(path, lambda handle: handle.write(text.encode("utf-8")))
