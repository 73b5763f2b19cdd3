"""Finding PyTorch from inside Blender, where it is usually not installed.

Blender ships its own Python without PyTorch, and Linux distributions' Blender runs on the system
Python. Either way, PyTorch can live in another environment of the same Python version; adding that
environment's site-packages folder to `sys.path` makes it importable. PyTorch is optional: without
it the NumPy runtime generates (runtime.py), and the preferences say how to add PyTorch for speed
and GPUs.
No bpy here, so the checks are testable in a plain Python.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

from .errors import GanArtError


class TorchMissingError(GanArtError):
    """PyTorch cannot be imported by the Python that runs the add-on."""


class PackagesFolderError(GanArtError):
    """The extra packages folder from the preferences is not usable."""


def packages_folder(folder: str | os.PathLike) -> Path | None:
    """The extra site-packages folder as an absolute path, checked but not added; '' means none.

    Changes nothing, so the preferences can call it while drawing.
    """
    text = str(folder).strip()
    if not text:
        return None
    path = Path(os.path.expanduser(text)).resolve()
    if not path.is_dir():
        raise PackagesFolderError(f"Extra packages folder not found: {path}")
    return path


def add_packages_folder(folder: str | os.PathLike) -> Path | None:
    """Appends an extra site-packages folder to sys.path (once); '' means none.

    Appended, not prepended: such a folder may hold its own copy of modules Blender already
    provides (the `bpy` wheel, for instance), and Blender's must win.
    """
    path = packages_folder(folder)
    if path is not None and str(path) not in sys.path:
        sys.path.append(str(path))
        importlib.invalidate_caches()
    return path


def install_hint() -> str:
    """One line telling the user how to get PyTorch into the Python that runs this code."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return (
        f"PyTorch is not installed for this Python {version}. Install it with "
        f"'{sys.executable} -m pip install torch', or install it into any Python {version} "
        f"environment and set that environment's site-packages folder as 'Extra packages folder' "
        f"in the GAN Art add-on preferences."
    )


def require_torch() -> None:
    """Imports torch or raises TorchMissingError with install instructions."""
    try:
        torch = importlib.import_module("torch")
    except ImportError as exc:
        raise TorchMissingError(f"{install_hint()} ({exc})") from None
    _make_blender_exit_safe(torch)


def torch_installed() -> bool:
    """Whether a `torch` package can be found, without importing it (so a redraw may ask)."""
    return importlib.util.find_spec("torch") is not None


def torch_available() -> bool:
    try:
        require_torch()
    except TorchMissingError:
        return False
    return True


def _make_blender_exit_safe(torch) -> None:
    """Two things PyTorch's import leaves behind that break Blender 3.x when it quits.

    Blender disables every module in sys.modules whose `__addon_enabled__` is truthy:
    - `torch.ops` and `torch.classes` answer any attribute with a new namespace object, so Blender
      mistakes them for add-ons and prints tracebacks; saying False stops that.
    - importing multiprocessing aliases `__mp_main__` to the `__main__` of the moment, which in
      Blender is the temporary module of a running script; Blender frees it, and touching it at
      exit crashes Blender (segmentation fault). Only spawned child processes need the alias, and
      they set their own, so it is dropped inside Blender.
    """
    for name in ("ops", "classes"):
        namespace = getattr(torch, name, None)
        if namespace is not None:
            try:
                setattr(namespace, "__addon_enabled__", False)
            except (AttributeError, TypeError):
                pass  # a torch whose namespaces refuse attributes is not affected by the problem
    if "bpy" in sys.modules and sys.modules.get("__mp_main__") is not None:
        if getattr(sys.modules["__mp_main__"], "__name__", "") == "__main__":
            del sys.modules["__mp_main__"]
