"""The random inputs of one texture: the latent field and the per-level pixel noise of a seed.

Every value is a pure function of the seed and its position (see counter_rng.py), never of the
field's size or of the order tiles are made in: a bigger texture of the same seed shows more of
the same plane, tiles and wrap-around agree, and every device and runtime gets the same numbers
because they are always drawn here, with NumPy, on the CPU.

Until version 0.2 the local noise came from torch's CPU generator, seeded per 8×8 chunk of cells:
a seed gives another texture now (the README says so), and NumPy alone can draw it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .counter_rng import normal_noise, uniform_noise
from .architecture import GeneratorConfig
from .periodic import Waves, seed_phases, wave_vectors
from .seeds import mix

_GLOBAL_STREAM = 0x6C6F62616C  # stream ids keep the global code, local cells and pixel noise apart
_LOCAL_STREAM = 0x6C6F63616C
_PIXEL_STREAM = 0x706978656C


def global_code(config: GeneratorConfig, seed: int, truncation: float = 1.0) -> np.ndarray:
    """(global_dim,) float32 — the texture's identity. truncation < 1 pulls it toward the average."""
    code = normal_noise(mix(seed, _GLOBAL_STREAM), np.zeros(1), np.arange(config.global_dim))[0]
    return code * np.float32(truncation)


def local_noise(config: GeneratorConfig, seed: int, rows: range, cols: range) -> np.ndarray:
    """(local_dim, len(rows), len(cols)) float32 i.i.d. normal noise for those cell coordinates."""
    r, c = np.arange(rows.start, rows.stop), np.arange(cols.start, cols.stop)
    out = np.empty((config.local_dim, len(r), len(c)), dtype=np.float32)
    for channel in range(config.local_dim):
        out[channel] = normal_noise(mix(seed, _LOCAL_STREAM, channel), r, c)
    return out


def latent_field(
    config: GeneratorConfig,
    seed: int,
    cells_h: int,
    cells_w: int,
    origin: tuple[int, int] = (0, 0),
    variation: float = 1.0,
    truncation: float = 1.0,
) -> np.ndarray:
    """(1, latent_dim, cells_h, cells_w) float32; the generator treats it as periodic.

    variation scales the local noise (0 = the same detail everywhere, 1 = as trained).
    """
    top, left = origin
    field = np.empty((1, config.latent_dim, cells_h, cells_w), dtype=np.float32)
    field[0, : config.local_dim] = local_noise(config, seed, range(top, top + cells_h), range(left, left + cells_w))
    field[0, : config.local_dim] *= np.float32(variation)
    field[0, config.local_dim :] = global_code(config, seed, truncation)[:, None, None]
    return field


@dataclass(frozen=True)
class PixelNoise:
    """The per-level noise maps of some seeds over one periodic latent field.

    Level L has 2^L pixels per cell. A window of it is asked for in that level's pixel
    coordinates relative to the field's first cell; coordinates outside the field wrap around it,
    as the generator's circular padding does, so a tile's halo sees exactly what the whole field
    would have. Each seed of `seeds` gives one map of the batch.
    """

    seeds: tuple[int, ...]
    cells: tuple[int, int]  # the field's size in cells: the period of the wrap-around
    origin: tuple[int, int] = (0, 0)  # absolute cell of the field's first cell
    variation: float = 1.0  # scales the noise like the field's local noise (0 = none)
    waves: Waves | None = None  # the seeds' plane waves, for a model that has them (with_waves)

    def __call__(self, level: int, top: int, left: int, height: int, width: int) -> np.ndarray:
        """(len(seeds), 1, height, width) float32, mean 0 and variance variation²."""
        scale = 2**level
        rows = np.arange(top, top + height) % (self.cells[0] * scale) + self.origin[0] * scale
        cols = np.arange(left, left + width) % (self.cells[1] * scale) + self.origin[1] * scale
        out = np.empty((len(self.seeds), 1, height, width), dtype=np.float32)
        for i, seed in enumerate(self.seeds):
            out[i, 0] = uniform_noise(mix(seed, _PIXEL_STREAM, level), rows, cols)
        if self.variation != 1.0:
            out *= np.float32(self.variation)
        return out

    def planes(self, level: int, top: int, left: int, height: int, width: int) -> np.ndarray:
        """(len(seeds), P, height, width) float32: the plane waves there (periodic.Waves.planes)."""
        if self.waves is None:
            raise ValueError("this model adds plane waves: the noise source needs them (PixelNoise.with_waves)")
        return self.waves.planes(level, top, left, height, width)

    def with_waves(self, weight: np.ndarray, bias: np.ndarray, codes: np.ndarray) -> "PixelNoise":
        """The same source with its seeds' plane waves: the model's learned map (`waves.weight`,
        `waves.bias`) of the seeds' (N, global_dim) global codes, quantised to this field, and
        each seed's phases."""
        k = wave_vectors(weight, bias, codes, self.cells)
        phases = np.stack([seed_phases(seed, k.shape[1]) for seed in self.seeds])
        return replace(self, waves=Waves(k, phases, self.cells, self.origin))

    def __getitem__(self, part: slice) -> "PixelNoise":
        waves = None if self.waves is None else self.waves[part]
        return PixelNoise(self.seeds[part], self.cells, self.origin, self.variation, waves)
