"""Small helpers any test module may import (pytest puts tests/ on sys.path)."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout: blender_ganart/, trainer/, tests/, build.py


def cached_venv(name: str, base_python: str, requirements: list[str], timeout: int = 900) -> str:
    """The python of a plain venv with exactly `requirements` (pip), built once and kept.

    For tests that need a Python unlike this one (no torch; another NumPy or Python version).
    It lives in ~/.cache/blender_ganart/<name> (name it after what it holds, so a new pin gets a
    new venv); a file lock keeps parallel test runs from building it twice, and a marker written
    last means an interrupted build is thrown away and redone instead of being used half made.
    """
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "blender_ganart"
    cache.mkdir(parents=True, exist_ok=True)
    venv, done = cache / name, cache / f"{name}.complete"
    python = venv / "bin" / "python"
    with open(cache / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=120)
            built = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                                    *requirements], capture_output=True, text=True, timeout=timeout)
            if built.returncode != 0:
                raise RuntimeError(f"pip install {' '.join(requirements)} into {venv} failed:\n{built.stderr[-3000:]}")
            done.write_text(" ".join(requirements) + "\n")
    return str(python)
