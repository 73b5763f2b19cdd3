"""The trainer's pure parts: losses, penalties, augmentations, metrics, networks, config."""

from __future__ import annotations

import argparse
import io
import json
import math
import re

import numpy as np
import pytest
import torch

from blender_ganart.core.latent import latent_field
from blender_ganart.core.network import Generator
from trainer_support import tiny_config
from trainer import augment as aug
from trainer.adaptive_augment import AugmentStrength
from trainer.distributed import DistInfo
from trainer import losses
from trainer.config import PRESETS, TrainConfig, load_config, override, refuse_fixed_options, resolve, resumable_options
from trainer.errors import ConfigError
from trainer.flags import add_train_arguments, as_flags, given_train_options
from trainer.metrics import (as_nchw, colour_distance, facing_out, laplacian_pyramid, real_vs_real_floor, steeper_than_data,
                             swd, swd_per_level)
from trainer.archs import build_arch
from trainer.batch_norm import BatchNormConvBlock, fold_batch_norm, has_batch_norm
from trainer.best import BestKeeper
from trainer.run_measure import facing_judgement
from trainer.checkpoint import load_checkpoint, save_checkpoint
from trainer.progress import ProgressLine

# ---- losses ---------------------------------------------------------------------------------------


def test_losses_match_their_formulas_at_known_logits():
    zero = torch.zeros(4)
    assert losses.d_logistic(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert losses.g_nonsaturating(zero).item() == pytest.approx(math.log(2))
    assert losses.g_minimax(zero).item() == pytest.approx(-math.log(2))
    assert losses.d_hinge(torch.full((3,), 2.0), torch.full((3,), -2.0)).item() == 0.0  # both beyond the margin
    assert losses.d_hinge(zero, zero).item() == 2.0
    assert losses.d_least_squares(torch.ones(2), torch.zeros(2)).item() == 0.0
    assert losses.g_least_squares(torch.zeros(2)).item() == 0.5
    assert losses.d_wasserstein(torch.tensor([3.0]), torch.tensor([1.0])).item() == -2.0


@pytest.mark.parametrize("kind", sorted(losses.LOSSES))
def test_every_loss_pushes_d_and_g_the_right_way(kind):
    d_fn, g_fn = losses.LOSSES[kind]
    real = torch.full((5,), 0.5, requires_grad=True)  # 0.5: away from every loss's optimum
    fake = torch.full((5,), 0.5, requires_grad=True)
    d_fn(real, fake).backward()
    assert (real.grad < 0).all() and (fake.grad > 0).all()  # D: raise real logits, lower fake ones
    fake_g = torch.full((5,), 0.5, requires_grad=True)
    g_fn(fake_g).backward()
    assert (fake_g.grad < 0).all()  # G: raise D's opinion of its fakes


def test_r1_and_gradient_penalty_of_a_linear_discriminator():
    w = torch.randn(1, 3, 4, 4)

    def linear_d(x):
        return (x * w).sum(dim=(1, 2, 3))

    x = torch.randn(6, 3, 4, 4, requires_grad=True)
    assert losses.r1_penalty(linear_d(x), x).item() == pytest.approx(w.pow(2).sum().item(), rel=1e-5)
    w_unit = w / w.norm()
    gp = losses.gradient_penalty(lambda v: (v * w_unit).sum(dim=(1, 2, 3)), torch.randn(6, 3, 4, 4), torch.randn(6, 3, 4, 4))
    assert gp.item() == pytest.approx(0.0, abs=1e-6)


# ---- augmentation --------------------------------------------------------------------------------


def test_translation_wraps_around_and_keeps_every_pixel():
    torch.manual_seed(0)
    x = torch.randn(8, 3, 16, 16)
    y = aug.translation(x)
    assert not torch.equal(x, y)
    for a, b in zip(x, y):  # a wrapped shift is a permutation of the pixels: nothing is zero-filled
        assert torch.equal(a.flatten().sort().values, b.flatten().sort().values)
        assert any(torch.equal(torch.roll(a, (dy, dx), (1, 2)), b) for dy in range(-2, 3) for dx in range(-2, 3))


def test_seam_shift_rolls_real_and_fake_by_the_same_amount():
    torch.manual_seed(3)
    real, fake = torch.randn(2, 3, 16, 16), torch.randn(2, 3, 16, 16)
    r, f = aug.seam_shift(real, fake)
    matches = [(dy, dx) for dy in range(16) for dx in range(16)
               if torch.equal(torch.roll(real, (dy, dx), (2, 3)), r) and torch.equal(torch.roll(fake, (dy, dx), (2, 3)), f)]
    assert len(matches) == 1


def test_augmentations_are_differentiable_and_cutout_removes_a_quarter():
    torch.manual_seed(1)
    x = torch.rand(16, 3, 32, 32, requires_grad=True)
    out = aug.augment(x, ("color", "translation", "cutout"))
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    cut = aug.cutout(torch.ones(16, 3, 32, 32))
    assert (cut == 0).float().mean().item() == pytest.approx(0.25)


def test_augmentations_apply_to_each_image_with_probability_p():
    """At p = 0 D sees the images as they are; at p = 1 exactly what the ops alone make (the same
    draws, so runs from before p existed go on unchanged); in between, some images of a batch are
    augmented and the others left whole."""
    x = torch.rand(64, 3, 16, 16)
    torch.manual_seed(5)
    assert torch.equal(aug.augment(x, ("color", "translation", "cutout"), 0.0), x)
    torch.manual_seed(5)
    always = aug.augment(x, ("cutout",), 1.0)
    torch.manual_seed(5)
    assert torch.equal(always, aug.cutout(x))
    torch.manual_seed(5)
    half = aug.augment(x, ("cutout",), 0.5)
    untouched = sum(torch.equal(a, b) for a, b in zip(half, x))
    assert 16 < untouched < 48, untouched
    assert all(torch.equal(h, x_) or (h == 0).any() for h, x_ in zip(half, x))


def _strength(target=0.6, kimg=0.1, p=0.0):
    return AugmentStrength(target, kimg, p=p)


def test_augment_strength_rises_while_d_is_sure_of_the_reals_and_falls_while_it_is_not():
    """ADA's rule: every 4 D steps p moves by the images seen over kimg thousand, towards more
    augmentation while E[sign D(real)] is above the target, towards less below it, within [0, 1]."""
    no_ddp, cpu = DistInfo(rank=0, world_size=1, local_rank=0), torch.device("cpu")
    s = _strength()
    for _ in range(3):
        s.observe(torch.ones(5), no_ddp, cpu)
    assert s.p == 0.0 and s.last_r is None  # no adjustment before the 4th step
    s.observe(torch.ones(5), no_ddp, cpu)
    assert s.p == pytest.approx(20 / 100) and s.last_r == 1.0  # 20 reals, over 100 images from 0 to 1
    for _ in range(4 * 10):
        s.observe(torch.ones(5), no_ddp, cpu)
    assert s.p == 1.0  # held at 1
    sure_of_fakes = torch.tensor([1.0, -1.0, -1.0, -2.0, 3.0])  # E[sign] = -0.2: below the target
    for _ in range(4):
        s.observe(sure_of_fakes, no_ddp, cpu)
    assert s.p == pytest.approx(0.8) and s.last_r == pytest.approx(-0.2)
    on_target = torch.tensor([1.0, 1.0, 1.0, -1.0, -1.0, 1.0, 1.0, 1.0, -1.0, -1.0])  # E[sign] = 0.2
    s2 = _strength(target=0.2, p=0.5)
    for _ in range(4):
        s2.observe(on_target, no_ddp, cpu)
    assert s2.p == 0.5  # at the target it stays
    restored = _strength(p=0.3)
    s.observe(torch.ones(5), no_ddp, cpu)
    restored.load_state_dict(s.state_dict())
    assert restored.state_dict() == s.state_dict() and restored.count == 5 and restored.steps == 1


def test_augment_strength_off_keeps_every_augmentation_on():
    """--ada-target 0 (the default): p is 1 whatever D does, and a run resumed without the option
    goes back to augmenting every image."""
    no_ddp, cpu = DistInfo(rank=0, world_size=1, local_rank=0), torch.device("cpu")
    off = _strength(target=0.0, p=1.0)
    for _ in range(8):
        off.observe(-torch.ones(4), no_ddp, cpu)
    assert off.probability == 1.0 and off.record() == {}
    assert _strength(target=0.0, p=0.2).probability == 1.0
    assert set(_strength(p=0.2).record()) == {"augment_p"}


# ---- metrics ---------------------------------------------------------------------------------------


def _textures(n, seed, freq=0.5, noise=0.1):
    gen = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    phase = torch.rand(n, 1, 1, 1, generator=gen) * 6.28
    stripes = torch.sin(x * freq + phase) * 0.6
    return (stripes.expand(n, 3, 64, 64) + noise * torch.randn(n, 3, 64, 64, generator=gen)).clamp(-1, 1)


def test_swd_is_small_for_the_same_distribution_and_large_for_another():
    a, b = _textures(24, 0), _textures(24, 1)
    other = _textures(24, 2, freq=1.3, noise=0.4)
    same = swd(a, b)
    different = swd(a, other)
    assert different > 3 * same
    assert len(swd_per_level(a, b)) == len(laplacian_pyramid(a)) == 3  # 64, 32, 16
    assert swd(a, b) == swd(a, b)  # seeded: repeatable


def test_swd_ignores_a_global_colour_shift_that_the_colour_distance_catches():
    a, b = _textures(32, 0), _textures(32, 1)
    shifted = (b + 0.2).clamp(-1, 1)
    assert swd(a, shifted) < 1.5 * swd(a, b)
    assert colour_distance(a, shifted) > 5 * max(colour_distance(a, b), 1.0)


def test_colour_distance_of_a_constant_shift_is_the_shift_in_8bit_levels():
    a = torch.rand(4, 3, 16, 16) * 1.5 - 0.75
    d = 10 / 127.5  # 10 levels in [-1, 1] units
    assert colour_distance(a, a) == pytest.approx(0.0, abs=1e-3)
    assert colour_distance(a, a + d) == pytest.approx(10 * math.sqrt(3), rel=1e-4)


def test_metric_inputs_torch_uint8_and_unit_float_agree():
    a, b = _textures(16, 0), _textures(16, 1)
    as_u8 = lambda t: ((t + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()  # noqa: E731
    as_unit = lambda t: ((t + 1) / 2).permute(0, 2, 3, 1).numpy()  # noqa: E731
    assert torch.allclose(as_nchw(as_unit(a)), a, atol=1e-6)
    assert swd(as_u8(a), as_u8(b)) == pytest.approx(swd(a, b), rel=0.02)
    assert swd(as_unit(a), as_unit(b)) == pytest.approx(swd(a, b), rel=1e-6)


def test_real_vs_real_floor_splits_the_set_in_halves():
    real = _textures(32, 0)
    assert real_vs_real_floor(real) == swd(real[:16], real[16:])
    with pytest.raises(ValueError):
        swd(real[:4], real[:5])


# ---- networks ---------------------------------------------------------------------------------------


def _window_places(image: torch.Tensor, crop: torch.Tensor) -> list[tuple[int, int]]:
    """Every (top, left) where `crop` is a window of `image` repeated periodically: the image is
    tiled 2×2 and every window of the crop's size starting in the first tile compared."""
    period, size = image.shape[-1], crop.shape[-1]
    windows = image.repeat(1, 2, 2).unfold(1, size, 1).unfold(2, size, 1)[:, :period, :period]
    differences = (windows - crop[:, None, None]).abs().amax(dim=(0, 3, 4))  # (period, period)
    return [tuple(place) for place in (differences <= 1e-6).nonzero().tolist()]


def test_texture_arch_trains_the_cores_generator_on_a_periodic_field(tmp_path):
    """Fake crops are wrap-around windows of the generator's periodic output at random places:
    each crop is looked for in that output, so the check does not depend on how fake_batch draws."""
    config = resolve(tiny_config(tmp_path, tmp_path / "run"))
    arch = build_arch(config)
    g = arch.build_generator()
    assert type(g) is Generator  # the add-on's own class, not a copy
    z = arch.sample_latents(3, torch.Generator().manual_seed(1))
    assert z.shape == (3, g.config.latent_dim, arch.cells, arch.cells)
    assert torch.equal(z[:, 4:, 0, 0], z[:, 4:, -1, -1])  # the global code is broadcast
    with torch.no_grad():
        full = g(z)  # (3, 3, P, P), periodic
        # A new generator's noise strengths are zero: the output is the same whatever noise is drawn.
        assert torch.equal(full, g(z, noise=torch.Generator().manual_seed(5)))
        crops = arch.fake_batch(g, z, torch.Generator().manual_seed(7))
    period = full.shape[-1]
    assert crops.shape == (3, 3, 32, 32) and period == arch.cells * g.config.upsampling > 32
    places = [_window_places(full[i], crops[i]) for i in range(3)]
    assert all(places), f"a crop is not a wrap-around window of its periodic output: {places}"
    assert any(top + 32 > period or left + 32 > period for top, left in sum(places, [])), "no crop wraps"
    assert len({found[0] for found in places}) == 3, "every crop was cut at the same place"


def test_batch_norm_generator_folds_into_the_plain_core_generator(tmp_path):
    """Training uses batch norm; the file the add-on loads holds the plain generator computing
    exactly what the trained one computes with its running statistics."""
    arch = build_arch(resolve(tiny_config(tmp_path, tmp_path / "run")))
    g = arch.build_generator()
    assert any(isinstance(m, BatchNormConvBlock) for m in g.modules())
    with torch.no_grad():
        for _ in range(3):  # running statistics away from their initial 0 / 1
            g(arch.sample_latents(4) * 3 + 1)
        for m in g.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 2)
                m.bias.uniform_(-1, 1)
    g.eval()
    plain = arch.inference_generator(g)
    assert type(plain) is Generator and not has_batch_norm(plain)
    z = arch.seed_latents([3])
    with torch.no_grad():
        recalibrated = arch.inference_generator(g)  # re-estimated statistics, deterministically
        assert torch.equal(recalibrated(z), plain(z))
        assert torch.allclose(fold_batch_norm(g)(z), g(z), atol=1e-5)  # folding is exact
    assert plain.state_dict().keys() == Generator(g.config).state_dict().keys()
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in g.modules())  # g itself is untouched


def test_pixel_norm_only_generator_is_still_available(tmp_path):
    arch = build_arch(resolve(tiny_config(tmp_path, tmp_path / "run", g_batch_norm=False)))
    g = arch.build_generator()
    assert not has_batch_norm(g) and arch.inference_generator(g) is g


def test_sample_seeds_are_the_addons_textures(tmp_path):
    """A run's sample grid shows what the add-on makes of those seeds: same field, same noise."""
    from blender_ganart.core.synthesis import SynthesisOptions, synthesize

    from trainer.sampling import seed_images

    arch = build_arch(resolve(tiny_config(tmp_path, tmp_path / "run")))
    fields = arch.seed_latents([5, 9])
    np.testing.assert_array_equal(fields[1:].numpy(), latent_field(arch.gconfig, 9, arch.cells, arch.cells))
    g = arch.build_generator()
    with torch.no_grad():
        for name, param in g.named_parameters():
            if name.endswith("noise_weight"):
                param.normal_(0.0, 0.5)  # so that the noise shows
    samples = seed_images(arch, g, torch.device("cpu"), seeds=(5, 9))
    size = arch.cells * arch.gconfig.upsampling
    texture = synthesize(arch.inference_generator(g), SynthesisOptions(9, size, size, tileable=True))
    np.testing.assert_allclose(samples[1].permute(1, 2, 0).numpy(), texture * 2 - 1, atol=1e-5)
    # At a size of its own (the normals' facing is judged on 256 px textures, run_measure.py)
    other = 4 * size
    larger = seed_images(arch, g, torch.device("cpu"), seeds=(9,), size=other)
    texture = synthesize(arch.inference_generator(g), SynthesisOptions(9, other, other, tileable=True))
    assert larger.shape[-2:] == (other, other)
    np.testing.assert_allclose(larger[0].permute(1, 2, 0).numpy(), texture * 2 - 1, atol=1e-5)
    with pytest.raises(ValueError, match="whole number"):
        seed_images(arch, g, torch.device("cpu"), seeds=(9,), size=other + 1)


@pytest.mark.parametrize("arch_name", ["texture", "dcgan", "mlp"])
@pytest.mark.parametrize("crop", [32, 64])
def test_each_arch_makes_crops_that_its_discriminator_scores(tmp_path, arch_name, crop):
    config = resolve(tiny_config(tmp_path, tmp_path / "r", arch=arch_name, crop_size=crop, spectral_norm=True))
    arch = build_arch(config)
    g, d = arch.build_generator(), arch.build_discriminator()
    fake = arch.fake_batch(g, arch.sample_latents(2))
    assert fake.shape == (2, 3, crop, crop) and fake.abs().max() <= 1
    assert d(fake).shape == (2,)
    assert any("parametrizations" in name for name, _ in d.named_parameters())  # spectral norm is on


@pytest.mark.parametrize("context_scale", [1, 2])
def test_a_discriminator_without_batch_norm_judges_each_crop_on_its_own(tmp_path, context_scale):
    """With batch norm (the preset) D scores a crop by the batch it came in, each batch being
    normalised by its own statistics; without it a crop's score is its own."""
    def scores(d, crops):
        torch.manual_seed(1)  # the two-scale D draws its windows from torch's RNG
        return d(crops)

    def judge(**options):
        return build_arch(resolve(tiny_config(tmp_path, tmp_path / "r", crop_size=64, d_context_scale=context_scale,
                                              **options))).build_discriminator()

    torch.manual_seed(0)
    crops, companions = torch.rand(2, 4, 3, 64, 64) * 2 - 1
    own = judge(d_batch_norm=False)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in own.modules())
    together, apart = scores(own, torch.cat([crops, companions])), scores(own, torch.cat([crops, -companions]))
    assert (together[:4] - apart[:4]).abs().max() <= 1e-4 * together.abs().max()  # relative: fresh logits are small
    batched = judge()
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in batched.modules())
    together, apart = scores(batched, torch.cat([crops, companions])), scores(batched, torch.cat([crops, -companions]))
    assert (together[:4] - apart[:4]).abs().max() > 1e-2 * together.abs().max()


# ---- config ---------------------------------------------------------------------------------------


def test_presets_fill_only_unset_options_and_the_json_round_trips(tmp_path):
    texture = resolve(tiny_config(tmp_path, tmp_path / "r"))
    assert texture.optim.g_lr == PRESETS["texture"]["g_lr"] and texture.augment.seam_shift is True
    dcgan = resolve(tiny_config(tmp_path, tmp_path / "r", arch="dcgan", r1_gamma=0.5))
    assert dcgan.optim.beta1 == 0.5 and dcgan.loss.r1_gamma == 0.5 and dcgan.augment.augment == ""
    assert TrainConfig.from_dict(json.loads(json.dumps(texture.to_dict()))) == texture
    assert resolve(texture) == texture
    assert texture.model.g_batch_norm is True
    older = texture.to_dict()
    del older["model"]["g_batch_norm"]  # a run saved before the option existed trained without it
    assert TrainConfig.from_dict(older).model.g_batch_norm is False
    assert texture.model.d_batch_norm is True
    del older["model"]["d_batch_norm"]  # nor this: its D had batch norm, and its checkpoint says so
    assert TrainConfig.from_dict(older).model.d_batch_norm is True


@pytest.mark.parametrize("override, message", [
    (dict(crop_size=48), "power of two"),
    (dict(loss="wasserstein"), "unknown --loss"),
    (dict(augment="color,blur"), "unknown --augment"),
    (dict(g_lr=0.0), "--g-lr must be positive"),
    (dict(beta2=1.0), "--beta2"),
    (dict(batch=0), "--batch"),
    (dict(r1_gamma=-1.0), "--r1-gamma"),
    (dict(g_widths=(16, 8), g_extra_convs=(0, 0, 0)), "extra_convs"),
    (dict(arch="stylegan"), "unknown --arch"),
    (dict(max_side=16), "--max-side"),
])
def test_bad_options_are_refused_early_with_the_flag_named(tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        resolve(tiny_config(tmp_path, tmp_path / "r", **override))


def test_argparse_is_built_from_the_dataclasses_and_knows_what_was_given():
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    args = parser.parse_args(["--crop-size", "128", "--g-widths", "32,16", "--g-extra-convs", "1,0",
                              "--no-seam-shift", "--loss", "hinge"])
    given = given_train_options(args)
    assert given == {"crop_size": 128, "g_widths": (32, 16), "g_extra_convs": (1, 0), "seam_shift": False,
                     "loss": "hinge"}
    config = override(TrainConfig(), given)
    assert config.data.crop_size == 128 and config.model.g_widths == (32, 16) and config.run.steps == 4000
    with pytest.raises(SystemExit):
        parser.parse_args(["--g-widths", "a,b"])


@pytest.mark.parametrize("text, message", [
    ('{"data": {"crop": 3}}', "unknown options in section 'data'"),
    ('{"data": {"crop_size": "big"}}', "damaged"),
    ('{"data": {"flips": "yes"}}', "damaged"),  # a string is not a switch
    ('{"model": {"g_widths": 5}}', "damaged"),
    ('{"run": 5}', "damaged"),
    ('[1, 2]', "does not hold training options"),
    ('{"data": {"crop_size": 6', "cannot read"),  # cut off by a full disk
])
def test_a_damaged_saved_config_is_a_config_error(tmp_path, text, message):
    """A config.json damaged on disk is one ConfigError naming what is wrong, never a traceback."""
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_recipe_options_become_the_flags_that_give_them_back():
    """scripts/train_bundled.py keeps its recipes as options and runs the trainer with as_flags."""
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    options = {"crop_size": 64, "rot90": False, "amp": True, "max_minutes": 35.0, "g_widths": (32, 16), "loss": "hinge"}
    assert given_train_options(parser.parse_args(as_flags(options))) == options
    with pytest.raises(KeyError, match="crop"):
        as_flags({"crop": 64})


def test_only_resumable_options_may_change_on_resume():
    assert resumable_options() == sorted(["steps", "max_minutes", "device", "threads", "amp", "checkpoint_every",
                                          "sample_every", "metrics_every", "log_every", "g_lr", "d_lr",
                                          "r1_gamma", "r1_every", "keep_best", "facing_at_least", "ada_target",
                                          "ada_kimg"])
    refuse_fixed_options({"steps": 9, "g_lr": 0.1})
    with pytest.raises(ConfigError, match="--batch, --seed$"):
        refuse_fixed_options({"steps": 9, "seed": 1, "batch": 8})


# ---- progress -------------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _show_progress(stream, enabled: bool = True) -> str:
    """A resumed run of steps 4..45 with a metrics note at step 20, as the loop shows it."""
    progress = ProgressLine(45, 3, enabled=enabled, stream=stream)
    for step in range(4, 46):
        progress.update(step, 12.5, 1.2345, 0.5)
        if step == 20:
            progress.note("step 20: SWD 1.00, colour distance 2.00")
    progress.close()
    return stream.getvalue()


def test_progress_in_a_log_file_is_plain_lines_every_5_percent_with_rate_eta_and_losses():
    text = _show_progress(io.StringIO())
    assert "\r" not in text, "carriage-return redraws would pile up on one line of the log"
    lines = text.splitlines()
    assert "step 20: SWD 1.00, colour distance 2.00" in lines
    shown = [line for line in lines if re.fullmatch(r"step \d+/45 \[.*<.*, .*step/s, 12\.5 img/s, D 1\.2345, G 0\.5000\]", line)]
    steps = [int(line.split()[1].split("/")[0]) for line in shown]
    assert steps[-1] == 45 and steps == sorted(set(steps))
    assert 15 <= len(steps) <= 22  # every 5 % of the 42 steps left (2 steps), not every step
    assert len(lines) == len(shown) + 2  # the start line and the note


def test_progress_on_a_terminal_redraws_in_place_and_keeps_notes_whole():
    text = _show_progress(_Terminal())
    pieces = [piece.strip() for piece in re.split(r"[\r\n]", text)]
    assert "step 20: SWD 1.00, colour distance 2.00" in pieces
    assert "45/45" in pieces[-2] and "12.5 img/s, D 1.2345, G 0.5000" in pieces[-2] and text.endswith("\n")
    assert text.count("\n") == 2  # the note's line and the finished bar's


def test_progress_of_other_processes_writes_nothing():
    assert _show_progress(io.StringIO(), enabled=False) == ""
    assert _show_progress(_Terminal(), enabled=False) == ""


def test_facing_out_counts_the_normals_whose_z_leads_per_map():
    up, tilted, sideways = (0.0, 0.0, 1.0), (0.6, -0.3, 0.7), (0.0, -0.9, 0.4)
    one = np.array([[up, tilted], [sideways, sideways]])  # (2, 2, 3): half face out
    assert facing_out(one) == 0.5
    longer = one * np.array([2.0, 0.5, 3.0, 0.1])[:, None, None].reshape(2, 2, 1)  # lengths do not matter
    assert facing_out(longer) == 0.5
    assert facing_out(np.stack([one, np.full((2, 2, 3), up)])).tolist() == [0.5, 1.0]


def test_maps_are_steeper_than_their_data_by_their_steepest_map_or_their_mean():
    data = [0.99, 0.97, 0.90]  # mean 0.953, steepest 0.90
    assert steeper_than_data([0.99, 0.96, 0.86], data) is None  # within the slack of the steepest
    assert "0.840" in steeper_than_data([0.99, 0.99, 0.84], data)  # one map of three faces sideways
    assert "on average" in steeper_than_data([0.87, 0.88, 0.90], data)  # none alone, all together
    assert steeper_than_data([0.96] * 3, [1.0, 1.0]) is None  # flat data asks at most 0.95 on average
    grass = [0.9, 0.5, 0.2]  # steep data asks only its own mean less the slack
    assert steeper_than_data([0.85, 0.5, 0.2], grass) is None and steeper_than_data([0.5, 0.5, 0.2], grass)


def test_keep_best_keeps_a_step_facing_out_like_its_data_before_any_steeper_one(tmp_path):
    """A step whose normals face sideways is kept only while no step has faced out like the data:
    the closest by SWD had a Rock (material) seed facing out on 0.669 of its pixels."""
    g = torch.nn.Linear(2, 2)
    keeper = BestKeeper(tmp_path, enabled=True, judges_facing=facing_judgement())
    assert keeper.offer(0, 5.0, "m", g, faces_out=False)  # nothing kept yet: the steep one is better than none
    assert keeper.offer(2, 6.0, "m", g, faces_out=True)  # facing out: kept, though farther by SWD
    assert not keeper.offer(4, 1.0, "m", g, faces_out=False)  # closer by SWD, but steeper: not kept
    assert keeper.offer(6, 5.5, "m", g, faces_out=True)  # closer and facing out
    kept = load_checkpoint(tmp_path / "best.pt")
    assert (kept["step"], kept["score"], kept["faces_out"]) == (6, 5.5, True)
    # A resumed run goes on ranking where it stopped
    resumed = BestKeeper(tmp_path, enabled=True, resumed_at=6, judges_facing=facing_judgement())
    assert not resumed.offer(8, 1.0, "m", g, faces_out=False)
    # One kept by a trainer that did not judge facing, or judged it on crops, waits to be judged…
    unjudged = {k: v for k, v in kept.items() if k not in ("faces_out", "facing_judged_on")}
    on_crops = {k: v for k, v in kept.items() if k != "facing_judged_on"}
    for older in (unjudged, on_crops):
        save_checkpoint(tmp_path / "best.pt", older)
        assert BestKeeper(tmp_path, enabled=True, resumed_at=6, judges_facing=facing_judgement()).unjudged["step"] == 6
    # …as does one judged by another --facing-at-least than the resumed run's
    save_checkpoint(tmp_path / "best.pt", kept)
    assert BestKeeper(tmp_path, enabled=True, resumed_at=6, judges_facing=facing_judgement()).unjudged is None
    stricter = BestKeeper(tmp_path, enabled=True, resumed_at=6, judges_facing=facing_judgement(0.95))
    assert stricter.unjudged["step"] == 6 and facing_judgement(0.95) == "32 seed textures of 256 px, each above 0.95"
    save_checkpoint(tmp_path / "best.pt", unjudged)
    keeper = BestKeeper(tmp_path, enabled=True, resumed_at=6, judges_facing=facing_judgement())
    assert keeper.unjudged["step"] == 6
    keeper.judge(faces_out=False)  # …and found steep, any step facing out beats it
    assert load_checkpoint(tmp_path / "best.pt")["faces_out"] is False and keeper.unjudged is None
    assert keeper.offer(8, 7.0, "m", g, faces_out=True)
    save_checkpoint(tmp_path / "best.pt", unjudged)
    keeper = BestKeeper(tmp_path, enabled=True, resumed_at=6, judges_facing=facing_judgement())
    keeper.judge(faces_out=True)  # found facing out, it ranks by its score again
    assert not keeper.offer(8, 7.0, "m", g, faces_out=True)
    # In a colour run, with no normals to judge, it ranks by its score as it always did
    save_checkpoint(tmp_path / "best.pt", unjudged)
    keeper = BestKeeper(tmp_path, enabled=True, resumed_at=6)
    assert keeper.unjudged is None and not keeper.offer(8, 7.0, "m", g)
