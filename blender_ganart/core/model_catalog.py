"""Which generator files the user can choose from, and loading them once.

Bundled models (`blender_ganart/models/*.ganart.pt`) come first, then the user's models folder
from the add-on preferences. Listing reads each file's model card, so a file is loaded once and
kept while its size and modification time stay the same; a broken file is listed with its error
instead of hiding the whole list. No bpy here: the panel, the operators and the headless API all
go through this module, and it is tested in a plain Python.

Files are read by model_reader (NumPy only), so listing and generating need no PyTorch.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from .errors import GanArtError, ModelFileError
from .model_reader import MODEL_SUFFIX

BUNDLED_DIR = Path(__file__).resolve().parent.parent / "models"


@dataclass(frozen=True)
class ModelEntry:
    """One choosable model file. `card` is None when the file could not be read (see `error`)."""

    name: str
    path: Path
    card: object | None  # a model_reader.ModelCard
    bundled: bool
    error: str = ""

    @property
    def usable(self) -> bool:
        return self.card is not None


class ModelCache:
    """Loaded models and failed loads, keyed by file identity (path, size, modification time).

    Failures are kept too: the panel's draw, the model menu and the operator all list the models,
    and a file that takes seconds to refuse must not be read again on every redraw. Replacing the
    file (or Refresh Models) reads it again. Thread-safe because the worker thread loads too.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[Path, tuple[tuple[int, int], object]] = {}
        self._failed: dict[Path, tuple[tuple[int, int], str]] = {}

    def load(self, path: str | os.PathLike):
        """Returns a model_reader.ModelData; raises ModelFileError."""
        from .model_reader import read_model as load_model

        path = Path(path).expanduser().resolve()
        stamp = _stamp(path)
        with self._lock:
            cached = self._loaded.get(path)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            failed = self._failed.get(path)
            if failed is not None and failed[0] == stamp:
                raise ModelFileError(failed[1])
            try:
                model = load_model(path)
            except ModelFileError as exc:
                self._failed[path] = (stamp, str(exc))
                raise
            self._loaded[path] = (stamp, model)
            self._failed.pop(path, None)
            return model

    def clear(self) -> None:
        with self._lock:
            self._loaded.clear()
            self._failed.clear()


CACHE = ModelCache()


def model_files(folder: str | os.PathLike | None) -> list[Path]:
    """The model files directly in `folder`, sorted by name without the suffix (so `bricks` comes
    before its full-material `bricks-maps`, '-' sorting before '.'); none for a missing or unset folder."""
    if not folder:
        return []
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.name.endswith(MODEL_SUFFIX) and p.is_file()),
                  key=lambda p: p.name[: -len(MODEL_SUFFIX)].lower())


def list_models(user_folder: str | os.PathLike | None = None, cache: ModelCache = CACHE,
                bundled_folder: str | os.PathLike = BUNDLED_DIR) -> list[ModelEntry]:
    """Bundled models first, then the user's, each with its card (or the reason it has none)."""
    entries = []
    seen: set[Path] = set()
    for folder, bundled in ((bundled_folder, True), (user_folder, False)):
        for path in model_files(folder):
            resolved = path.resolve()
            if resolved in seen:  # the user pointed the models folder at the bundled one
                continue
            seen.add(resolved)
            entries.append(_entry(resolved, bundled, cache))
    return entries


def resolve_model(choice: str | os.PathLike | None, user_folder: str | os.PathLike | None = None,
                  cache: ModelCache = CACHE, bundled_folder: str | os.PathLike = BUNDLED_DIR) -> Path:
    """A catalog name, a file path or None (the first bundled model) → the model file's path.

    Raises ModelFileError naming what was asked for when nothing matches.
    """
    text = "" if choice is None else str(choice).strip()
    if not text:
        bundled = model_files(bundled_folder)
        if not bundled:
            raise ModelFileError(
                "No bundled model found; choose a model file or set a models folder in the "
                "add-on preferences."
            )
        return bundled[0].resolve()
    path = Path(text).expanduser()
    has_folder = os.sep in text or "/" in text
    if not has_folder:  # a name, or a bare file name in the bundled or models folder
        for folder in (bundled_folder, user_folder):
            if text.endswith(MODEL_SUFFIX) and folder and (Path(folder).expanduser() / text).is_file():
                return (Path(folder).expanduser() / text).resolve()
        for entry in list_models(user_folder, cache, bundled_folder):
            if text in (entry.name, entry.path.name[: -len(MODEL_SUFFIX)]):
                return entry.path
    if has_folder or text.endswith(MODEL_SUFFIX):
        if not path.exists():
            where = "" if has_folder else " (nor in the bundled models or the models folder)"
            raise ModelFileError(f"Model file not found: {path}{where}")
        return path.resolve()
    raise ModelFileError(f"No model named '{text}' in the bundled models or the models folder.")


def _entry(path: Path, bundled: bool, cache: ModelCache) -> ModelEntry:
    fallback = path.name[: -len(MODEL_SUFFIX)]
    try:
        model = cache.load(path)
    except GanArtError as exc:  # a damaged file, or no PyTorch: listed with the reason, not raised
        return ModelEntry(fallback, path, None, bundled, str(exc))
    return ModelEntry(model.card.name or fallback, path, model.card, bundled)


def _stamp(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError:
        raise ModelFileError(f"Model file not found: {path}") from None
    return info.st_mtime_ns, info.st_size
