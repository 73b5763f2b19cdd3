"""Running the PyTorch generator on a periodic latent field with bounded memory.

The trunk runs on the whole field and the head in tiles with a wrap-around halo (tiling.py, shared
with the NumPy runtime), so the tiled texture equals the untiled one.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .devices import exact_convolutions, module_on
from .network import Generator, NoiseSource
from .tiling import (DEFAULT_TILE, TRUNK_BYTES, HeadTile, Progress, ShouldCancel,  # noqa: F401 (re-exported)
                     choose_split, periodic_resize, render_tiles)


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
    field = torch.as_tensor(field)
    if field.ndim != 4 or field.shape[0] != 1 or field.shape[1] != generator.config.latent_dim:
        raise ValueError(f"expected a (1, {generator.config.latent_dim}, h, w) field, got {tuple(field.shape)}")
    generator = module_on(generator, device).eval()
    config = generator.config
    _, _, cells_h, cells_w = field.shape
    f = config.upsampling
    out = np.empty((cells_h * f, cells_w * f, config.out_channels), dtype=np.float32)

    split = choose_split(config, cells_h, cells_w, trunk_budget)
    noise = generator.with_waves(noise, field)
    features = generator.trunk(field.to(device), split, noise)  # (1, C, h·r, w·r)
    halo = generator.head_halo(split)
    _, _, fh, fw = features.shape
    padded = F.pad(features, (halo, halo, halo, halo), mode="circular") if halo <= min(fh, fw) else None

    def run_head(t: HeadTile) -> np.ndarray:
        if padded is None:  # the halo is wider than the field: wrap by indexing instead
            rows = torch.arange(t.y0 - halo, t.y1 + halo, device=device) % fh
            cols = torch.arange(t.x0 - halo, t.x1 + halo, device=device) % fw
            window = features[:, :, rows][:, :, :, cols]
        else:
            window = padded[:, :, t.y0 : t.y1 + 2 * halo, t.x0 : t.x1 + 2 * halo]
        result = generator.head(window, split, noise, at=(t.y0 - halo, t.x0 - halo))
        return result[0].permute(1, 2, 0).float().cpu().numpy()

    return render_tiles((fh, fw), halo, generator.head_scale(split), tile, run_head, out, progress, should_cancel)
