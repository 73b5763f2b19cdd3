"""Reading generator files without PyTorch, and without letting them run code.

A model file is what `torch.save` writes (model_file.save_model): a zip archive holding one pickle
(`data.pkl`) of plain data and one raw entry per weight tensor (`data/<key>`). A pickle can name
any Python callable to build its objects, so it is read here by an unpickler that knows exactly
three names, none of which runs anything: `collections.OrderedDict`, torch's float storage types
(mere markers of a dtype) and `torch._utils._rebuild_tensor_v2` (replaced by a NumPy view of the
stored bytes, bounds-checked). Any other name is refused before it is looked up, so nothing from
the file is imported or called. Tensor bytes are read with their stated sizes checked against the
archive, which itself may not unpack to more than twice the file's size.

Both runtimes load through `read_model` (model_file.load_model builds the PyTorch network from its
result), so they apply the same checks and say the same one line when a file is refused.
No torch and no bpy here.
"""

from __future__ import annotations

import collections
import math
import os
import pickle
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .architecture import GeneratorConfig, parameter_shapes
from .errors import ModelFileError, first_line
from .model_maps import COLOUR_ONLY, MAP_CONVENTIONS, channel_count, check_map_names

FORMAT_NAME = "blender_ganart.generator"
FORMAT_VERSION = 1
MODEL_SUFFIX = ".ganart.pt"
MAX_UNPACKED_BYTES = 2 * 2**30  # the default model is 4 MB; 2 GiB is far beyond any real one
UNPACK_RATIO = 2  # torch stores entries uncompressed: they unpack to their own size plus headers

# torch's storage types a weight may come in → how its bytes read in NumPy (bfloat16: see below).
STORAGE_DTYPES = {
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"),
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
}
WEIGHT_KINDS = "dense float16, bfloat16, float32 or float64 weights"


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
    # The maps its channels hold, in order (model_maps.py: each name's channels and convention);
    # files from before full-material models have none and hold colour alone.
    maps: tuple[str, ...] = COLOUR_ONLY

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
        data["maps"] = list(self.maps)
        # For people reading the card: each map's convention (fixed by its name, so not read back).
        data["map_conventions"] = {name: MAP_CONVENTIONS[name] for name in self.maps}
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
        card.maps = check_map_names(card.maps)
        # A colour model's channels are whatever its file says, as before maps existed.
        if card.maps != COLOUR_ONLY and channel_count(card.maps) != len(card.channels):
            raise ValueError(f"the card's maps {list(card.maps)} need {channel_count(card.maps)} channels, "
                             f"its channels list {len(card.channels)}")
        return card


@dataclass
class ModelData:
    """A checked model file: its architecture, card and float32 weights (state-dict names)."""

    config: GeneratorConfig
    card: ModelCard
    weights: dict[str, np.ndarray]
    path: Path | None = None
    # The networks built from it, one per runtime (runtime.network_for fills it).
    networks: dict = field(default_factory=dict, repr=False, compare=False)


def read_model(path: str | os.PathLike) -> ModelData:
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
        raise ModelFileError(f"{where} has a damaged architecture description: {first_line(exc)}") from None
    try:
        card = ModelCard.from_dict(dict(payload.get("card") or {}))
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{where} has a damaged model card: {first_line(exc)}") from None
    if len(card.channels) != config.out_channels:
        raise ModelFileError(f"{where}: the model card's channels do not match the network's outputs.")
    return ModelData(config, card, _checked_weights(where, config, state), path)


def _checked_weights(where: str, config: GeneratorConfig, state: object) -> dict[str, np.ndarray]:
    """The stored tensors as float32 arrays, once names, shapes and values all fit `config`."""
    if not isinstance(state, dict) or not all(isinstance(v, _Tensor) for v in state.values()):
        raise ModelFileError(f"{where} has no valid weight tensors.")
    expected = parameter_shapes(config)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ModelFileError(
            f"{where}: weights do not match its architecture "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})."
        )
    weights = {}
    for name, shape in expected.items():
        got = state[name]
        if got.shape != shape:
            raise ModelFileError(
                f"{where}: weight '{name}' has shape {got.shape}, the architecture needs {shape}."
            )
        array = got.float32()
        if not np.isfinite(array).all():
            raise ModelFileError(f"{where}: weight '{name}' is not finite floating-point data.")
        weights[name] = array
    return weights


# ---------------------------------------------------------------------------------------------
# The archive and its pickle


def _read_payload(path: Path) -> object:
    if not path.exists():
        raise ModelFileError(f"Model file not found: {path}")
    if not path.is_file():
        raise ModelFileError(f"Model path is not a file: {path}")
    size = path.stat().st_size
    if size == 0:
        raise ModelFileError(f"'{path.name}' is empty (0 bytes); it is not a model file.")
    with path.open("rb") as handle:
        head = handle.read(4)
    if not head.startswith(b"PK"):
        # save_model writes torch's zip container; a bare pickle (torch's legacy format) is not
        # one, and its header could ask for any storage size before a byte of it is read.
        raise ModelFileError(f"'{path.name}' is not a model file (it is some other kind of file).")
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked > min(MAX_UNPACKED_BYTES, UNPACK_RATIO * size):
                raise ModelFileError(
                    f"'{path.name}' was refused: its {size / 2**20:.1f} MB archive unpacks to "
                    f"{unpacked / 2**20:.0f} MB, which no model file does (a decompression bomb or a damaged file)."
                )
            return _unpickle(archive)
    except _Refused as exc:
        raise ModelFileError(
            f"'{path.name}' was refused: it asks to run code or build objects ({exc}), which a model "
            f"file must never do, so nothing from it was run."
        ) from None
    except _BadWeights as exc:
        raise ModelFileError(f"'{path.name}': {exc}") from None
    except (EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise ModelFileError(f"'{path.name}' is truncated or damaged ({first_line(exc)}).") from None
    except (pickle.UnpicklingError, OSError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            OverflowError, MemoryError, RecursionError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"'{path.name}' is damaged or not a model file ({first_line(exc)}).") from None


class _Refused(Exception):
    """The pickle names a callable that is not on the list; the message is its dotted name."""


class _BadWeights(Exception):
    """A tensor of a kind a model file never holds (integers, float8, sparse...)."""


@dataclass(frozen=True)
class _StorageType:
    name: str  # torch's class name, e.g. "HalfStorage"


@dataclass(frozen=True)
class _DtypeName:
    name: str  # e.g. "float8_e4m3fn"


# torch dtypes that torch.save writes as untyped bytes plus a dtype (_rebuild_tensor_v3): none is a
# model file's, but the refusal should name the one it met.
_TORCH_DTYPE_NAMES = {"float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu",
                      "float4_e2m1fn_x2", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "uint8",
                      "bool", "complex32", "complex64", "complex128", "float16", "bfloat16", "float32", "float64"}


# torch's typed-storage class names → the dtype names users know from torch.
_STORAGE_DTYPE_NAMES = {"IntStorage": "int32", "LongStorage": "int64", "ShortStorage": "int16", "CharStorage": "int8",
                        "ByteStorage": "uint8", "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
                        "ComplexDoubleStorage": "complex128"}


def _refuse_typed_tensor(_storage, _offset, _size, _stride, *rest):
    dtype = next((arg.name for arg in rest if isinstance(arg, _DtypeName)), "an unknown type")
    raise _BadWeights(f"a weight is stored as {dtype}; a model file holds {WEIGHT_KINDS}.")


@dataclass(frozen=True)
class _Tensor:
    """A stored weight: its shape and the bytes' dtype; values are read only once shapes match."""

    array: np.ndarray  # a read-only view of the storage's bytes in the stored dtype
    storage: str

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    def float32(self) -> np.ndarray:
        if self.storage == "BFloat16Storage":  # bfloat16 is the top half of a float32
            return (self.array.astype(np.uint32) << np.uint32(16)).view(np.float32)
        return np.array(self.array, dtype=np.float32)  # a copy: writable, and the archive bytes are freed


def _unpickle(archive: zipfile.ZipFile) -> object:
    names = archive.namelist()
    pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pickles) != 1:
        raise ValueError("no data.pkl in the archive")
    prefix = pickles[0][: -len("data.pkl")]
    byteorder = prefix + "byteorder"
    if byteorder in names and archive.read(byteorder).strip() not in (b"little", b""):
        raise ValueError("weights stored big-endian")
    with archive.open(pickles[0]) as handle:
        return _Unpickler(handle, archive, prefix).load()


class _Unpickler(pickle.Unpickler):
    """pickle.Unpickler that resolves only the names a model file uses, to inert replacements."""

    def __init__(self, handle, archive: zipfile.ZipFile, prefix: str):
        super().__init__(handle)
        self._archive = archive
        self._prefix = prefix
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("torch._utils", "_rebuild_parameter"):  # an nn.Parameter: its data
            return lambda data, *_flags: data
        if module == "torch" and name.endswith("Storage"):
            if name not in STORAGE_DTYPES:
                dtype = _STORAGE_DTYPE_NAMES.get(name, name[: -len("Storage")] or name)
                raise _BadWeights(f"a weight is stored as {dtype}; a model file holds {WEIGHT_KINDS}.")
            return _StorageType(name)
        if (module, name) == ("torch.storage", "UntypedStorage"):  # with _rebuild_tensor_v3: new dtypes
            return _StorageType(name)
        if module == "torch" and name in _TORCH_DTYPE_NAMES:  # a dtype argument: only named in errors
            return _DtypeName(name)
        if (module, name) == ("torch._utils", "_rebuild_tensor_v3"):
            return _refuse_typed_tensor
        if module == "torch._utils" and name.startswith("_rebuild_"):  # sparse, quantized, ... tensors
            raise _BadWeights(f"a weight is stored by {name}; a model file holds {WEIGHT_KINDS}.")
        raise _Refused(f"{module}.{name}")

    def persistent_load(self, pid):
        """('storage', <storage type>, key, location, numel) → a 1-D array of that entry's bytes."""
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError("unknown persistent id")
        _, kind, key, _location, numel = pid
        if not isinstance(kind, _StorageType) or not isinstance(key, str) or not _is_count(numel):
            raise pickle.UnpicklingError("malformed storage reference")
        if kind.name not in STORAGE_DTYPES:  # untyped bytes: _refuse_typed_tensor names their dtype
            return (kind.name, None)
        if key not in self._storages:
            dtype = STORAGE_DTYPES[kind.name]
            entry = f"{self._prefix}data/{key}"
            try:
                info = self._archive.getinfo(entry)
            except KeyError:
                raise pickle.UnpicklingError(f"missing weight entry data/{key}") from None
            if info.file_size != numel * dtype.itemsize:
                raise pickle.UnpicklingError(f"weight entry data/{key} has {info.file_size} bytes, not {numel * dtype.itemsize}")
            array = np.frombuffer(self._archive.read(entry), dtype=dtype)
            self._storages[key] = array
        return (kind.name, self._storages[key])


def _rebuild_tensor(storage, offset, size, stride, *_rest) -> _Tensor:
    """torch._utils._rebuild_tensor_v2's arguments → a bounds-checked strided view of the storage."""
    if not (isinstance(storage, tuple) and len(storage) == 2 and isinstance(storage[1], np.ndarray)):
        raise pickle.UnpicklingError("a tensor without storage")
    kind, array = storage
    size, stride = tuple(size), tuple(stride)
    if not (_is_count(offset) and len(size) == len(stride) <= 8 and all(map(_is_count, size + stride))):
        raise pickle.UnpicklingError("malformed tensor header")
    last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if math.prod(size) else offset - 1
    if last >= len(array):
        raise pickle.UnpicklingError("a tensor reaches past its stored data")
    itemsize = array.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(array[offset:], shape=size, strides=[s * itemsize for s in stride],
                                           writeable=False)
    return _Tensor(view, kind)


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**40
