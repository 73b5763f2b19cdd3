"""The generator network: shapes, configurable channels, exact shift-equivariance, fused path."""

import numpy as np
import pytest
import torch

from blender_ganart.core.latent import PixelNoise
from blender_ganart.core.network import Generator, GeneratorConfig, circular_conv, upsample2, upsample_conv


def test_output_shape_follows_latent_field_and_config():
    config = GeneratorConfig(out_channels=5, local_dim=3, global_dim=2, widths=(16, 8, 8, 4), extra_convs=(0, 1, 0, 0))
    generator = Generator(config).eval()
    with torch.no_grad():
        out = generator(torch.randn(2, config.latent_dim, 3, 5))
    assert config.upsampling == 8
    assert out.shape == (2, 5, 24, 40)
    assert out.abs().max() <= 1.0


@pytest.mark.parametrize("bad", [dict(widths=()), dict(widths=(8, 0)), dict(extra_convs=(1,)), dict(out_channels=0)])
def test_invalid_config_is_refused(bad):
    with pytest.raises(ValueError):
        GeneratorConfig(**bad)


def test_config_round_trips_through_plain_dict():
    config = GeneratorConfig(out_channels=4, widths=(8, 4), extra_convs=(0, 1))
    assert GeneratorConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown"):
        GeneratorConfig.from_dict({**config.to_dict(), "surprise": 1})


def test_tiling_the_latent_tiles_the_output_exactly(default_generator):
    """G(tile(z)) == tile(G(z)): the property that makes textures seamless."""
    z = torch.randn(1, default_generator.config.latent_dim, 3, 2)
    noise = PixelNoise((4,), (3, 2))  # periodic with the small field
    with torch.no_grad():
        small = default_generator(z, noise)
        big = default_generator(z.tile(1, 1, 2, 2), noise)
    torch.testing.assert_close(big, small.tile(1, 1, 2, 2), atol=2e-5, rtol=0)


def test_generator_is_shift_equivariant_by_whole_cells(small_generator):
    z = torch.randn(1, small_generator.config.latent_dim, 5, 6)
    f = small_generator.config.upsampling
    noise = PixelNoise((9,), (5, 6))

    def shifted_noise(level, top, left, height, width):  # the same noise, moved with the field
        return noise(level, top - 2 * 2**level, left - 3 * 2**level, height, width)

    with torch.no_grad():
        shifted = small_generator(torch.roll(z, (2, 3), dims=(2, 3)), shifted_noise)
        expected = torch.roll(small_generator(z, noise), (2 * f, 3 * f), dims=(2, 3))
    torch.testing.assert_close(shifted, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_upsample_conv_is_the_conv_of_the_upsampled_input_in_value_and_gradient(mode):
    """The low-resolution phase conv that training and inference both use against its definition:
    upsample ×2, then the circular 3×3 conv, gradients for the input, weight and bias included."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(5, 4, 3, padding=0).double()
    x = torch.randn(2, 5, 6, 7, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(2, 4, 12, 14, dtype=torch.float64)
    results = []
    for compute in (lambda: upsample_conv(x, conv, mode), lambda: circular_conv(upsample2(x, mode), conv)):
        x.grad = conv.weight.grad = conv.bias.grad = None
        y = compute()
        (y * upstream).sum().backward()
        results.append((y.detach(), x.grad, conv.weight.grad, conv.bias.grad))
    for fused, defined in zip(*results):
        torch.testing.assert_close(fused, defined, atol=1e-12, rtol=0)


def test_fused_inference_path_equals_training_path(default_generator):
    z = torch.randn(1, default_generator.config.latent_dim, 2, 3)
    noise = PixelNoise((1,), (2, 3))
    with torch.no_grad():
        fused = default_generator.eval()(z, noise)
        default_generator.train()
        plain = default_generator(z, noise)
        default_generator.eval()
    torch.testing.assert_close(fused, plain, atol=5e-5, rtol=0)


def test_head_halo_covers_the_receptive_field(small_generator):
    """Perturbing the field beyond the halo must not change a pixel; within it, it may."""
    config = small_generator.config
    halo_cells = small_generator.head_halo(0)
    z = torch.randn(1, config.latent_dim, 2 * halo_cells + 3, 2 * halo_cells + 3)
    centre = halo_cells + 1
    far = z.clone()
    far[:, :, :, centre + halo_cells + 1 :] += 5.0  # columns further than the halo from the centre cell
    f = config.upsampling
    noise = PixelNoise((2,), tuple(z.shape[2:]))
    with torch.no_grad():
        a = small_generator(z, noise)[:, :, centre * f : (centre + 1) * f, centre * f : (centre + 1) * f]
        b = small_generator(far, noise)[:, :, centre * f : (centre + 1) * f, centre * f : (centre + 1) * f]
    torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_flops_count_matches_a_hand_count():
    config = GeneratorConfig(local_dim=1, global_dim=1, widths=(4, 2), extra_convs=(0, 0))
    generator = Generator(config)
    # level 0: 2→4 conv at 1/4 of the output pixels; level 1: fused 4→2 conv (4·2 outputs at 1/4);
    # output: 2→3 conv per output pixel.
    expected = 2 * 9 * (2 * 4 / 4 + 4 * 8 / 4 + 2 * 3)
    assert generator.flops_per_output_pixel() == pytest.approx(expected)
    assert np.isfinite(Generator(GeneratorConfig()).flops_per_output_pixel())


def test_fused_path_follows_in_place_weight_updates(small_generator):
    """Regression: the trainer's EMA copy stays in eval mode while its weights are updated in
    place; a cached fused kernel must not keep serving the old weights."""
    import copy

    ema = copy.deepcopy(small_generator).eval()
    z = torch.randn(1, ema.config.latent_dim, 2, 2)
    noise = PixelNoise((3,), (2, 2))
    with torch.no_grad():
        before = ema(z, noise)
        for p in ema.parameters():
            p.mul_(0.5)  # what an EMA lerp_ does: same tensors, new values
        after = ema(z, noise)
        ema.train()
        plain = ema(z, noise)
        ema.eval()
    assert (after - before).abs().max() > 1e-3
    torch.testing.assert_close(after, plain, atol=1e-5, rtol=0)


def test_fused_path_runs_with_weights_made_in_inference_mode(small_config):
    """Weights created inside inference mode have no version counter for the kernel cache."""
    from blender_ganart.core.network import Generator

    torch.manual_seed(5)
    reference = Generator(small_config).eval()
    with torch.inference_mode():
        made_there = Generator(small_config).eval()
        made_there.load_state_dict(reference.state_dict())
        z = torch.randn(1, small_config.latent_dim, 3, 3)
        noise = PixelNoise((5,), (3, 3))
        assert torch.equal(made_there(z, noise), reference(z, noise))
