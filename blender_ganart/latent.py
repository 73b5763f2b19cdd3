"""The latent field for a seed: local noise per cell plus one global code broadcast over the field.

Local noise is drawn in fixed chunks of cells, each from its own CPU generator keyed by
(seed, chunk row, chunk column). A cell's noise therefore depends only on the seed and the cell's
position, never on the field's size: a bigger texture of the same seed shows more of the same
plane, and every device gets the same numbers because they are always drawn on the CPU.
"""

from __future__ import annotations

import torch

from .network import GeneratorConfig
from .seeds import mix

CHUNK = 8  # cells per side of one independently seeded noise chunk
_GLOBAL_STREAM = 0x6C6F62616C  # stream ids keep the global code and the local chunks apart
_LOCAL_STREAM = 0x6C6F63616C


def global_code(config: GeneratorConfig, seed: int, truncation: float = 1.0) -> torch.Tensor:
    """(global_dim,) — the texture's identity. truncation < 1 pulls it toward the average texture."""
    gen = torch.Generator(device="cpu").manual_seed(mix(seed, _GLOBAL_STREAM) >> 1)
    return torch.randn(config.global_dim, generator=gen) * float(truncation)


def local_noise(
    config: GeneratorConfig, seed: int, rows: range, cols: range
) -> torch.Tensor:
    """(local_dim, len(rows), len(cols)) i.i.d. normal noise for those cell coordinates."""
    out = torch.empty(config.local_dim, len(rows), len(cols))
    if config.local_dim == 0 or not len(rows) or not len(cols):
        return out
    r0, c0 = rows.start, cols.start
    for chunk_r in range(r0 // CHUNK, (rows.stop - 1) // CHUNK + 1):
        for chunk_c in range(c0 // CHUNK, (cols.stop - 1) // CHUNK + 1):
            gen = torch.Generator(device="cpu")
            gen.manual_seed(mix(seed, _LOCAL_STREAM, chunk_r, chunk_c) >> 1)
            block = torch.randn(config.local_dim, CHUNK, CHUNK, generator=gen)
            # Intersection of this chunk with the requested window, in absolute cells.
            top, left = max(chunk_r * CHUNK, r0), max(chunk_c * CHUNK, c0)
            bottom, right = min((chunk_r + 1) * CHUNK, rows.stop), min((chunk_c + 1) * CHUNK, cols.stop)
            out[:, top - r0 : bottom - r0, left - c0 : right - c0] = block[
                :, top - chunk_r * CHUNK : bottom - chunk_r * CHUNK, left - chunk_c * CHUNK : right - chunk_c * CHUNK
            ]
    return out


def latent_field(
    config: GeneratorConfig,
    seed: int,
    cells_h: int,
    cells_w: int,
    origin: tuple[int, int] = (0, 0),
    variation: float = 1.0,
    truncation: float = 1.0,
) -> torch.Tensor:
    """(1, latent_dim, cells_h, cells_w) on the CPU; the generator treats it as periodic.

    variation scales the local noise (0 = the same detail everywhere, 1 = as trained).
    """
    top, left = origin
    local = local_noise(config, seed, range(top, top + cells_h), range(left, left + cells_w))
    code = global_code(config, seed, truncation)
    field = torch.cat(
        [local * float(variation), code[:, None, None].expand(-1, cells_h, cells_w)], dim=0
    )
    return field.unsqueeze(0)
