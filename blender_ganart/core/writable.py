"""Can a new file be written in this folder? Asked before any work whose result would be lost.

Tried for real, with a temporary file removed at once: permission bits miss read-only mounts,
/proc and root's exemptions. No bpy, no torch: the add-on's Save PNG and the trainer's --out
folders both ask here.
"""

from __future__ import annotations

import tempfile
from pathlib import Path


def unwritable_reason(folder: str | Path) -> str:
    """'' when a file can be created in `folder` (or, if it does not exist yet, in the nearest
    existing folder above it, where it would be made); else why not, in a few words."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".ganart-check-"):
            pass
    except OSError as exc:
        return f"{existing} cannot be written ({exc.strerror or exc})"
    return ""
