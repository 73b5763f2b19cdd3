"""Running the generator on a periodic latent field with bounded memory.

The low-resolution trunk of the network runs on the whole field (it is small); the expensive
high-resolution head runs in tiles. Each head tile is cut from the trunk's output with a halo that
wraps around the field's edges, exactly what the circular padding would have seen, and only the
tile's exact interior is kept; the pixel noise of each tile comes from a source that is a
function of position and wraps the same way. So the tiled texture equals the untiled one, and
memory is bounded by the tile size instead of the texture size.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .devices import exact_convolutions, module_on
from .errors import Cancelled
from .network import Generator, NoiseSource

Progress = Callable[[float], None]
ShouldCancel = Callable[[], bool]

TRUNK_BYTES = 256 * 2**20  # largest single trunk activation kept whole
DEFAULT_TILE = 1024  # output pixels per side of one head tile


def choose_split(generator: Generator, cells_h: int, cells_w: int, budget: int = TRUNK_BYTES) -> int:
    """How many levels run on the whole field: the most whose largest activation fits `budget`."""
    split = 1
    for level, width in enumerate(generator.config.widths):
        pixels = cells_h * cells_w * 4**level
        if level > 0 and width * pixels * 4 * 2 > budget:  # ×2: the fused conv's 4·C/4 output
            break
        split = level + 1
    return split


def render(
    generator: Generator,
    field: torch.Tensor,
    device: torch.device,
    noise: NoiseSource,
    tile: int = DEFAULT_TILE,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
    trunk_budget: int = TRUNK_BYTES,
) -> np.ndarray:
    """(1, latent_dim, h, w) periodic field and its pixel noise → (h·f, w·f, C) float32 in [-1, 1]."""
    with exact_convolutions(device):
        return _render(generator, field, device, noise, tile, progress, should_cancel, trunk_budget)


@torch.inference_mode()
def _render(generator, field, device, noise, tile, progress, should_cancel, trunk_budget) -> np.ndarray:
    if field.ndim != 4 or field.shape[0] != 1 or field.shape[1] != generator.config.latent_dim:
        raise ValueError(f"expected a (1, {generator.config.latent_dim}, h, w) field, got {tuple(field.shape)}")
    generator = module_on(generator, device).eval()
    _, _, cells_h, cells_w = field.shape
    f = generator.config.upsampling
    out = np.empty((cells_h * f, cells_w * f, generator.config.out_channels), dtype=np.float32)

    split = choose_split(generator, cells_h, cells_w, trunk_budget)
    features = generator.trunk(field.to(device), split, noise)  # (1, C, h·r, w·r)
    scale = generator.head_scale(split)
    halo = generator.head_halo(split)
    step = max(1, tile // scale)  # trunk pixels per tile side
    _, _, fh, fw = features.shape
    padded = F.pad(features, (halo, halo, halo, halo), mode="circular") if halo <= min(fh, fw) else None

    starts = [(y, x) for y in range(0, fh, step) for x in range(0, fw, step)]
    for done, (y, x) in enumerate(starts):
        if should_cancel is not None and should_cancel():
            raise Cancelled("Generation cancelled.")
        y1, x1 = min(y + step, fh), min(x + step, fw)
        if padded is None:  # the halo is wider than the field: wrap by indexing instead
            rows = torch.arange(y - halo, y1 + halo, device=device) % fh
            cols = torch.arange(x - halo, x1 + halo, device=device) % fw
            window = features[:, :, rows][:, :, :, cols]
        else:
            window = padded[:, :, y : y1 + 2 * halo, x : x1 + 2 * halo]
        result = generator.head(window, split, noise, at=(y - halo, x - halo))
        crop = halo * scale
        result = result[0, :, crop : result.shape[2] - crop, crop : result.shape[3] - crop]
        out[y * scale : y1 * scale, x * scale : x1 * scale] = result.permute(1, 2, 0).float().cpu().numpy()
        if progress is not None:
            progress((done + 1) / len(starts))
    return out


def periodic_resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W, C) → (height, width, C) by bilinear interpolation that wraps around the edges.

    Used when a tileable texture is asked for at a size that is not a whole number of latent
    cells: the periodic texture is made at the nearest whole size and resampled, and because the
    interpolation wraps, the result is still exactly seamless at the requested size.
    """
    out = _resize_axis(image, height, axis=0)
    return _resize_axis(out, width, axis=1)


def _resize_axis(image: np.ndarray, size: int, axis: int) -> np.ndarray:
    n = image.shape[axis]
    if n == size:
        return image
    pos = (np.arange(size, dtype=np.float64) + 0.5) * (n / size) - 0.5
    lo = np.floor(pos).astype(np.int64)
    frac = (pos - lo).astype(np.float32)
    shape = [1, 1, 1]
    shape[axis] = size
    frac = frac.reshape(shape)
    a = np.take(image, lo % n, axis=axis)
    b = np.take(image, (lo + 1) % n, axis=axis)
    return (a + (b - a) * frac).astype(np.float32, copy=False)
