"""Bounded-memory rendering, the same for both runtimes (no torch here).

The low-resolution trunk of the network runs on the whole field (it is small); the expensive
high-resolution head runs in tiles. Each head tile is cut from the trunk's output with a halo that
wraps around the field's edges, exactly what the circular padding would have seen, and only the
tile's exact interior is kept; the pixel noise of each tile comes from a source that is a
function of position and wraps the same way. So the tiled texture equals the untiled one, and
memory is bounded by the tile size instead of the texture size. render.py (PyTorch) and
numpy_runtime.py both drive their head through `render_tiles`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .architecture import GeneratorConfig
from .errors import Cancelled

Progress = Callable[[float], None]
ShouldCancel = Callable[[], bool]

TRUNK_BYTES = 256 * 2**20  # largest single trunk activation kept whole
DEFAULT_TILE = 1024  # output pixels per side of one head tile


def choose_split(config: GeneratorConfig, cells_h: int, cells_w: int, budget: int = TRUNK_BYTES) -> int:
    """How many levels run on the whole field: the most whose largest activation fits `budget`."""
    split = 1
    for level, width in enumerate(config.widths):
        pixels = cells_h * cells_w * 4**level
        if level > 0 and width * pixels * 4 * 2 > budget:  # ×2: the fused conv's 4·C/4 output
            break
        split = level + 1
    return split


@dataclass(frozen=True)
class HeadTile:
    """Trunk pixels [y0, y1) × [x0, x1) of one head tile (run with a halo on every side)."""

    y0: int
    y1: int
    x0: int
    x1: int


def render_tiles(
    trunk_size: tuple[int, int],
    halo: int,
    scale: int,
    tile: int,
    run_head: Callable[[HeadTile], np.ndarray],
    out: np.ndarray,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
) -> np.ndarray:
    """Fills `out` (H·scale, W·scale, C) tile by tile and returns it.

    run_head(t) gives the head's (rows, cols, C) output for the trunk window
    [t.y0 - halo, t.y1 + halo) × [t.x0 - halo, t.x1 + halo), wrapped around the trunk's edges;
    its outer halo·scale pixels are not exact and are dropped here.
    """
    height, width = trunk_size
    step = max(1, tile // scale)  # trunk pixels per tile side
    tiles = [HeadTile(y, min(y + step, height), x, min(x + step, width))
             for y in range(0, height, step) for x in range(0, width, step)]
    crop = halo * scale
    for done, t in enumerate(tiles):
        if should_cancel is not None and should_cancel():
            raise Cancelled("Generation cancelled.")
        result = run_head(t)
        rows, cols = (t.y1 - t.y0) * scale, (t.x1 - t.x0) * scale
        target = out[t.y0 * scale : t.y1 * scale, t.x0 * scale : t.x1 * scale]
        # A channel at a time: one strided copy each, fast whether `result` is laid out in memory
        # channels last (PyTorch's) or channels first (NumPy's transposed view).
        for channel in range(out.shape[2]):
            target[..., channel] = result[crop : crop + rows, crop : crop + cols, channel]
        if progress is not None:
            progress((done + 1) / len(tiles))
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
