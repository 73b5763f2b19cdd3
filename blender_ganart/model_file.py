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
# Weights are widened to float32 on load; other dtypes (float8, complex, integers) and sparse
# layouts have no finite check or no conversion in every torch, so they are refused by name.
WEIGHT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
MAX_UNPACKED_BYTES = 2 * 2**30  # the default model is 4 MB; 2 GiB is far beyond any real one
UNPACK_RATIO = 2  # stored (uncompressed) entries unpack to their own size plus small headers


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
        """Raises ValueError naming the first field of the wrong type: a card is shown in menus and
        names images, so `{"name": 5}` must fail here, not later inside Blender."""
        known = {f.name for f in cls.__dataclass_fields__.values()}
        card = cls(**{k: v for k, v in data.items() if k in known})
        for name in ("name", "description", "training_data", "data_license", "training_command"):
            if not isinstance(getattr(card, name), str):
                raise ValueError(f"the card's {name} must be text, got {type(getattr(card, name)).__name__}")
        for name in ("native_size", "training_steps"):
            value = getattr(card, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"the card's {name} must be a whole number of 0 or more, got {value!r}")
        density = card.texel_density
        if isinstance(density, bool) or not isinstance(density, (int, float)) or not 0 <= density < 1e6:
            raise ValueError(f"the card's texel_density must be a number of 0 or more, got {density!r}")
        card.texel_density = float(density)
        if not isinstance(card.channels, (list, tuple)) or not all(isinstance(c, str) for c in card.channels):
            raise ValueError("the card's channels must be a list of channel names")
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
    """Writes atomically: a crash mid-write never leaves a half file under the final name, and a
    failed write leaves no temporary file (ModelFileError says why).

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
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:  # torch reports an unwritable file as a RuntimeError
        tmp.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else _first_line(exc)
        raise ModelFileError(f"Could not write the model file {path} ({reason}).") from None


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
        state = payload["state_dict"]
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ModelFileError(f"{where} has a damaged architecture description: {_first_line(exc)}") from None
    try:
        card = ModelCard.from_dict(dict(payload.get("card") or {}))
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{where} has a damaged model card: {_first_line(exc)}") from None
    if len(card.channels) != config.out_channels:
        raise ModelFileError(f"{where}: the model card's channels do not match the network's outputs.")
    # Shapes first, from a network on the meta device (no memory behind it): the real one is only
    # built once the stored tensors are known to fill it exactly, so a config asking for more
    # parameters than the file holds costs nothing.
    with torch.device("meta"):
        expected = Generator(config).state_dict()
    _check_state(where, expected, state)
    generator = Generator(config)
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
    if not head.startswith(b"PK"):
        # save_model writes torch's zip container; a bare pickle (torch's legacy format) would let
        # its header ask for any storage size before a byte of it is read, so it is refused too.
        raise ModelFileError(f"'{path.name}' is not a model file (it is some other kind of file).")
    _check_archive(path)
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
    except (RuntimeError, OSError, ValueError, TypeError, AttributeError, ImportError, NotImplementedError,
            IndexError, KeyError, OverflowError, MemoryError) as exc:
        raise ModelFileError(
            f"'{path.name}' is damaged or not a model file ({_first_line(exc)})."
        ) from None


def _check_archive(path: Path) -> None:
    """Refuses an archive whose entries unpack to far more than the file holds, before torch reads it.

    torch stores its entries uncompressed, so a real model unpacks to about its file size; a
    deflated entry of zeros (5 MB holding 2 GiB) would otherwise be inflated on every load.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ModelFileError(f"'{path.name}' is truncated or damaged ({_first_line(exc)}).") from None
    packed = path.stat().st_size
    if unpacked > min(MAX_UNPACKED_BYTES, UNPACK_RATIO * packed):
        raise ModelFileError(
            f"'{path.name}' was refused: its {packed / 2**20:.1f} MB archive unpacks to "
            f"{unpacked / 2**20:.0f} MB, which no model file does (a decompression bomb or a damaged file)."
        )


def _check_state(where: str, expected: dict, state: object) -> None:
    """Compares the stored tensors with the state dict `expected` (names → tensors, possibly meta)."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelFileError(f"{where} has no valid weight tensors.")
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
        if got.layout != torch.strided or got.dtype not in WEIGHT_DTYPES or not torch.isfinite(got).all():
            raise ModelFileError(
                f"{where}: weight '{name}' is not finite floating-point data ({str(got.dtype).replace('torch.', '')}"
                f"{'' if got.layout == torch.strided else ', ' + str(got.layout).replace('torch.', '')}; "
                f"a model file holds dense float16, bfloat16, float32 or float64 weights)."
            )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
