"""seed + options → texture: the one function the add-on, the trainer's samples and scripts call.

No torch at import: the same function runs the PyTorch or the NumPy runtime (runtime.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import architecture, runtime as runtimes
from .errors import SynthesisOptionsError
from .latent import PixelNoise, latent_field
from .numpy_runtime import NumpyGenerator, render as numpy_render
from .seeds import parse_seed
from .tiling import DEFAULT_TILE, Progress, ShouldCancel, periodic_resize

MIN_SIZE = 16
MAX_SIZE = 8192


@dataclass(frozen=True)
class SynthesisOptions:
    """Everything besides the model that decides a texture's pixels (the device does not)."""

    seed: int | str = 0
    width: int = 1024
    height: int = 1024
    tileable: bool = True
    variation: float = 1.0  # scale of the local noise: 0 = uniform detail, 1 = as trained
    truncation: float = 1.0  # pull of the global code toward the average texture (1 = none)

    def validated(self) -> "SynthesisOptions":
        """The options with plain Python types, or SynthesisOptionsError naming the first bad one.

        Any integer type is a size (NumPy's too, as scripts pass them); bools, floats and text are not.
        """
        import numbers

        sizes = {}
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise SynthesisOptionsError(f"{name.capitalize()} must be a whole number of pixels, got {value!r}.")
            sizes[name] = int(value)
            if not MIN_SIZE <= sizes[name] <= MAX_SIZE:
                raise SynthesisOptionsError(
                    f"{name.capitalize()} {sizes[name]} px is out of range: choose {MIN_SIZE} to {MAX_SIZE} pixels."
                )
        amounts = {}
        for name in ("variation", "truncation"):
            value = getattr(self, name)
            try:
                amounts[name] = float(value)
            except (TypeError, ValueError):
                raise SynthesisOptionsError(f"{name} must be a number between 0 and 4, got {value!r}") from None
            if not math.isfinite(amounts[name]) or not 0.0 <= amounts[name] <= 4.0:
                raise SynthesisOptionsError(f"{name} must be between 0 and 4, got {value}")
        try:
            seed = parse_seed(self.seed)
        except (TypeError, ValueError) as exc:
            raise SynthesisOptionsError(f"Seed: {exc}.") from None
        return SynthesisOptions(seed, sizes["width"], sizes["height"], bool(self.tileable),
                                amounts["variation"], amounts["truncation"])


def output_bytes(width: int, height: int, channels: int) -> int:
    """Memory the finished float32 texture needs; callers refuse sizes before allocating."""
    return width * height * channels * 4


def synthesize(
    model,
    seed: int | str = 0,
    width: int = 1024,
    height: int = 1024,
    tileable: bool = True,
    variation: float = 1.0,
    truncation: float = 1.0,
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
    numpy_runtime.NumpyGenerator. runtime: "auto" (PyTorch if importable, else NumPy), "pytorch"
    or "numpy" (runtime.choose_runtime); device (a torch device or its name) is for PyTorch.
    Raises SynthesisOptionsError for impossible options and Cancelled if should_cancel() says so.
    """
    opts = SynthesisOptions(seed, width, height, tileable, variation, truncation).validated()
    if runtime == "auto" and isinstance(model, NumpyGenerator):
        runtime = "numpy"
    chosen = runtimes.choose_runtime(runtime, device if isinstance(device, str) else str(device))
    config = model.config
    f = config.upsampling

    if opts.tileable:
        cells_h, cells_w = max(1, round(opts.height / f)), max(1, round(opts.width / f))
        origin, margin = (0, 0), 0
    else:
        # Enough extra cells that the wrap-around of the circular padding never reaches the crop.
        margin = architecture.head_halo(config, 0)
        cells_h, cells_w = math.ceil(opts.height / f) + 2 * margin, math.ceil(opts.width / f) + 2 * margin
        origin = (-margin, -margin)
    field = latent_field(config, opts.seed, cells_h, cells_w, origin, opts.variation, opts.truncation)
    noise = PixelNoise((opts.seed,), (cells_h, cells_w), origin, opts.variation)
    network = runtimes.network_for(model, chosen.name)
    if chosen.name == "numpy":
        texture = numpy_render(network, field, noise, tile, progress, should_cancel)
    else:
        import torch

        from .devices import resolve_device
        from .render import render

        texture = render(network, torch.from_numpy(field), resolve_device(device), noise, tile=tile,
                         progress=progress, should_cancel=should_cancel)

    if opts.tileable:
        texture = periodic_resize(texture, opts.height, opts.width)
    else:
        top = left = margin * f
        texture = texture[top : top + opts.height, left : left + opts.width]
    # [-1, 1] → [0, 1], in place on the one full-size buffer.
    texture = np.ascontiguousarray(texture)
    texture += 1.0
    texture *= 0.5
    np.clip(texture, 0.0, 1.0, out=texture)
    return texture
