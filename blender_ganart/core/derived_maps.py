"""Height, normal, roughness and AO maps derived from a colour texture. NumPy only (no torch, no bpy).

For models that generate colour alone. The method is the classic one of Materialize and AwesomeBump:
- **height**: the luminance split into band-passes at several scales (differences of Gaussians,
  1 to 32 px), each band equalised to unit standard deviation, summed, and mapped to [0, 1]
  (mean 0.5, ±HEIGHT_SPREAD standard deviations to the ends). Dark reads as low. Scales are in
  pixels: a model paints at a fixed texel density, so a larger texture shows more surface, not
  larger features, and the same pixel scales fit every size.
- **normal**: tangent-space OpenGL (+X right, +Y up = towards the top row), from the height by
  wrap-around central differences: n = normalise(−s·∂h/∂x, −s·∂h/∂y, 1), with h in [0, 1] per
  pixel and s the strength; stored as n·0.5 + 0.5.
- **roughness** (an estimate): a base value moved up where the colour is dark (cavities, dust)
  and where it has much fine detail (local energy of the finest band), down elsewhere.
- **ambient occlusion**: how far each point lies below the average height around it (radii 2, 8,
  32 px); 1 = open, lower = occluded.

Every filter is periodic: the Gaussians are applied as products in the Fourier domain (rfft2) and
the differences are np.roll, so a tileable texture gives tileable maps, exactly: deriving maps of
a texture tiled 2×2 gives the maps tiled 2×2 (tests/test_core_derived_maps.py checks it). Global
statistics are means and standard deviations, which tiling does not change either.

A texture that is not tileable has a seam where its edges wrap; filtered periodically, that seam
would show as a ridge along the borders of the maps. So with `tileable=False` the luminance is
first split into a periodic and a smooth component (Moisan, "Periodic plus smooth image
decomposition", 2011: the smooth part is the solution of a Poisson equation driven by the jumps
across the borders, one more FFT) and the maps come from the periodic component. That component
keeps all the texture's detail and loses only the edge mismatch (a left-to-right brightness ramp,
for instance, goes entirely into the smooth part, which a band-passed height ignores anyway).
Mirrored padding was tried first and measured worse: a mirrored ramp has a kink at the border
that the height filters print as a ridge, and odd mirroring shifts the level by twice the edge
pixel's noise.
"""

from __future__ import annotations

import math

import numpy as np

from .map_options import MAP_NAMES, MapOptions

__all__ = ["MAP_NAMES", "MapOptions", "derive_maps", "normal_from_height", "decode_normals", "working_bytes"]

HEIGHT_SCALES = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)  # px; band k is between scales k-1 and k (0 = the pixel)
HEIGHT_SPREAD = 2.5  # standard deviations of height from the mid level to 0 or to 1
AO_RADII = (2.0, 8.0, 32.0)  # px
ROUGHNESS_BASE = 0.6
LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)  # Rec. 709


def derive_maps(color, names=MAP_NAMES, options: MapOptions | None = None, tileable: bool = True,
                should_cancel=None) -> dict:
    """(H, W, 3) colour in [0, 1] → {name: float32 map in [0, 1]} for the names asked for.

    normal: (H, W, 3) encoded n·0.5+0.5; height, roughness, ao: (H, W). Rows top to bottom.
    should_cancel: checked between maps; raising is left to the caller's callback.
    """
    options = options or MapOptions()
    color = np.asarray(color, dtype=np.float32)
    if color.ndim != 3 or color.shape[2] < 3:
        raise ValueError(f"expected an (H, W, 3) colour texture, got shape {color.shape}")
    unknown = set(names) - set(MAP_NAMES)
    if unknown:
        raise ValueError(f"unknown maps {sorted(unknown)}; choose from {MAP_NAMES}")
    luminance = color[..., :3] @ LUMA  # (H, W)
    spectrum = _Spectrum(luminance)
    if not tileable:
        spectrum.values -= _smooth_component_spectrum(luminance)
    if not names:
        return {}
    to_height = height_transfer(spectrum)
    relief = spectrum.filtered(to_height)  # (H, W), mean 0: the height before it is put in [0, 1]
    height = _to_unit(relief, HEIGHT_SPREAD) if {"normal", "height"} & set(names) else None
    maps: dict = {}
    for name in names:
        if should_cancel is not None:
            should_cancel()
        if name == "normal":
            maps[name] = normal_from_height(height, options.normal_strength)
        elif name == "roughness":
            maps[name] = roughness_map(spectrum, relief, options.roughness_strength)
        elif name == "height":
            maps[name] = height
        else:
            maps[name] = ao_map(spectrum, to_height, options.ao_strength)
    return maps


def working_bytes(width: int, height: int) -> int:
    """derive_maps' peak working memory beyond its outputs: spectra, filters and numpy's FFT
    temporaries. Measured with tracemalloc at 1024², all maps: 60 bytes per pixel; 80 allowed."""
    return width * height * 80


class _Spectrum:
    """One real 2-D FFT of an image, and Gaussian transfer functions on its frequency grid."""

    def __init__(self, image):
        self.shape = image.shape
        self.values = np.fft.rfft2(image)  # (H, W//2+1) complex
        self._fy2 = np.fft.fftfreq(image.shape[0]) ** 2  # cycles per pixel, squared
        self._fx2 = np.fft.rfftfreq(image.shape[1]) ** 2
        self._power = None

    def gaussian(self, sigma: float):
        """The transfer function of a Gaussian blur of `sigma` px, exp(−2π²σ²f²): periodic, and
        separable, so it is an outer product of two 1-D curves (float32)."""
        k = -2.0 * math.pi**2 * sigma**2
        return np.outer(np.exp(k * self._fy2), np.exp(k * self._fx2)).astype(np.float32)

    def filtered(self, transfer):
        """The image through a filter given by its transfer function; float32, same shape."""
        return np.fft.irfft2(self.values * transfer, s=self.shape).astype(np.float32)

    def std_through(self, transfer) -> float:
        """The standard deviation the filtered image would have (Parseval), without filtering it."""
        if self._power is None:
            power = (np.abs(self.values) ** 2).astype(np.float32)
            power[0, 0] = 0.0  # the mean
            power[:, 1:(self.shape[1] + 1) // 2] *= 2.0  # rfft keeps one of each ± pair of columns
            self._power = power
        total = float(np.einsum("ij,ij,ij->", self._power, transfer, transfer, dtype=np.float64))
        return math.sqrt(max(total, 0.0)) / (self.shape[0] * self.shape[1])


def _smooth_component_spectrum(image):
    """The rfft2 of the smooth component of `image` (Moisan 2011); image − it is periodic."""
    rows, cols = image.shape
    jumps = np.zeros_like(image, dtype=np.float64)
    jumps[0, :] += image[-1, :] - image[0, :]
    jumps[-1, :] += image[0, :] - image[-1, :]
    jumps[:, 0] += image[:, -1] - image[:, 0]
    jumps[:, -1] += image[:, 0] - image[:, -1]
    cos_y = np.cos(2 * math.pi * np.fft.fftfreq(rows))[:, None]
    cos_x = np.cos(2 * math.pi * np.fft.rfftfreq(cols))[None, :]
    denominator = 2 * cos_y + 2 * cos_x - 4
    denominator[0, 0] = 1.0
    smooth = np.fft.rfft2(jumps) / denominator
    smooth[0, 0] = 0.0
    return smooth


def height_transfer(spectrum: _Spectrum):
    """Σ over bands of (finer Gaussian − coarser Gaussian) / the band's standard deviation."""
    transfer = np.zeros(spectrum.values.shape, dtype=np.float32)
    finer = np.ones_like(transfer)
    for sigma in HEIGHT_SCALES:  # the same bands at every size: maps of a 2×2 tiling tile
        coarser = spectrum.gaussian(sigma)
        band = finer - coarser
        std = spectrum.std_through(band)
        if std > 1e-8:
            transfer += band / np.float32(std)
        finer = coarser
    return transfer


def normal_from_height(height, strength: float = 2.0):
    """(H, W) height in [0, 1] → (H, W, 3) OpenGL tangent-space normals encoded as n·0.5+0.5.

    Wrap-around central differences; rows run top to bottom, so +Y (up) is towards row − 1.
    """
    height = np.asarray(height, dtype=np.float32)
    normal = np.empty(height.shape + (3,), dtype=np.float32)
    normal[..., 0] = _wrap_difference(height, axis=1) * (-0.5 * strength)  # −s·∂h/∂x, +x = next column
    normal[..., 1] = _wrap_difference(height, axis=0) * (0.5 * strength)  # −s·∂h/∂y, +y = previous row
    normal[..., 2] = 1.0
    normal /= np.sqrt(np.einsum("ijk,ijk->ij", normal, normal))[..., None]
    normal *= 0.5
    normal += 0.5
    return normal


def _wrap_difference(values, axis: int):
    """values[i+1] − values[i−1] along `axis`, wrapping around (np.roll without its copies)."""
    out = np.empty_like(values)
    v = np.moveaxis(values, axis, 0)
    o = np.moveaxis(out, axis, 0)
    np.subtract(v[2:], v[:-2], out=o[1:-1])
    np.subtract(v[1:2], v[-1:], out=o[:1])
    np.subtract(v[:1], v[-2:-1], out=o[-1:])
    return out


def decode_normals(encoded):
    """(H, W, 3) stored in [0, 1] → vectors in [−1, 1] (not renormalised, so tests see the real length)."""
    return np.asarray(encoded, dtype=np.float32)[..., :3] * 2.0 - 1.0


def roughness_map(spectrum: _Spectrum, relief, strength: float = 1.0):
    """ROUGHNESS_BASE moved up where the surface is low/dark (relief: the unclipped height, any
    scale) and where fine detail is strong (local RMS of the finest band), each in standard
    deviations."""
    fine = spectrum.filtered(1.0 - spectrum.gaussian(1.5))
    detail = np.sqrt(np.maximum(_smooth_energy(fine * fine, 4.0), 0.0))
    cue = _standardised(detail) - _standardised(relief)
    return np.clip(ROUGHNESS_BASE + strength * 0.1 * cue, 0.0, 1.0).astype(np.float32)


def _smooth_energy(energy, sigma: float):
    """A Gaussian blur of `sigma` px of a non-negative map, made at half resolution (a quarter of
    the FFT work; the result is smooth at that scale anyway) when both sides are even: 2×2 means,
    the blur, and periodic linear interpolation back. Every step wraps around."""
    rows, cols = energy.shape
    if rows % 2 or cols % 2 or sigma < 2:
        small = _Spectrum(energy)
        return small.filtered(small.gaussian(sigma))
    half = energy.reshape(rows // 2, 2, cols // 2, 2).mean(axis=(1, 3))
    small = _Spectrum(half)
    half = small.filtered(small.gaussian(sigma / 2))
    return _upsample2(_upsample2(half, axis=0), axis=1)


def _upsample2(values, axis: int):
    """×2 along `axis` by linear interpolation, periodic; sample i of the input sits at 2i + 0.5."""
    before, after = np.roll(values, 1, axis=axis), np.roll(values, -1, axis=axis)
    out = np.stack((0.25 * before + 0.75 * values, 0.75 * values + 0.25 * after), axis=axis + 1)
    shape = list(values.shape)
    shape[axis] *= 2
    return out.reshape(shape)


def ao_map(spectrum: _Spectrum, height_filter, strength: float = 1.0):
    """1 where the surface is open; darker where it lies below the mean height around it (radii
    AO_RADII). height_filter: the transfer function that makes the (unclipped) height, so the
    depth below the surroundings is one more filter of the same spectrum: (mean blur − 1)·height."""
    around = sum(spectrum.gaussian(r) for r in AO_RADII) / np.float32(len(AO_RADII))
    depth = np.maximum(spectrum.filtered((around - 1.0) * height_filter), 0.0)
    scale = float(np.sqrt(np.mean(depth * depth, dtype=np.float64))) + 1e-8
    return np.clip(1.0 - strength * 0.25 * depth / scale, 0.0, 1.0).astype(np.float32)


def _standardised(values):
    values = values - values.mean()
    return values / (values.std() + 1e-8)


def _to_unit(values, spread: float):
    """Mean 0.5, ±spread standard deviations to 0 and 1, clipped."""
    return np.clip(0.5 + _standardised(values) * (0.5 / spread), 0.0, 1.0).astype(np.float32)
