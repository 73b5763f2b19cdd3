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


NODE_ROW = 20.0  # Blender's NODE_DY at UI scale 1: a node's header and each socket row are at least this tall


def node_box(x: float, y: float, width: float, drawn: tuple[float, float] = (0.0, 0.0), ui_scale: float = 1.0,
             rows: int = 0) -> tuple[float, float, float, float]:
    """A node's box (left, bottom, right, top) in the node editor's coordinates (y up; a node's
    location is its top-left corner).

    Once a window has drawn the node, its real size: node.dimensions, which Blender gives in
    screen units (the node's size times the UI scale). Before any drawing (background mode, where
    node.dimensions is (0, 0)), what is real there: its width (node.width) and the least height it
    can be drawn at, a header and `rows` rows of sockets; buttons and panels only add to that.
    """
    if drawn[0] > 0 and drawn[1] > 0:
        width, height = drawn[0] / ui_scale, drawn[1] / ui_scale
    else:
        height = NODE_ROW * (1 + rows)
    return (x, y - height, x + width, y)


def overlapping(boxes: dict[str, tuple[float, float, float, float]]) -> list[tuple[str, str]]:
    """The pairs of names whose boxes share any area (touching edges do not count)."""
    names = sorted(boxes)
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1:]
            if boxes[a][0] < boxes[b][2] and boxes[b][0] < boxes[a][2]
            and boxes[a][1] < boxes[b][3] and boxes[b][1] < boxes[a][3]]


def with_active_noise(generator):
    """A new generator's noise and plane-wave strengths are zero; tests give them values, so the
    pixel noise and the waves show in the output and every property tested must hold with them."""
    import torch

    with torch.no_grad():
        for name, param in generator.named_parameters():
            if name.endswith(("noise_weight", "periodic_weight")):
                param.normal_(0.0, 0.5)
    return generator
