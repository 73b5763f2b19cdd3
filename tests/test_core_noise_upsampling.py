"""The generator's defences against the latent-cell lattice: periodic bilinear upsampling and
per-level pixel noise drawn from a counter-based RNG that NumPy alone computes."""

import numpy as np
import pytest
import torch

from blender_ganart.core.counter_rng import hashed_bits, normal_noise, uniform_noise
from blender_ganart.core.latent import PixelNoise, latent_field
from blender_ganart.core.network import LEGACY_OPTIONS, Generator, GeneratorConfig, upsample2
from blender_ganart.core.synthesis import SynthesisOptions, synthesize


def _splitmix_reference(key: int, row: int, col: int) -> int:
    """SplitMix64 written out with Python's unbounded integers, to check NumPy's wrapping maths."""
    mask = 2**64 - 1
    z = ((((row & 0xFFFFFFFF) << 32) | (col & 0xFFFFFFFF)) * 0x9E3779B97F4A7C15 + key) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def test_counter_rng_is_splitmix64_of_the_position():
    rows, cols = np.array([0, 1, -1, 2**31 - 1, -(2**31)]), np.array([0, 7, -3, 65536])
    bits = hashed_bits(12345, rows, cols)
    assert bits.dtype == np.uint64
    assert [[int(v) for v in row] for row in bits] == [[_splitmix_reference(12345, int(r), int(c)) for c in cols] for r in rows]
    # Pinned: if these change, every seed of every model gives another texture.
    assert [hex(int(v)) for v in hashed_bits(12345, np.array([0, -1]), np.array([0, 7])).ravel()] == [
        "0xf36cf1164265dd51", "0x1f6622b40cb38e42", "0x5f051d4ca8e6b80b", "0x660a308261794364"]
    assert uniform_noise(1, np.arange(2), np.arange(2)).dtype == np.float32


def test_noise_has_the_moments_the_generator_trained_with():
    u = uniform_noise(7, np.arange(512), np.arange(512))
    assert abs(u.mean()) < 0.01 and abs(u.var() - 1) < 0.01
    assert u.min() >= -np.sqrt(3) and u.max() < np.sqrt(3)
    n = normal_noise(7, np.arange(512), np.arange(512))
    assert abs(n.mean()) < 0.01 and abs(n.var() - 1) < 0.01
    # neighbours are independent: no structure for the generator to print
    assert abs(np.corrcoef(u[:, :-1].ravel(), u[:, 1:].ravel())[0, 1]) < 0.01


def test_pixel_noise_is_a_function_of_position_and_wraps_with_the_field():
    noise = PixelNoise((3, 4), cells=(2, 3), origin=(-1, 5))
    level = 2  # 4 px per cell: the field is 8 × 12 px at this level
    whole = noise(level, 0, 0, 8, 12)
    assert whole.shape == (2, 1, 8, 12) and not np.array_equal(whole[0], whole[1])
    np.testing.assert_array_equal(noise(level, 3, 5, 4, 6), whole[:, :, 3:7, 5:11])
    # a window that starts before the field or runs past it sees the wrap-around
    np.testing.assert_array_equal(noise(level, -2, -3, 8, 12), np.roll(whole, (2, 3), axis=(2, 3)))
    np.testing.assert_array_equal(noise[1:](level, 0, 0, 8, 12), whole[1:])
    # the same absolute cells in a shifted field give the same noise
    other = PixelNoise((3,), cells=(4, 4), origin=(0, 5))
    np.testing.assert_array_equal(other(level, 0, 0, 4, 12)[0], whole[0, :, 4:8])


def test_variation_scales_the_pixel_noise_too():
    full = PixelNoise((1,), (2, 2))(1, 0, 0, 4, 4)
    half = PixelNoise((1,), (2, 2), variation=0.5)(1, 0, 0, 4, 4)
    np.testing.assert_allclose(half, full * 0.5)


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_upsampling_wraps_around(mode):
    x = torch.randn(1, 3, 5, 7)
    np.testing.assert_allclose(upsample2(x.tile(1, 1, 2, 2), mode), upsample2(x, mode).tile(1, 1, 2, 2), atol=1e-6)


def test_bilinear_upsampling_does_not_replicate_pixels():
    """Nearest upsampling repeats each value in a 2×2 block; stacked five times from the latent
    cells that is a 32 px block grid, the lattice the old models printed."""
    x = torch.randn(1, 1, 8, 8)
    near, lin = upsample2(x, "nearest"), upsample2(x, "bilinear")
    assert torch.equal(near[..., ::2, ::2], near[..., 1::2, 1::2])
    assert (lin[..., ::2, ::2] - lin[..., 1::2, 1::2]).abs().mean() > 0.1
    torch.testing.assert_close(lin.mean(), x.mean(), atol=1e-6, rtol=0)  # an interpolation, not a shift


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_fused_path_equals_training_path_for_each_upsampling(mode):
    torch.manual_seed(3)
    g = Generator(GeneratorConfig(local_dim=2, global_dim=2, widths=(8, 8, 4), extra_convs=(0, 1, 0), upsample=mode))
    z = torch.randn(1, 4, 3, 4)
    noise = PixelNoise((0,), (3, 4))
    with torch.no_grad():
        plain = g.train()(z, noise)
        fused = g.eval()(z, noise)
    torch.testing.assert_close(fused, plain, atol=2e-5, rtol=0)


def test_files_from_before_noise_and_bilinear_keep_their_architecture():
    stored = GeneratorConfig(widths=(8, 4), extra_convs=(0, 0)).to_dict()
    for key in LEGACY_OPTIONS:
        del stored[key]
    old = GeneratorConfig.from_dict(stored)
    assert old.upsample == "nearest" and old.noise is False
    assert not any("noise" in name for name in Generator(old).state_dict())
    assert GeneratorConfig.from_dict(GeneratorConfig().to_dict()) == GeneratorConfig()


@pytest.mark.parametrize("size", [(16, 16), (33, 47)])
def test_tileable_textures_under_one_cell_have_detail(default_generator, size):
    """A tileable texture at most one latent cell wide has a single latent value; without pixel
    noise it came out flat or as stripes (std 0), with it it has detail in both directions."""
    width, height = size
    texture = synthesize(default_generator, SynthesisOptions(5, width, height, tileable=True))
    assert texture.std(axis=(0, 1)).min() > 1e-3
    assert np.abs(np.diff(texture, axis=0)).mean() > 1e-3 and np.abs(np.diff(texture, axis=1)).mean() > 1e-3


def test_field_and_noise_need_no_torch():
    """The latents are NumPy arrays: the add-on's NumPy runtime draws the very same numbers."""
    config = GeneratorConfig(local_dim=3, global_dim=2, widths=(4, 4), extra_convs=(0, 0))
    field = latent_field(config, 99, 2, 3, origin=(-1, 2), variation=0.5)
    assert isinstance(field, np.ndarray) and field.dtype == np.float32 and field.shape == (1, 5, 2, 3)
