"""Checkpoints as plain data (state dicts, RNG states, config dict), written atomically.

A checkpoint is read back with `torch.load(weights_only=True)`, so it holds only tensors and
Python containers of numbers and strings: no pickled classes. It is written atomically
(trainer/atomic.py), so a kill at any moment leaves either the old or the new checkpoint, never
half of one. What the payload holds is trainer/state.py's business.
"""

from __future__ import annotations

import pickle
import random
import zipfile
from pathlib import Path

import numpy as np
import torch

from blender_ganart.core.errors import reason

from .atomic import write_atomically
from .errors import CheckpointError

FORMAT_NAME = "ganart.trainer.checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(path: Path, payload: dict) -> None:
    payload = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **payload}
    try:
        write_atomically(path, lambda handle: torch.save(payload, handle))
    except (OSError, RuntimeError) as exc:  # a full disk surfaces as either, depending on where it hits
        raise CheckpointError(f"could not write the checkpoint {path} ({reason(exc)}); the previous "
                              f"checkpoint is untouched") from None


def load_checkpoint(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; was the run started with this --out folder?")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # Not torch's advice to load with weights_only=False: that would run whatever the file holds.
        raise CheckpointError(f"the checkpoint {path} was refused: it holds objects other than tensors and "
                              f"plain data, which a trainer checkpoint never does") from None
    except (EOFError, zipfile.BadZipFile, RuntimeError, OSError, ValueError) as exc:
        raise CheckpointError(f"the checkpoint {path} is damaged or not a trainer checkpoint "
                              f"({reason(exc)})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path} is not a trainer checkpoint")
    if payload.get("version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint version {payload.get('version')!r}; this trainer reads {FORMAT_VERSION}")
    return payload


def rng_state() -> dict:
    """Every global RNG the run draws from (the crop sampler's own RNG is saved beside it)."""
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), *rest))
    random.setstate(_as_tuples(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuples(value):
    if isinstance(value, list):
        return tuple(_as_tuples(v) for v in value)
    if isinstance(value, tuple):
        return tuple(_as_tuples(v) for v in value)
    return value
