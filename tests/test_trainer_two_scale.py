"""The two-scale discriminator: detail windows at full density, context box-downscaled."""

from __future__ import annotations

import pytest
import torch

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
