"""Derived maps (blender_ganart/core/derived_maps.py): NumPy only, no Blender, no torch needed.

Each test names the bug it guards: a filter that does not wrap (seams in tileable maps), a sign
or axis mix-up in the normals (DirectX-style −Y, transposed axes), normals that are not unit
length, and a border ridge on non-tileable textures.
"""

import numpy as np
import pytest

from blender_ganart.core.derived_maps import (MAP_NAMES, MapOptions, decode_normals, derive_maps,
                                         normal_from_height)
from blender_ganart.core.errors import SynthesisOptionsError


def _periodic_texture(size=96, seed=0):
    """A tileable colour texture with structure at many scales: random Fourier phases with a 1/f
    spectrum, so it wraps exactly and every band of the height filter sees something."""
    rng = np.random.default_rng(seed)
    f = np.sqrt(np.fft.fftfreq(size)[:, None] ** 2 + np.fft.fftfreq(size)[None, :] ** 2)
    f[0, 0] = 1.0
    channels = []
    for _ in range(3):
        spectrum = (rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))) / f
        spectrum[0, 0] = 0.0
        channel = np.real(np.fft.ifft2(spectrum))
        channels.append(channel)
    texture = np.stack(channels, axis=2)
    texture = (texture - texture.min()) / (texture.max() - texture.min())
    return texture.astype(np.float32)


@pytest.fixture(scope="module")
def texture():
    return _periodic_texture()


@pytest.fixture(scope="module")
def maps(texture):
    return derive_maps(texture)


def test_every_map_in_range_and_shape(texture, maps):
    assert list(maps) == list(MAP_NAMES)
    for name, values in maps.items():
        assert values.dtype == np.float32 and values.shape[:2] == texture.shape[:2], name
        assert values.min() >= 0.0 and values.max() <= 1.0, name
        assert values.std() > 0.01, f"{name} is flat"
    assert maps["normal"].shape == texture.shape


def test_normals_decode_to_unit_vectors_with_z_dominant(maps):
    """Bug guarded: normals stored unnormalised, or with Z not the dominant (outward) axis."""
    n = decode_normals(maps["normal"])
    length = np.linalg.norm(n, axis=2)
    assert abs(length.mean() - 1.0) < 0.02 and np.abs(length - 1.0).max() < 1e-4
    assert (n[..., 2] > np.abs(n[..., 0])).mean() > 0.95 and (n[..., 2] > np.abs(n[..., 1])).mean() > 0.95
    assert n[..., 2].min() > 0


def test_maps_of_a_tiled_texture_are_the_tiled_maps(texture, maps):
    """Every filter periodic: deriving from the texture repeated 2×2 must give each map repeated
    2×2. A single zero-padded, clamped or mirrored filter breaks this along the tile borders."""
    tiled = derive_maps(np.tile(texture, (2, 2, 1)))
    for name, values in maps.items():
        reps = (2, 2, 1) if values.ndim == 3 else (2, 2)
        np.testing.assert_allclose(tiled[name], np.tile(values, reps), atol=2e-4, err_msg=name)


def test_no_seam_where_the_maps_wrap(maps):
    """The wrap seam itself: the step from the last column to the first (and last row to the
    first) is no larger than a typical step between neighbouring interior columns (rows)."""
    for name, values in maps.items():
        for axis in (0, 1):
            v = np.moveaxis(values, axis, 0)
            interior = np.abs(np.diff(v, axis=0)).mean(axis=tuple(range(1, v.ndim)))
            seam = np.abs(v[0] - v[-1]).mean()
            assert seam < 1.5 * np.median(interior), (name, axis, seam, np.median(interior))


def test_normals_from_a_height_field_with_known_slopes():
    """h = a·sin(2πx/P) + b·cos(2πy/Q) with x to the right and y up (rows top to bottom): the
    OpenGL normal is normalise(−s·∂h/∂x, −s·∂h/∂y, 1). Bug guarded: a flipped Y (DirectX
    convention), swapped axes, a wrong sign or a missing strength."""
    rows, cols, period_x, period_y, a, b, strength = 64, 96, 48, 32, 0.3, 0.2, 3.0
    x = np.arange(cols)[None, :].astype(np.float64)
    y = (rows - 1 - np.arange(rows))[:, None].astype(np.float64)  # row 0 is the top: largest y
    wx, wy = 2 * np.pi / period_x, 2 * np.pi / period_y
    height = a * np.sin(wx * x) + b * np.cos(wy * y)
    dh_dx = a * wx * np.cos(wx * x) + 0 * y
    dh_dy = -b * wy * np.sin(wy * y) + 0 * x
    expected = np.stack([-strength * dh_dx, -strength * dh_dy, np.ones_like(dh_dx)], axis=2)
    expected /= np.linalg.norm(expected, axis=2, keepdims=True)
    got = decode_normals(normal_from_height(height.astype(np.float32), strength))
    # central differences see the slope times sin(ω)/ω (0.997 at P = 32): allow that, no more
    np.testing.assert_allclose(got, expected, atol=3e-3)
    # and the signs, stated plainly: on a slope rising to the right, the normal leans left
    ramp_right = np.tile(np.sin(2 * np.pi * np.arange(64) / 64), (64, 1)).astype(np.float32)
    n = decode_normals(normal_from_height(ramp_right, 1.0))
    assert n[10, 0, 0] < -0.05 and abs(n[10, 0, 1]) < 1e-3  # column 0: sin rising
    rising_up = ramp_right.T[::-1]  # rises towards the top rows
    n = decode_normals(normal_from_height(np.ascontiguousarray(rising_up), 1.0))
    assert n[-1, 10, 1] < -0.05 and abs(n[-1, 10, 0]) < 1e-3  # bottom row: rising upwards


def test_non_tileable_textures_get_no_border_ridge():
    """A texture whose edges do not match (a left-to-right ramp): filtered with wrap-around, the
    jump from its right edge back to its left would print a ridge along the borders of every
    map. Mirrored padding (tileable=False) keeps the border like the inside."""
    ramp = np.tile(np.linspace(0.1, 0.9, 128, dtype=np.float32)[None, :, None], (128, 1, 3))
    ramp += _periodic_texture(128, seed=3) * 0.2
    for tileable in (False, True):
        n = decode_normals(derive_maps(ramp, ("normal",), tileable=tileable)["normal"])
        lean = np.abs(n[..., 0]).mean(axis=0)  # per column
        border, inside = lean[[0, 1, -2, -1]].max(), lean[8:-8].max()
        if tileable:
            assert border > 3 * inside, (border, inside)  # the wrapped seam is there to find
        else:
            assert border < 1.2 * inside, (border, inside)


def test_strengths_scale_the_maps(texture):
    weak = derive_maps(texture, options=MapOptions(normal_strength=0.5, roughness_strength=0.5, ao_strength=0.5))
    strong = derive_maps(texture, options=MapOptions(normal_strength=4.0, roughness_strength=2.0, ao_strength=2.0))
    assert decode_normals(strong["normal"])[..., 2].mean() < decode_normals(weak["normal"])[..., 2].mean() - 0.01
    assert strong["roughness"].std() > 1.5 * weak["roughness"].std()
    assert strong["ao"].mean() < weak["ao"].mean() - 0.02
    flat = derive_maps(texture, ("roughness", "ao"), MapOptions(roughness_strength=0.0, ao_strength=0.0))
    assert np.all(flat["ao"] == 1.0) and np.allclose(flat["roughness"], 0.6)


def test_only_the_maps_asked_for(texture):
    assert list(derive_maps(texture, ("ao", "normal"))) == ["ao", "normal"]
    with pytest.raises(ValueError, match="unknown maps"):
        derive_maps(texture, ("specular",))


@pytest.mark.parametrize("spec, expected", [
    (None, None),
    (("normal", "roughness"), MapOptions(normal=True, roughness=True)),
    ({"normal": 3.0, "colour": None, "ao": None}, MapOptions(normal=True, ao=True, normal_strength=3.0)),
    ("height", MapOptions(height=True)),
])
def test_map_spec(spec, expected):
    assert MapOptions.from_spec(spec) == expected


@pytest.mark.parametrize("spec, message", [
    (("specular",), "Unknown map 'specular'"),
    ({"normal": -1.0}, "from 0 to 100"),
    ({"normal": float("nan")}, "from 0 to 100"),
    ({"ao": True}, "from 0 to 100"),
    ({"color": 2.0}, "no strength"),
])
def test_bad_map_spec_is_refused(spec, message):
    with pytest.raises(SynthesisOptionsError, match=message):
        MapOptions.from_spec(spec)
