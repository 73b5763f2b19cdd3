"""The quality report's measures each catch the defect they name, on images whose answer is known;
warm starts and the texel density a model card records."""

import json

import numpy as np
import pytest
import torch

from blender_ganart.core.model_file import ModelCard, load_model, save_model
from blender_ganart.core.network import Generator, GeneratorConfig
from trainer.config import resolve
from trainer.data import ImageSet, load_image_folder
from trainer.errors import ConfigError
from trainer.archs import build_arch
from trainer.data import CropSampler
from trainer.quality import COARSE, box_downscale, lattice_score, real_scales, seam_ratio, texture_quality
from trainer.loop import train
from trainer_support import quiet, tiny_config, write_texture_folder


def _noise_images(count: int, size: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    # smooth-ish random texture: white noise blurred by a box filter
    out = []
    for _ in range(count):
        white = rng.random((size + 4, size + 4))
        smooth = sum(white[dy : dy + size, dx : dx + size] for dy in range(5) for dx in range(5)) / 25
        out.append(np.repeat(smooth[:, :, None], 3, axis=2).astype(np.float32))
    return out


def test_lattice_score_finds_a_cell_grid_and_not_plain_texture():
    plain = _noise_images(4, 512)
    grid = [im.copy() for im in plain]
    for im in grid:
        im[::32, :] += 0.3  # one brighter row and column every 32 px: the old models' grid
        im[:, ::32] += 0.3
    assert lattice_score(plain, 32) < 2.0
    assert lattice_score(grid, 32) > 5.0


def test_seam_ratio_is_one_for_periodic_and_large_for_a_cut():
    white = np.random.default_rng(0).random((256, 256))
    periodic = sum(np.roll(white, (dy, dx), (0, 1)) for dy in range(4) for dx in range(4)) / 16  # wraps
    periodic = np.repeat(periodic[:, :, None], 3, axis=2)
    assert seam_ratio(periodic) == pytest.approx(1.0, abs=0.1)
    x = np.linspace(0, 1, 64, dtype=np.float32)
    ramp = np.repeat(np.repeat(x[None, :, None], 64, axis=0), 3, axis=2)  # jumps 1 → 0 at the seam
    assert seam_ratio(ramp) > 20


def test_box_downscale_averages_blocks():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    torch.testing.assert_close(box_downscale(x, 2), torch.tensor([[[[2.5, 4.5], [10.5, 12.5]]]]))


def test_report_puts_real_data_at_its_floor():
    """A 'generator' that returns crops of the data itself scores near its floors at both scales
    and the data's own lattice; a flat grey one is far from them."""
    real_images = [(im * 255).astype(np.uint8) for im in _noise_images(6, 512, seed=1)]
    images = ImageSet(real_images, [None] * 6)

    def copy_of_data(seed: int, size: int, tileable: bool):  # a window of the data, each seed its own
        rng = np.random.default_rng(seed)
        image = real_images[int(rng.integers(6))]
        y, x = rng.integers(image.shape[0] - size + 1, size=2)
        return image[y : y + size, x : x + size].astype(np.float32) / 255

    def flat(seed: int, size: int, tileable: bool):
        return np.full((size, size, 3), 0.5, np.float32)

    good = texture_quality(images, copy_of_data, crop=32, count=64, seeds=6)
    bad = texture_quality(images, flat, crop=32, count=64, seeds=6)
    assert good.full_ratio < 1.6 and good.coarse_ratio < 1.6
    assert bad.full_ratio > 3 * good.full_ratio and bad.colour > 10 * max(good.colour, 0.5)
    assert good.lattice == pytest.approx(good.lattice_real, rel=0.3)
    assert "4× downscale" in good.table()


def test_report_tells_normals_that_face_sideways_more_than_the_data_does():
    """A model's normal maps are judged against the data's own: a copy of the data faces out as it
    does; one whose every other texture tilts its relief 60° to a side is steeper than its data."""
    real_images = []
    for i, im in enumerate(_noise_images(6, 256, seed=3)):
        normal = np.dstack([(im[..., 0] - 0.5) * 0.6, np.zeros_like(im[..., 0]), np.ones_like(im[..., 0])])
        normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
        real_images.append(np.round(np.dstack([im, normal * 0.5 + 0.5]) * 255).astype(np.uint8))
    images = ImageSet(real_images, [None] * 6, maps=("colour", "normal"))

    def copy_of_data(seed: int, size: int, tileable: bool):
        rng = np.random.default_rng(seed)
        image = real_images[int(rng.integers(6))]
        y, x = rng.integers(image.shape[0] - size + 1, size=2)
        return image[y : y + size, x : x + size].astype(np.float32) / 255

    def tilted_every_other(seed: int, size: int, tileable: bool):
        texture = copy_of_data(seed, size, tileable)
        if seed % 2:
            texture[..., 3:6] = np.array([np.sin(np.pi / 3), 0.0, np.cos(np.pi / 3)]) * 0.5 + 0.5
        return texture

    maps = ("colour", "normal")
    good = texture_quality(images, copy_of_data, crop=32, count=16, seeds=2, size=256, maps=maps, draws=1)
    steep = texture_quality(images, tilted_every_other, crop=32, count=16, seeds=2, size=256, maps=maps, draws=1)
    assert good.facing_out_real == pytest.approx(1.0) and good.facing_out == pytest.approx(1.0)
    assert good.steeper_than_data is None and "normals facing out, steepest texture" in good.table()
    assert steep.facing_out == pytest.approx(0.5) and steep.facing_out_lowest == 0.0
    assert "0.000 of its pixels" in steep.steeper_than_data and "normals steeper than the data's" in steep.table()
    colour_model = texture_quality(images, lambda *a: copy_of_data(*a)[..., :3], crop=32, count=16, seeds=2, size=256, draws=1)
    assert colour_model.facing_out is None and "facing out" not in colour_model.table()  # nothing of its own to judge


def test_real_scales_draw_large_crops_a_chunk_at_a_time_as_one_batch_would():
    """The 4× scale's real crops are drawn in chunks (bounded memory) but are the very crops one
    batch draws; data no image of which is 4 crops wide has no structure scale."""
    real_images = [(im * 255).astype(np.uint8) for im in _noise_images(3, 160, seed=2)]
    images = ImageSet(real_images, [None] * 3)
    scales = real_scales(images, 32, 40, seed=5, draws=1)
    one_batch = box_downscale(CropSampler(images, COARSE * 32, 5 + 1, True, True).sample(40), COARSE)
    torch.testing.assert_close(scales.coarse[0], one_batch)
    assert scales.count == 40 and scales.crop == 32 and scales.draws == 1 and scales.coarse_floor > 0
    # The real crops judged against themselves (other patches of them) are closer than a second
    # draw of the data; a grey field is far above the floor.
    assert max(scales.ratios(scales.full[0], scales.coarse[0])) < 1
    grey = torch.zeros_like(scales.full[0])
    assert min(scales.ratios(grey, grey)) > 3
    small = real_scales(ImageSet([im[:100, :100] for im in real_images], [None] * 3), 32, 40, seed=5, draws=1)
    assert small.coarse is None and small.ratios(grey, grey)[1] is None


def test_floors_and_swds_are_means_over_draws_that_share_no_crops():
    """A one-draw report is draw 0 of a longer one; every further draw has crops of its own, and
    the floors and a generator's SWD are the means of the draws' own (so a lucky draw no longer
    sets the ratio alone)."""
    real_images = [(im * 255).astype(np.uint8) for im in _noise_images(4, 160, seed=3)]
    images = ImageSet(real_images, [None] * 4)
    three = real_scales(images, 32, 24, seed=7, draws=3)
    singles = [real_scales(images, 32, 24, seed=7 + 2 * k, draws=1) for k in range(3)]
    assert three.draws == 3 and three.full.shape == (3, 24, 3, 32, 32)
    for k, single in enumerate(singles):
        torch.testing.assert_close(three.full[k], single.full[0])
        torch.testing.assert_close(three.coarse[k], single.coarse[0])
    assert not torch.equal(three.full[0], three.full[1]) and not torch.equal(three.full[1], three.full[2])
    assert three.full_floors == pytest.approx([s.full_floor for s in singles])
    assert three.full_floor == pytest.approx(np.mean([s.full_floor for s in singles]))
    assert three.coarse_floor == pytest.approx(np.mean([s.coarse_floor for s in singles]))
    assert three.colour_floor == pytest.approx(np.mean([s.colour_floor for s in singles]))
    fake = CropSampler(images, 32, 99, True, True).sample(24)
    assert three.swds(fake)[0] == pytest.approx(np.mean([s.swds(fake)[0] for s in singles]))
    assert three.colour(fake) == pytest.approx(np.mean([s.colour(fake) for s in singles]))
    with pytest.raises(ValueError, match="draws"):
        real_scales(images, 32, 24, draws=0)


def test_warm_start_copies_a_models_weights_and_refuses_another_shape(tmp_path):
    data = write_texture_folder(tmp_path / "data")
    config = resolve(tiny_config(data, tmp_path / "run"))
    arch = build_arch(config)
    torch.manual_seed(1)
    source = Generator(config.generator_config())
    save_model(tmp_path / "start.ganart.pt", source, ModelCard(), half=False)
    g = arch.build_generator()
    arch.warm_start(g, str(tmp_path / "start.ganart.pt"))
    for name, tensor in source.state_dict().items():
        assert torch.equal(g.state_dict()[name], tensor), name
    other = Generator(GeneratorConfig(local_dim=4, global_dim=4, widths=(16, 8, 4), extra_convs=(0, 0, 0)))
    save_model(tmp_path / "other.ganart.pt", other, ModelCard(), half=False)
    with pytest.raises(ConfigError, match="another architecture"):
        arch.warm_start(arch.build_generator(), str(tmp_path / "other.ganart.pt"))
    with pytest.raises(ConfigError, match="init-from"):
        arch.warm_start(arch.build_generator(), str(tmp_path / "missing.ganart.pt"))


def test_a_run_records_its_texel_density_on_the_card(tmp_path):
    from trainer.export import export_run

    data = write_texture_folder(tmp_path / "data", size=(96, 64))
    assert load_image_folder(data, 32).texel_density == 1.0
    assert load_image_folder(data, 32, max_side=48).texel_density == pytest.approx(2.0)
    train(tiny_config(data, tmp_path / "run", steps=2, max_side=48), log=quiet)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["data"]["texel_density"] == pytest.approx(2.0)
    path, card = export_run(tmp_path / "run", tmp_path / "m.ganart.pt")
    assert load_model(path).card.texel_density == pytest.approx(2.0)
    assert "1 px = 2.0 source px" in card.texel_note()
    assert "1:1" in ModelCard(texel_density=1.0).texel_note()
    assert "not recorded" in ModelCard().texel_note()


def test_eval_of_a_large_crop_run_is_the_report_of_its_export(tmp_path):
    """`eval` judges at the report's 64 px whatever crop the run trained on: a 128 px run's
    numbers are model_report.py's numbers for the file it exports."""
    from blender_ganart.core.synthesis import SynthesisOptions, synthesize
    from trainer.evaluate import evaluate_run
    from trainer.export import export_run
    from trainer.runs import load_run

    data = write_texture_folder(tmp_path / "data", count=4, size=(260, 260))
    train(tiny_config(data, tmp_path / "run", steps=1, crop_size=128), log=quiet)
    images = load_image_folder(str(data), 64)
    by_eval = evaluate_run(load_run(tmp_path / "run"), images, count=8)
    export_run(tmp_path / "run", tmp_path / "m.ganart.pt", half=False)
    model = load_model(tmp_path / "m.ganart.pt")

    def make_texture(seed, size, tileable):
        return synthesize(model, SynthesisOptions(seed, size, size, tileable=tileable))

    by_report = texture_quality(images, make_texture, crop=64, count=8, cell=model.config.upsampling)
    assert by_eval.crop_size == by_report.crop_size == 64
    assert by_eval.swd_full_floor == by_report.swd_full_floor and by_eval.swd_coarse_floor == by_report.swd_coarse_floor
    assert by_eval.swd_full == pytest.approx(by_report.swd_full, rel=1e-3)
    assert by_eval.swd_coarse == pytest.approx(by_report.swd_coarse, rel=1e-3)
