"""Plane waves for regular patterns: a seed's wave vectors and phases, and their planes at each level.

Brick courses, planks and tiles repeat across the whole texture, far beyond the generator's
receptive field (a few latent cells). With only i.i.d. noise to go on, the generator can keep
such rows aligned only by tying them to the one coordinate system it has, the 32 px latent cell
grid, and that draws a lattice. Periodic Spatial GAN's answer (Bergmann et al., 2017) is a global
coordinate system: sinusoid channels sin(2π k·x + φ) whose wave vectors k the network learns as a
function of the seed's global code, so each seed gets its own course height and direction.

Here P waves are added, each with its own learned per-channel weight, after the first conv of the
levels listed by architecture.periodic_levels (16 to 4 output pixels per pixel: a wave of a brick
course's period cannot be drawn at the 32 px cell level, whose Nyquist period is 64 px). Exactness
rules:
- the latent field is periodic, so every wave must be too: each component of k is rounded to a
  whole number of cycles over the field (`quantize`), which makes tiled == untiled and the wrap
  seam exact. Training rounds the same way (straight through), on its own field size;
- k is computed from the float32 global code in float64 and rounded, so both runtimes get the
  same rational k; the planes are computed here, in float64, for both (as the pixel noise is).
NumPy only, no torch: the add-on's NumPy runtime draws from here; network.py has the training twin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .counter_rng import hashed_bits
from .seeds import mix

_PHASE_STREAM = 0x7068617365  # keeps the waves' phases apart from the latent field's streams


def is_wave_parameter(name: str) -> bool:
    """Whether a state-dict name is one of the plane waves' parameters (architecture.parameter_shapes):
    a level's per-channel weights or the map from the global code to the wave vectors."""
    return name.endswith(".periodic_weight") or name.startswith("waves.")


def quantize(k: np.ndarray, cells: tuple[int, int]) -> np.ndarray:
    """(..., 2) wave vectors (rows, columns; cycles per cell) → the nearest that are periodic over
    a field of `cells` (a whole number of cycles along each axis)."""
    period = np.asarray(cells, dtype=np.float64)
    return np.round(np.asarray(k, dtype=np.float64) * period) / period


def wave_vectors(weight: np.ndarray, bias: np.ndarray, codes: np.ndarray, cells: tuple[int, int]) -> np.ndarray:
    """(N, global_dim) global codes → (N, P, 2) wave vectors, quantised to the field.

    weight (2P, global_dim) and bias (2P,) are the model's learned map ("waves.weight/bias")."""
    w = np.asarray(weight, dtype=np.float64)
    k = np.asarray(codes, dtype=np.float64) @ w.T + np.asarray(bias, dtype=np.float64)
    return quantize(k.reshape(len(codes), -1, 2), cells)


def seed_phases(seed: int, count: int) -> np.ndarray:
    """(count,) phases in [0, 2π), a pure function of the seed (53 random bits each)."""
    bits = hashed_bits(mix(seed, _PHASE_STREAM), np.zeros(1, dtype=np.int64), np.arange(count))[0]
    return (bits >> np.uint64(11)).astype(np.float64) * (2.0**-53 * 2.0 * np.pi)


# Anti-aliasing: a level samples a wave at 2^level pixels per cell. Near that grid's Nyquist
# frequency (½ cycle per pixel) the samples alternate in step with the pixel grid, and after the
# upsamplings that draws stripes locked to the cell grid (a Bricks (material) trial drew 8 px
# stripes on one seed, lattice score 11.6, from a wave of 1.9 cycles per cell at level 2). So each
# wave fades out at each level, by a raised cosine from BAND_PASS to BAND_STOP cycles per pixel of
# its faster axis; the finer levels still draw it.
BAND_PASS, BAND_STOP = 0.25, 0.5


def band_gain(k: np.ndarray, level: int) -> np.ndarray:
    """(..., 2) wave vectors (cycles per cell) → (...) their weight at level `level`, in [0, 1]:
    1 up to BAND_PASS cycles per pixel along both axes, 0 from BAND_STOP on, smooth between."""
    per_pixel = np.abs(np.asarray(k, dtype=np.float64)).max(axis=-1) / 2.0**level
    t = np.clip((per_pixel - BAND_PASS) / (BAND_STOP - BAND_PASS), 0.0, 1.0)
    return 0.5 + 0.5 * np.cos(np.pi * t)  # cos²(πt/2), exactly 1 and 0 at the ends


def cell_positions(pixels: np.ndarray, level: int) -> np.ndarray:
    """Absolute pixel indices of level `level` → their centres in cells, float64: pixel x sits at
    (x + ½)/2^level - ½, where ×2 upsamplings with align_corners=False put it, so level 0's
    pixels are the cells themselves."""
    scale = 2.0**level
    return (np.asarray(pixels, dtype=np.float64) + 0.5) / scale - 0.5


@dataclass(frozen=True)
class Waves:
    """The waves of a batch of textures on one periodic field: k (N, P, 2) already quantised to
    `cells`, phases (N, P), and the field's first cell `origin` (absolute cells, as PixelNoise)."""

    k: np.ndarray
    phases: np.ndarray
    cells: tuple[int, int]
    origin: tuple[int, int] = (0, 0)

    def planes(self, level: int, top: int, left: int, height: int, width: int) -> np.ndarray:
        """(N, P, height, width) float32 in [-1, 1], pixel (top, left) of level `level` first,
        each wave weighted by its band_gain at this level.

        Coordinates are taken modulo the field as the pixel noise's are; with whole cycles over
        the field that changes nothing but the size of the numbers sin is given."""
        scale = 2**level
        rows = (np.arange(top, top + height) % (self.cells[0] * scale)) + self.origin[0] * scale
        cols = (np.arange(left, left + width) % (self.cells[1] * scale)) + self.origin[1] * scale
        y, x = cell_positions(rows, level), cell_positions(cols, level)
        turn = 2.0 * np.pi
        row_part = turn * self.k[:, :, 0, None] * y  # (N, P, H)
        col_part = turn * self.k[:, :, 1, None] * x + self.phases[:, :, None]  # (N, P, W)
        gain = band_gain(self.k, level)[:, :, None, None]
        return (gain * np.sin(row_part[..., :, None] + col_part[..., None, :])).astype(np.float32)

    def __getitem__(self, part: slice) -> "Waves":
        return Waves(self.k[part], self.phases[part], self.cells, self.origin)
