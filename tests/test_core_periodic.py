"""Plane waves (core/periodic.py): periodic over every field, the same numbers for training and
both runtimes, exact tiling, old files untouched, and a trainer run that learns them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from blender_ganart.core import architecture, numpy_runtime
from blender_ganart.core.latent import PixelNoise, latent_field
from blender_ganart.core.model_file import ModelCard, load_model, save_model
from blender_ganart.core.network import Generator, GeneratorConfig, TrainingWaves
from blender_ganart.core.periodic import BAND_PASS, BAND_STOP, Waves, band_gain, quantize, seed_phases, wave_vectors
from blender_ganart.core.synthesis import SynthesisOptions, synthesize

from helpers import with_active_noise

WAVES = GeneratorConfig(local_dim=4, global_dim=6, widths=(32, 16, 8, 8, 8), extra_convs=(1, 1, 0, 0, 0),
                        periodic_dim=3)


@pytest.fixture(scope="module")
def generator():
    torch.manual_seed(11)
    return with_active_noise(Generator(WAVES)).eval()


def test_waves_go_where_the_plan_says_and_nowhere_without_periodic_dim():
    assert list(architecture.periodic_levels(WAVES)) == [1, 2]  # 16 and 8 output px per pixel
    assert list(architecture.periodic_levels(GeneratorConfig(periodic_dim=4))) == [1, 2, 3]
    shapes = architecture.parameter_shapes(WAVES)
    assert shapes["waves.weight"] == (6, 6) and shapes["waves.bias"] == (6,)
    assert shapes["levels.1.0.periodic_weight"] == (16, 3) and shapes["levels.2.0.periodic_weight"] == (8, 3)
    plain = architecture.parameter_shapes(GeneratorConfig())
    assert not [name for name in plain if "wave" in name or "periodic" in name]


def test_a_config_without_waves_is_stored_as_before_and_old_configs_have_none():
    stored = GeneratorConfig().to_dict()
    assert "periodic_dim" not in stored  # a file without waves still loads in an add-on before 0.7
    assert GeneratorConfig.from_dict(stored).periodic_dim == 0
    assert GeneratorConfig.from_dict(WAVES.to_dict()) == WAVES
    with pytest.raises(ValueError, match="periodic_dim"):
        GeneratorConfig(periodic_dim=-1)


def test_wave_vectors_are_whole_cycles_over_the_field_so_planes_wrap_exactly():
    k = quantize(np.array([[[0.37, -0.81], [1.3, 0.02]]]), (5, 7))
    assert np.allclose(k * [5, 7], np.round(k * [5, 7]), atol=1e-12)
    waves = Waves(k, seed_phases(3, 2)[None], (5, 7), origin=(-2, 4))
    for level in (1, 2, 3):
        scale = 2**level
        here = waves.planes(level, 0, 0, 5 * scale, 7 * scale)
        one_field_on = waves.planes(level, 5 * scale, -7 * scale, 5 * scale, 7 * scale)
        np.testing.assert_array_equal(here, one_field_on)
        assert here.dtype == np.float32 and np.abs(here).max() <= 1
        assert level == 1 or here.std() > 0.3  # level 1 fades these waves out (band_gain)


def test_phases_are_a_pure_function_of_the_seed():
    assert np.array_equal(seed_phases(42, 4), seed_phases(42, 4))
    assert not np.allclose(seed_phases(42, 4), seed_phases(43, 4))
    assert np.array_equal(seed_phases(42, 4)[:2], seed_phases(42, 2))
    assert ((seed_phases(7, 1000) >= 0) & (seed_phases(7, 1000) < 2 * np.pi)).all()


def test_training_waves_are_the_addons_waves():
    """The trainer's differentiable planes (torch, float32) and the add-on's (NumPy, float64)
    compute one formula: same wave vectors and phases, same planes."""
    raw = torch.tensor([[[0.41, -0.93], [0.12, 0.66]], [[-1.2, 0.3], [0.05, 0.0]]], requires_grad=True)
    phases = torch.rand(2, 2, generator=torch.Generator().manual_seed(2)) * 6.28
    training = TrainingWaves(raw, phases, (3, 4))
    addon = Waves(quantize(raw.detach().numpy(), (3, 4)), phases.double().numpy(), (3, 4))
    np.testing.assert_allclose(training.k.detach().numpy(), addon.k, atol=1e-7)
    for level, box in ((1, (0, 0, 6, 8)), (3, (-5, 17, 9, 30))):
        np.testing.assert_allclose(training.planes(level, *box).detach().numpy(), addon.planes(level, *box), atol=2e-5)
    # Straight through: the rounded values go forward, the gradient reaches the raw ones.
    training.planes(2, 0, 0, 12, 16).sum().backward()
    assert raw.grad is not None and raw.grad.abs().sum() > 0


def test_a_wave_fades_out_before_its_levels_nyquist_frequency():
    """A level samples a wave at 2^level pixels per cell; at ½ cycle per pixel the samples alternate
    with the pixel grid and, upsampled, draw a grid. A wave fades from BAND_PASS to BAND_STOP cycles
    per pixel of its faster axis, so a level draws only waves it can sample, and every level draws
    the slow ones whole; the training planes fade it the same way (the test above)."""
    k = np.array([[0.5, 0.0], [0.0, -1.0], [1.5, 0.5], [2.0, 1.0], [0.2, 3.9]])  # cycles per cell
    assert band_gain(k, 1).tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]  # 2 pixels per cell: 1 cycle per cell is ½ per pixel
    assert band_gain(k, 2).tolist() == [1.0, 1.0, pytest.approx(0.5), 0.0, 0.0]
    assert band_gain(k, 3)[:4].tolist() == [1.0, 1.0, 1.0, 1.0] and 0.0 < band_gain(k, 3)[4] < 0.05
    waves = Waves(k[None], np.full((1, 5), 0.7), (4, 4))
    for level in (1, 2, 3):
        planes = waves.planes(level, 0, 0, 4 * 2**level, 4 * 2**level)[0]
        amplitude = np.abs(planes).max(axis=(1, 2))
        gain = band_gain(k, level)
        # A sine sampled 4 or more times per cycle reaches at least cos 45° of its peak.
        assert np.all(amplitude <= gain + 1e-6) and np.all(amplitude >= 0.7 * gain), (level, amplitude, gain)
    assert 0 < BAND_PASS < BAND_STOP <= 0.5


def test_both_runtimes_give_the_same_waves_from_the_model_file(generator, tmp_path):
    save_model(tmp_path / "waves.ganart.pt", generator, ModelCard(), half=True)
    model = load_model(tmp_path / "waves.ganart.pt")
    assert model.config == WAVES
    for tileable, size in ((True, (64, 48)), (False, (70, 45))):
        options = SynthesisOptions(9, *size, tileable)
        a = synthesize(model, options, runtime="pytorch")
        b = synthesize(model, options, runtime="numpy")
        assert np.abs(a - b).max() <= 1e-4
    codes = latent_field(WAVES, 9, 2, 2)[:, 4:10, 0, 0]
    k = wave_vectors(model.generator.waves.weight.detach().numpy(), model.generator.waves.bias.detach().numpy(),
                     codes, (2, 2))
    assert k.shape == (1, 3, 2)


def test_the_waves_change_the_texture_and_the_seed_changes_the_waves(generator):
    net = numpy_runtime.NumpyGenerator.from_torch(generator)
    field = latent_field(WAVES, 4, 3, 3)
    noise = PixelNoise((4,), (3, 3))
    with_waves = numpy_runtime.render(net, field, noise)
    silent = {**net.weights, **{k: np.zeros_like(v) for k, v in net.weights.items() if k.endswith("periodic_weight")}}
    without = numpy_runtime.render(numpy_runtime.NumpyGenerator(WAVES, silent), field, noise)
    assert np.abs(with_waves - without).mean() > 0.01
    other = net.with_waves(PixelNoise((5,), (3, 3)), latent_field(WAVES, 5, 3, 3)).waves
    mine = net.with_waves(noise, field).waves
    assert not np.allclose(mine.phases, other.phases)


def test_tiled_field_with_the_same_waves_tiles_the_texture_exactly(generator):
    """G(tile(z)) == tile(G(z)) still holds with waves: waves that are whole cycles over a field
    are whole cycles over twice it. (A texture made twice as large draws its own waves, rounded
    to its own field: the README says so.)"""
    net = numpy_runtime.NumpyGenerator.from_torch(generator)
    field = latent_field(WAVES, 6, 2, 3)
    small_noise = net.with_waves(PixelNoise((6,), (2, 3)), field)
    small = numpy_runtime.render(net, field, small_noise)
    waves = small_noise.waves
    big_noise = PixelNoise((6,), (4, 6), waves=Waves(waves.k, waves.phases, (4, 6)))
    big_field = np.tile(field, (1, 1, 2, 2))
    # The pixel noise of the big field is the small one's only where it does not wrap; compare
    # with the noise off so only the waves and the field are tiled.
    quiet = {**net.weights, **{k: np.zeros_like(v) for k, v in net.weights.items() if k.endswith("noise_weight")}}
    quiet_net = numpy_runtime.NumpyGenerator(WAVES, quiet)
    small = numpy_runtime.render(quiet_net, field, small_noise)
    big = numpy_runtime.render(quiet_net, big_field, big_noise, tile=16)
    np.testing.assert_allclose(big, np.tile(small, (2, 2, 1)), atol=1e-5, rtol=0)
    tileable = synthesize(generator, SynthesisOptions(2, 64, 64, tileable=True), runtime="numpy")
    wrapped = np.roll(tileable, (32, 32), axis=(0, 1))
    seam = np.abs(np.diff(wrapped, axis=1))[:, 31].mean() / np.abs(np.diff(tileable, axis=1)).mean()
    assert seam < 2.0


def test_a_training_generator_learns_its_waves_and_starts_from_a_file_without_them_not_one_with_others(tmp_path):
    from trainer.archs import build_arch
    from trainer.config import ConfigError, resolve
    from trainer_support import tiny_config, write_texture_folder

    data = write_texture_folder(tmp_path / "data")
    config = resolve(tiny_config(data, tmp_path / "run", periodic_dim=2))
    arch = build_arch(config)
    g = with_active_noise(arch.build_generator())  # the waves' strengths start at zero: no gradient to k
    assert g.config.periodic_dim == 2 and g.waves is not None
    z = arch.sample_latents(2, torch.Generator().manual_seed(0))
    crops = arch.fake_batch(g, z, torch.Generator().manual_seed(1))
    crops.mean().backward()
    assert g.waves.weight.grad is not None and g.waves.weight.grad.abs().sum() > 0
    # A start from a file without waves: the waves' strengths start at zero, the rest is copied,
    # so the texture is the plain model's (without batch norm, which a start re-estimates).
    arch = build_arch(resolve(tiny_config(data, tmp_path / "warm", periodic_dim=2, g_batch_norm=False)))
    torch.manual_seed(1)
    plain = Generator(GeneratorConfig.from_dict({**arch.gconfig.to_dict(), "periodic_dim": 0}))
    save_model(tmp_path / "plain.ganart.pt", with_active_noise(plain), ModelCard(), half=False)
    warm = arch.build_generator()
    arch.warm_start(warm, str(tmp_path / "plain.ganart.pt"))
    assert all(not p.any() for n, p in warm.named_parameters() if n.endswith("periodic_weight"))
    assert torch.equal(warm.state_dict()["levels.0.0.conv.weight"], plain.state_dict()["levels.0.0.conv.weight"])
    inference = arch.inference_generator(warm).eval()
    field = torch.from_numpy(latent_field(inference.config, 3, 3, 3))
    with torch.no_grad():
        a = inference(field, PixelNoise((3,), (3, 3)))
        b = plain.eval()(field, PixelNoise((3,), (3, 3)))
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)  # zero strengths: the plain model's texture
    assert json.loads(json.dumps(inference.config.to_dict()))["periodic_dim"] == 2
    # A file with waves into a run with none (or other ones) would drop them: refused, flag named.
    save_model(tmp_path / "waves.ganart.pt", inference, ModelCard(), half=False)
    for other in (0, 3):
        arch = build_arch(resolve(tiny_config(data, tmp_path / f"other{other}", periodic_dim=other, g_batch_norm=False)))
        with pytest.raises(ConfigError, match="--periodic-dim 2"):
            arch.warm_start(arch.build_generator(), str(tmp_path / "waves.ganart.pt"))


def test_a_run_folder_without_waves_starts_a_run_with_them(tmp_path):
    """--init-from a run folder (G and D) into a run with plane waves: the waves' strengths start
    at zero, everything else is the checkpoint's; a run with waves cannot start one without."""
    from trainer.archs import build_arch
    from trainer.checkpoint import load_checkpoint
    from trainer.config import resolve
    from trainer.errors import ConfigError
    from trainer.loop import train
    from trainer_support import quiet, tiny_config, write_texture_folder

    data = write_texture_folder(tmp_path / "data")
    plain_run = tmp_path / "plain"
    train(tiny_config(data, plain_run, steps=2), log=quiet)
    saved = load_checkpoint(plain_run / "checkpoint.pt")
    arch = build_arch(resolve(tiny_config(data, tmp_path / "waves", periodic_dim=2, init_from=str(plain_run))))
    g, d = arch.build_generator(), arch.build_discriminator()
    arch.warm_start(g, str(plain_run), d)
    assert all(not p.any() for n, p in g.named_parameters() if n.endswith("periodic_weight"))
    for name, tensor in saved["G"].items():
        assert torch.equal(g.state_dict()[name], tensor), name
    for name, tensor in saved["D"].items():
        assert torch.equal(d.state_dict()[name], tensor), name
    waves_run = tmp_path / "waves"
    train(tiny_config(data, waves_run, steps=2, periodic_dim=2, init_from=str(plain_run)), log=quiet)
    arch = build_arch(resolve(tiny_config(data, tmp_path / "none")))
    with pytest.raises(ConfigError, match="another architecture"):
        arch.warm_start(arch.build_generator(), str(waves_run), arch.build_discriminator())


def test_a_run_with_waves_resumes_exactly_and_exports_a_file_both_runtimes_run(tmp_path):
    """The phases of a training batch come from torch's RNG, which checkpoints keep: a stopped and
    resumed run equals an uninterrupted one. The export carries the waves to the add-on."""
    from trainer.export import export_run
    from trainer.loop import train
    from trainer_support import quiet, tiny_config, write_texture_folder

    data = write_texture_folder(tmp_path / "data")
    train(tiny_config(data, tmp_path / "whole", steps=5, periodic_dim=2), log=quiet)
    train(tiny_config(data, tmp_path / "split", steps=2, periodic_dim=2), log=quiet)
    train(tiny_config(data, tmp_path / "split", steps=5, periodic_dim=2), resume=True, log=quiet)
    whole, split = (torch.load(tmp_path / name / "checkpoint.pt", weights_only=True)["G"] for name in ("whole", "split"))
    assert whole.keys() == split.keys() and "waves.weight" in whole
    assert all(torch.equal(whole[k], split[k]) for k in whole)
    export_run(tmp_path / "whole", tmp_path / "waves.ganart.pt")
    model = load_model(tmp_path / "waves.ganart.pt")
    assert model.config.periodic_dim == 2
    for tileable in (True, False):
        options = SynthesisOptions(1, 40, 24, tileable)
        assert np.abs(synthesize(model, options, runtime="pytorch") - synthesize(model, options, runtime="numpy")).max() <= 1e-4


def test_the_waves_learn_at_their_gain_and_keep_it_when_a_resume_changes_the_rate(tmp_path):
    from trainer.loop import WAVES_LR_GAIN, train
    from trainer_support import quiet, tiny_config, write_texture_folder

    data = write_texture_folder(tmp_path / "data")
    train(tiny_config(data, tmp_path / "run", steps=2, periodic_dim=2, g_lr=1e-4), log=quiet)
    groups = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["opt_G"]["param_groups"]
    assert [g["lr"] for g in groups] == pytest.approx([1e-4, 1e-4 * WAVES_LR_GAIN])
    assert len(groups[1]["params"]) == 3  # waves.weight, waves.bias and level 1's periodic_weight (3 levels)
    train(tiny_config(data, tmp_path / "run", steps=3, periodic_dim=2, g_lr=5e-5), resume=True, log=quiet)
    groups = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["opt_G"]["param_groups"]
    assert [g["lr"] for g in groups] == pytest.approx([5e-5, 5e-5 * WAVES_LR_GAIN])


def test_wave_weights_script_reports_each_wave_parameter(generator, tmp_path, capsys):
    import importlib.util

    from helpers import ROOT

    spec = importlib.util.spec_from_file_location("wave_weights", ROOT / "scripts" / "wave_weights.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    save_model(tmp_path / "waves.ganart.pt", generator, ModelCard(), half=False)
    assert script.main([str(tmp_path / "waves.ganart.pt")]) == 0
    out = capsys.readouterr().out
    assert "3 plane waves" in out
    largest = np.abs(generator.levels[1][0].periodic_weight.detach().numpy()).max()
    assert "levels.1.0.periodic_weight" in out and f"max |w| {largest:.4f}" in out


def test_level_waves_stay_level_through_training_resume_warm_start_and_export(tmp_path):
    """--periodic-axis rows: every wave vector is (rows, 0), so every wave draws level stripes in
    both runtimes from the exported file, and the options that would defeat it are refused."""
    from trainer.archs import build_arch
    from trainer.config import resolve
    from trainer.errors import ConfigError
    from trainer.export import export_run
    from trainer.loop import train
    from trainer_support import quiet, tiny_config, write_texture_folder

    data = write_texture_folder(tmp_path / "data")
    level = dict(periodic_dim=2, periodic_axis="rows", rot90=False)
    train(tiny_config(data, tmp_path / "level", steps=2, **level), log=quiet)
    train(tiny_config(data, tmp_path / "level", steps=4, **level), resume=True, log=quiet)
    saved = torch.load(tmp_path / "level" / "checkpoint.pt", weights_only=True)
    for key in ("G", "G_ema"):
        weight, bias = saved[key]["waves.weight"], saved[key]["waves.bias"]
        assert not weight[1::2].any() and not bias[1::2].any(), key
        assert weight[0::2].abs().sum() > 0 and bias[0::2].abs().sum() > 0, key  # the rows part still learns
    export_run(tmp_path / "level", tmp_path / "level.ganart.pt")
    model = load_model(tmp_path / "level.ganart.pt")
    codes = np.random.default_rng(0).normal(size=(5, model.config.global_dim))
    k = wave_vectors(model.generator.state_dict()["waves.weight"].numpy(), model.generator.state_dict()["waves.bias"].numpy(),
                     codes, (8, 8))
    assert not k[..., 1].any() and k[..., 0].any()
    planes = Waves(k, np.zeros(k.shape[:2]), (8, 8)).planes(2, 0, 0, 32, 32)
    assert np.array_equal(planes, np.broadcast_to(planes[..., :1], planes.shape))  # level stripes
    # A run with free waves starts a level one: its column components are dropped.
    train(tiny_config(data, tmp_path / "free", steps=2, periodic_dim=2), log=quiet)
    arch = build_arch(resolve(tiny_config(data, tmp_path / "x", init_from=str(tmp_path / "free"), **level)))
    g, d = arch.build_generator(), arch.build_discriminator()
    arch.warm_start(g, str(tmp_path / "free"), d)
    assert not g.waves.weight[1::2].any() and not g.waves.bias[1::2].any() and g.waves.weight[0::2].any()
    for wrong, message in ((dict(periodic_axis="rows", rot90=False), "periodic-dim 1 or more"),
                           (dict(periodic_axis="rows", periodic_dim=2), "--no-rot90")):
        with pytest.raises(ConfigError, match=message):
            resolve(tiny_config(data, tmp_path / "y", **wrong))
