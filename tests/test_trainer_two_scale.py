"""The two-scale discriminator: detail windows at full density, context box-downscaled."""

from __future__ import annotations

import pytest
import torch

from trainer.archs import build_arch
from trainer.checkpoint import load_checkpoint
from trainer.config import resolve
from trainer.errors import ConfigError
from trainer.loop import train
from trainer.two_scale import TwoScaleDiscriminator, _random_windows
from trainer_support import quiet, tiny_config, write_texture_folder


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_texture_folder(tmp_path_factory.mktemp("textures"))


def test_every_window_is_a_full_density_piece_of_its_own_image():
    x = torch.arange(3 * 3 * 20 * 24, dtype=torch.float32).view(3, 3, 20, 24)  # every pixel value unique
    windows = _random_windows(x, 8, 5).view(3, 5, 3, 8, 8)
    for i in range(3):
        for w in windows[i]:
            index = int(w[0, 0, 0]) - i * 3 * 20 * 24
            row, col = divmod(index, 24)
            assert row <= 12 and col <= 16
            assert torch.equal(w, x[i, :, row:row + 8, col:col + 8])


def test_context_sees_only_the_downscaled_crop_and_detail_sees_full_density():
    torch.manual_seed(0)
    d = TwoScaleDiscriminator(crop=64, scale=4, width=8).eval()
    x = torch.rand(2, 3, 64, 64)
    # ±0.3 alternating inside every 4×4 box: the box means, so the context input, are unchanged.
    checker = (torch.arange(64)[:, None] + torch.arange(64)[None, :]) % 2 * 0.6 - 0.3
    with torch.no_grad():
        torch.manual_seed(1)
        plain = d(x)
        torch.manual_seed(1)  # the same windows
        busy = d(x + checker)
    assert plain.shape == (2, 8)
    assert torch.equal(plain[:, 4:], plain[:, 4:5].expand(2, 4))  # one context logit, repeated
    torch.testing.assert_close(busy[:, 4:], plain[:, 4:], atol=1e-5, rtol=0)
    assert (busy[:, :4] - plain[:, :4]).abs().max() > 1e-3


def test_two_scale_options_are_checked(data, tmp_path):
    with pytest.raises(ConfigError, match="d-context-scale"):
        resolve(tiny_config(data, tmp_path, arch="dcgan", d_context_scale=2))
    with pytest.raises(ConfigError, match="16 × 4"):
        resolve(tiny_config(data, tmp_path, d_context_scale=4))  # 32 px crops: 8 px windows


def test_two_scale_run_resumes_bit_exactly(data, tmp_path):
    two_scale = dict(d_context_scale=2)
    train(tiny_config(data, tmp_path / "whole", steps=5, **two_scale), log=quiet)
    train(tiny_config(data, tmp_path / "split", steps=2, **two_scale), log=quiet)
    train(tiny_config(data, tmp_path / "split", steps=5, **two_scale), resume=True, log=quiet)
    whole, split = (load_checkpoint(tmp_path / name / "checkpoint.pt") for name in ("whole", "split"))
    assert any(k.startswith("context.") for k in whole["D"])
    for net in ("G", "D", "G_ema"):
        for key, value in whole[net].items():
            assert torch.equal(value, split[net][key]), f"{net}.{key} differs"


def test_a_one_discriminator_run_starts_a_two_scale_run_with_its_d_as_both_branches(data, tmp_path):
    """The CPU recipes train at 64 px crops against one D; going on at large crops judged at two
    scales keeps that D as the judge of full-density detail, so the texture is not redrawn, and
    as the first judge of the downscaled crop, so structure is not judged at random."""
    small = tmp_path / "small"
    train(tiny_config(data, small, steps=2), log=quiet)
    saved = load_checkpoint(small / "checkpoint.pt")["D"]
    config = resolve(tiny_config(data, tmp_path / "large", crop_size=64, d_context_scale=2, init_from=str(small)))
    arch = build_arch(config)
    torch.manual_seed(4)
    g, d = arch.build_generator(), arch.build_discriminator()
    arch.warm_start(g, str(small), d)
    for name, tensor in saved.items():
        assert torch.equal(d.state_dict()[f"detail.{name}"], tensor), name
        assert torch.equal(d.state_dict()[f"context.{name}"], tensor), name
    # Each branch judges a 32 px window as the old D judged that crop.
    old = build_arch(resolve(tiny_config(data, tmp_path / "again"))).build_discriminator()
    old.load_state_dict(saved)
    d.eval(), old.eval()
    window = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(d.detail(window), old(window), atol=1e-6)
        assert torch.allclose(d.context(window), old(window), atol=1e-6)
    said = []
    train(tiny_config(data, tmp_path / "large", steps=1, crop_size=64, d_context_scale=2, init_from=str(small)),
          log=said.append)
    assert any(f"generator and discriminator start from {small}" in line for line in said)
    # Windows of another size than the old D's crop need another D: refused, naming the option.
    other = build_arch(resolve(tiny_config(data, tmp_path / "x", crop_size=128, d_context_scale=2, init_from=str(small))))
    with pytest.raises(ConfigError, match="init-from: the discriminator of the run .* another architecture"):
        other.warm_start(other.build_generator(), str(small), other.build_discriminator())
    # And back: a two-scale run cannot start a one-D run (its context branch would be lost).
    with pytest.raises(ConfigError, match="init-from: the discriminator of the run .* another architecture"):
        back = build_arch(resolve(tiny_config(data, tmp_path / "y", init_from=str(tmp_path / "large"))))
        back.warm_start(back.build_generator(), str(tmp_path / "large"), back.build_discriminator())
