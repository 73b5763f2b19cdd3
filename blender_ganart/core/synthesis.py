"""model + SynthesisOptions → texture: the one function the add-on, the trainer's samples and scripts call.

No torch at import: the same function runs the PyTorch or the NumPy runtime (runtime.py)."""

from __future__ import annotations

import math

import numpy as np

from . import architecture, runtime as runtimes
from .latent import PixelNoise, latent_field
from .numpy_runtime import NumpyGenerator, render as numpy_render
from .options import SynthesisOptions
from .tiling import DEFAULT_TILE, Progress, ShouldCancel, periodic_resize


def synthesize(
    model,
    options: SynthesisOptions,
    *,
    device="auto",
    tile: int = DEFAULT_TILE,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
    runtime: str = "auto",
) -> np.ndarray:
    """Returns the texture as a float32 (height, width, channels) array in [0, 1].

    Rows run top to bottom. With tileable on, the texture wraps around seamlessly; with it off,
    the texture is cut from the middle of a larger field so no edge sees its opposite edge.
    model: a model_reader.ModelData, a model_file.LoadedModel, a network.Generator or a
    numpy_runtime.NumpyGenerator. options: the seed, size and amounts, validated when they were
    built (options.py). runtime: "auto" (PyTorch if importable, else NumPy), "pytorch" or "numpy"
    (runtime.choose_runtime); device (a torch device or its name) is for PyTorch.
    Raises SynthesisOptionsError for an unknown runtime or device and Cancelled if should_cancel() says so.
    """
    if not isinstance(options, SynthesisOptions):
        raise TypeError(f"synthesize takes a SynthesisOptions, got {type(options).__name__}: "
                        f"synthesize(model, SynthesisOptions(seed=..., width=..., height=...))")
    if runtime == "auto" and isinstance(model, NumpyGenerator):
        runtime = "numpy"
    chosen = runtimes.choose_runtime(runtime, device if isinstance(device, str) else str(device))
    config = model.config
    f = config.upsampling
    cells_h, cells_w, margin = latent_cells(config, options.width, options.height, options.tileable)
    origin = (-margin, -margin)
    field = latent_field(config, options.seed, cells_h, cells_w, origin, options.variation, options.truncation)
    noise = PixelNoise((options.seed,), (cells_h, cells_w), origin, options.variation)
    network = runtimes.network_for(model, chosen.name)
    if chosen.name == "numpy":
        texture = numpy_render(network, field, noise, tile, progress, should_cancel)
    else:
        import torch

        from .devices import resolve_device
        from .render import render

        texture = render(network, torch.from_numpy(field), resolve_device(device), noise, tile=tile,
                         progress=progress, should_cancel=should_cancel)

    if options.tileable:
        texture = periodic_resize(texture, options.height, options.width)
    else:
        top = left = margin * f
        texture = texture[top : top + options.height, left : left + options.width]
    # [-1, 1] → [0, 1], in place on the one full-size buffer.
    texture = np.ascontiguousarray(texture)
    texture += 1.0
    texture *= 0.5
    np.clip(texture, 0.0, 1.0, out=texture)
    return texture


def latent_cells(config: architecture.GeneratorConfig, width: int, height: int, tileable: bool) -> tuple[int, int, int]:
    """(cells_h, cells_w, margin): the latent field a texture of this size is rendered from.

    Tileable: whole cells, the nearest count to the size (periodic_resize fits the rest). Not
    tileable: enough cells to cover the size plus a margin of cells on every side, so the
    wrap-around of the circular padding never reaches the crop that is kept.
    """
    f = config.upsampling
    if tileable:
        return max(1, round(height / f)), max(1, round(width / f)), 0
    margin = architecture.head_halo(config, 0)
    return math.ceil(height / f) + 2 * margin, math.ceil(width / f) + 2 * margin, margin
