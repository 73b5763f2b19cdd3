"""One Generate press, as plain data and plain compute: no bpy.

The Blender side (service.py, for the operator and the headless API) builds one
GenerationRequest (building it validates it), checks it against this machine here with
`check_request` (before anything is allocated or any Blender data is touched), then runs
`compute` (in a worker thread in the UI, directly in background mode). Only the finished
float32 arrays go back to the Blender side, which writes them into images.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .architecture import GeneratorConfig
from .errors import GanArtError, SynthesisOptionsError
from .map_options import MapOptions
from .options import MAX_VARIATIONS, SynthesisOptions
from .seeds import SEED_MAX

# Besides the texture itself: torch, the model, one head tile's activations; measured peak for a
# 4096² texture was ~1.1 GiB including torch, so half a GiB covers the rest with room to spare.
WORKING_MARGIN = 512 * 2**20


class NotEnoughMemoryError(GanArtError):
    """The requested texture would not fit in memory; refused before allocating it."""


@dataclass(frozen=True)
class GenerationRequest:
    """One press of Generate: the model file, the texture's options and how many textures.

    Building it checks what needs no environment (the options themselves checked theirs when
    they were built); what depends on this machine (runtime, device, memory) is check_request's.
    """

    model_path: Path
    options: SynthesisOptions = SynthesisOptions()
    count: int = 1  # variations: seeds seed, seed+1, ... seed+count-1
    device: str = "auto"
    runtime: str = "auto"  # runtime.RUNTIME_CHOICES: PyTorch if importable, else NumPy
    maps: MapOptions | None = None  # None: the colour texture alone

    def __post_init__(self) -> None:
        if not isinstance(self.options, SynthesisOptions):
            raise TypeError(f"options must be a SynthesisOptions, got {type(self.options).__name__}")
        if isinstance(self.count, bool) or not isinstance(self.count, int) or not 1 <= self.count <= MAX_VARIATIONS:
            raise SynthesisOptionsError(f"Variations must be 1 to {MAX_VARIATIONS}, got {self.count!r}.")
        if self.options.seed + self.count - 1 > SEED_MAX:
            raise SynthesisOptionsError(f"Seed {self.options.seed} with {self.count} variations passes 2^64-1: "
                                        f"choose a smaller seed or fewer variations.")
        if self.maps is not None:
            self.maps.validated()

    def variations(self) -> list[SynthesisOptions]:
        """The options of each texture: the same but for the seed, seed + index."""
        return [replace(self.options, seed=self.options.seed + index) for index in range(self.count)]


@dataclass
class GeneratedTexture:
    seed: int
    pixels: object  # float32 numpy array (height, width, channels) in [0, 1], rows top to bottom
    model_name: str
    channels: tuple[str, ...]
    model_file: str = ""  # the model file's name: with the seed, what identifies the image in Blender
    maps: dict = field(default_factory=dict)  # derived map name → float32 (H, W) or (H, W, 3) in [0, 1]


@dataclass
class GenerationResult:
    textures: list[GeneratedTexture] = field(default_factory=list)
    runtime: str = ""  # which ran it: "PyTorch" or "NumPy"
    note: str = ""  # why that one, when it was not the user's plain choice


def memory_needed(width: int, height: int, count: int = 1, config: GeneratorConfig | None = None,
                  tileable: bool = True, maps=None) -> int:
    """Bytes a press of Generate costs at its peak.

    Per texture (all are kept until the main thread writes them): the float32 texture and
    Blender's own 8-bit RGBA copy; once: the float32 RGBA buffer handed to foreach_set, and the
    generator's working memory; with derived maps, every map of every texture and the maps'
    FFT working memory (after the generator has finished). With its config known, the generator's
    working memory includes what its
    cell size forces: the whole latent cells it renders (a 2048-px cell makes even a 64-px texture
    render 2048² pixels first) and its widest activation of one tile.
    """
    pixels = width * height
    channels = 3 if config is None else config.out_channels
    total = count * (pixels * channels * 4 + pixels * 4) + pixels * 4 * 4 + WORKING_MARGIN
    if config is not None:
        total += _render_bytes(config, width, height, tileable)
    if maps is not None and maps.derived:
        from .derived_maps import working_bytes

        total += count * pixels * 4 * (len(maps.derived) + 2 * maps.normal) + working_bytes(width, height)
    return total


def _render_bytes(config: GeneratorConfig, width: int, height: int, tileable: bool) -> int:
    """The renderer's full-field output, its resampling copies, the trunk and one head tile."""
    from .synthesis import latent_cells
    from .tiling import DEFAULT_TILE

    f = config.upsampling
    cells_h, cells_w, _margin = latent_cells(config, width, height, tileable)
    rendered = cells_h * f * cells_w * f * config.out_channels * 4
    # periodic_resize keeps two intermediate copies per axis of up to the larger of both sizes
    resampled = 2 * max(cells_h * f, height) * max(cells_w * f, width) * config.out_channels * 4
    field = cells_h * cells_w * (config.latent_dim + 2 * config.widths[0]) * 4
    tile_side = min(max(DEFAULT_TILE, f), max(cells_h, cells_w) * f)
    levels = len(config.widths)
    head = max(width_l * (tile_side // 2 ** (levels - 1 - level) + 4) ** 2 * 4 * 3  # input, output, ×4 phases
               for level, width_l in enumerate(config.widths))
    return rendered + resampled + field + head


def available_memory() -> int | None:
    """Bytes the system can still give this process, or None where that cannot be found out."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if sys.platform == "win32":
        return _windows_available_memory()
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_request(request: GenerationRequest, memory_limit: int | None = None,
                  load_model: Callable | None = None) -> None:
    """Raises a GanArtError for what this machine cannot do; allocates nothing but the model.

    The request's own values were checked when it was built; here: the runtime and device
    (e.g. PyTorch asked for but not installed) and the memory. memory_limit: bytes the user
    allows (a preference); None or 0 uses the available memory. load_model: path → LoadedModel
    (default: the catalog's cache); the model's cell size and widths are part of the memory a
    texture needs, so it is read here, before generating.
    """
    from .runtime import choose_runtime

    choose_runtime(request.runtime, request.device)
    if load_model is None:
        from .model_catalog import CACHE

        load_model = CACHE.load
    config = load_model(request.model_path).config
    width, height, count = request.options.width, request.options.height, request.count
    need = memory_needed(width, height, count, config, request.options.tileable, request.maps)
    limit = memory_limit or available_memory()
    if limit is not None and need > limit:
        cell = config.upsampling
        why = f" (this model renders whole {cell}-px cells)" if cell > min(width, height) else ""
        raise NotEnoughMemoryError(
            f"{count}× {width}×{height} px needs about {need / 2**30:.1f} GiB of memory{why} "
            f"but only {limit / 2**30:.1f} GiB is available; choose a smaller size."
        )


def compute(request: GenerationRequest, load_model: Callable,
            progress: Callable[[float], None] | None = None,
            should_cancel: Callable[[], bool] | None = None) -> GenerationResult:
    """Runs the generator for every requested seed; raises Cancelled when asked to stop.

    load_model: path → model_reader.ModelData (the catalog's cache, so repeated presses do not reload).
    """
    from .model_maps import learned_maps, with_strengths
    from .runtime import choose_runtime
    from .synthesis import synthesize

    chosen = choose_runtime(request.runtime, request.device)
    model = load_model(request.model_path)
    result = GenerationResult(runtime=chosen.label, note=chosen.note)
    variations = request.variations()
    for index, options in enumerate(variations):
        def part_progress(fraction: float, index: int = index) -> None:
            if progress is not None:
                progress((index + fraction) / len(variations))

        pixels = synthesize(model, options, device=request.device, progress=part_progress,
                            should_cancel=should_cancel, runtime=chosen.name)
        # A full-material model's own maps are used; the maps it lacks are derived from its colour.
        wanted = request.maps.derived if request.maps is not None else ()
        colour, learned = learned_maps(pixels, model.card.maps, wanted)
        learned = with_strengths(learned, request.maps)
        texture = GeneratedTexture(options.seed, colour, model.card.name, tuple(model.card.channels)[:colour.shape[2]],
                                   Path(request.model_path).name)
        if wanted:
            derived = _derived_maps(colour, request, should_cancel, tuple(n for n in wanted if n not in learned))
            texture.maps = {name: learned[name] if name in learned else derived[name] for name in wanted}
        result.textures.append(texture)
    return result


def _derived_maps(pixels, request: GenerationRequest, should_cancel, names: tuple[str, ...]) -> dict:
    """The maps the model does not make, derived from its colour (derived_maps.py)."""
    from .derived_maps import derive_maps
    from .errors import Cancelled

    def check() -> None:
        if should_cancel is not None and should_cancel():
            raise Cancelled("Generation cancelled.")

    if not names:
        return {}
    return derive_maps(pixels[..., :3], names, request.maps, request.options.tileable, check)


def _windows_available_memory() -> int | None:
    import ctypes

    class MemoryStatus(ctypes.Structure):
        _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                    ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                    ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                    ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                    ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

    status = MemoryStatus()
    status.dwLength = ctypes.sizeof(MemoryStatus)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
        return None
    return int(status.ullAvailPhys)
