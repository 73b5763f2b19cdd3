"""The generator file: weights, architecture config and model card in one file that cannot run code.

The file is a `torch.save` of plain data (dicts, lists, strings, numbers, tensors) and is read
with `torch.load(weights_only=True)`, whose unpickler refuses anything but those types, so a
crafted pickle cannot execute. Everything read is then checked before a network is built, and
every problem surfaces as one exception type with a sentence a user can act on.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .errors import ModelFileError
from .network import Generator, GeneratorConfig

FORMAT_NAME = "blender_ganart.generator"
FORMAT_VERSION = 1
MODEL_SUFFIX = ".ganart.pt"


@dataclass
class ModelCard:
    """What a user needs to know about a model before using its textures."""

    name: str = "Untitled"
    description: str = ""
    training_data: str = ""
    data_license: str = ""
    channels: tuple[str, ...] = ("R", "G", "B")
    native_size: int = 128  # the training crop size in pixels
    training_steps: int = 0
    training_command: str = ""
    # Source pixels per generated pixel the model was trained at: 1.0 = the data's own resolution,
    # 2.5 = one texture pixel covers 2.5 source pixels (the data was downscaled). 0 = not recorded.
    texel_density: float = 0.0

    def texel_note(self) -> str:
        """What one generated pixel covers, for the panel: an artist sizes textures by it."""
        if not self.texel_density > 0:
            return "Texel density: not recorded"
        if abs(self.texel_density - 1.0) < 0.05:
            return "Texel density: 1:1 with its source textures"
        return f"Texel density: 1 px = {self.texel_density:.1f} source px"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["channels"] = list(self.channels)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ModelCard":
        known = {f.name for f in cls.__dataclass_fields__.values()}
        card = cls(**{k: v for k, v in data.items() if k in known})
        card.channels = tuple(card.channels)
        return card


@dataclass
class LoadedModel:
    """A ready-to-run generator with the card and path it came from."""

    generator: Generator
    card: ModelCard
    path: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def config(self) -> GeneratorConfig:
        return self.generator.config


def save_model(
    path: str | os.PathLike, generator: Generator, card: ModelCard, half: bool = True
) -> None:
    """Writes atomically: a crash mid-write never leaves a half file under the final name.

    half=True stores the weights as float16, halving the file (the bundled models must stay
    small); they are widened back to float32 on load, so the file alone decides the pixels.
    """
    if len(card.channels) != generator.config.out_channels:
        raise ValueError("the model card names a different number of channels than the network has")
    payload = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "config": generator.config.to_dict(),
        "card": card.to_dict(),
        "state_dict": {
            k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu()).contiguous()
            for k, v in generator.state_dict().items()
        },
    }
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_model(path: str | os.PathLike) -> LoadedModel:
    """Reads and validates a model file; raises ModelFileError with a plain-language message."""
    path = Path(path)
    payload = _read_payload(path)
    where = f"'{path.name}'"
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{where} is not a blender_ganart model file (wrong format name).")
    version = payload.get("version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{where} has model format version {version!r}; this add-on reads version "
            f"{FORMAT_VERSION}. Update the add-on or re-export the model."
        )
    try:
        config = GeneratorConfig.from_dict(dict(payload["config"]))
        card = ModelCard.from_dict(dict(payload.get("card") or {}))
        state = payload["state_dict"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{where} has a damaged architecture description: {exc}") from None
    if len(card.channels) != config.out_channels:
        raise ModelFileError(f"{where}: the model card's channels do not match the network's outputs.")
    generator = Generator(config)
    _check_state(where, generator, state)
    generator.load_state_dict({k: v.float() for k, v in state.items()})
    generator.eval().requires_grad_(False)
    return LoadedModel(generator=generator, card=card, path=path)


def _read_payload(path: Path) -> object:
    if not path.exists():
        raise ModelFileError(f"Model file not found: {path}")
    if not path.is_file():
        raise ModelFileError(f"Model path is not a file: {path}")
    if path.stat().st_size == 0:
        raise ModelFileError(f"'{path.name}' is empty (0 bytes); it is not a model file.")
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(b"PK"):
        if not zipfile.is_zipfile(path):
            raise ModelFileError(f"'{path.name}' is truncated or damaged (its archive index is missing).")
    elif not head.startswith(b"\x80"):  # neither torch's zip container nor a pickle
        raise ModelFileError(f"'{path.name}' is not a model file (it is some other kind of file).")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # weights_only refused a global: the file wants to build objects or call code.
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        what = f" ({found.group(1)})" if found else ""
        raise ModelFileError(
            f"'{path.name}' was refused: it asks to run code or build objects{what}, which a model "
            f"file must never do, so nothing from it was run."
        ) from None
    except (EOFError, zipfile.BadZipFile) as exc:
        raise ModelFileError(f"'{path.name}' is truncated or damaged ({_first_line(exc)}).") from None
    except (RuntimeError, OSError, ValueError, TypeError, AttributeError, ImportError) as exc:
        raise ModelFileError(
            f"'{path.name}' is damaged or not a model file ({_first_line(exc)})."
        ) from None


def _check_state(where: str, generator: Generator, state: object) -> None:
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelFileError(f"{where} has no valid weight tensors.")
    expected = generator.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ModelFileError(
            f"{where}: weights do not match its architecture "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})."
        )
    for name, tensor in expected.items():
        got = state[name]
        if got.shape != tensor.shape:
            raise ModelFileError(
                f"{where}: weight '{name}' has shape {tuple(got.shape)}, the architecture needs "
                f"{tuple(tensor.shape)}."
            )
        if not got.dtype.is_floating_point or not torch.isfinite(got).all():
            raise ModelFileError(f"{where}: weight '{name}' is not finite floating-point data.")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
