"""--orient rows: images whose lines run up and down are turned so every line runs along the rows.

Tested on image files written here: planks of random widths and shades with grain along them,
as a wood texture has, in both directions; and a map set whose normal map must turn with it.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from trainer.config import resolve
from trainer.errors import ConfigError
from trainer.line_direction import lines_run_up_and_down, turn_lines_to_rows
from trainer.map_sets import load_training_images
from trainer.runs import card_data_options
from trainer_support import tiny_config


def planks(height: int, width: int, seed: int) -> np.ndarray:
    """(height, width, 3) uint8: level planks 8-24 px tall, each its own shade, with grain streaks
    running along them and a little pixel noise."""
    rng = np.random.default_rng(seed)
    rows = np.empty(height)
    top = 0
    while top < height:
        tall = int(rng.integers(8, 25))
        rows[top : top + tall] = rng.uniform(70, 170)
        rows[top + tall - 1 : top + tall] = 30  # the seam
        top += tall
    grain = np.sin(np.arange(height)[:, None] * rng.uniform(1.5, 2.5) + rng.uniform(0, 0.3, (1, width)))
    grey = rows[:, None] + 12 * grain + rng.normal(0, 4, (height, width))
    colour = grey[:, :, None] * np.array([1.0, 0.75, 0.5])
    return colour.clip(0, 255).astype(np.uint8)


def test_level_planks_stay_and_upright_ones_are_turned(tmp_path):
    level, upright = planks(96, 128, seed=1), planks(128, 96, seed=2).transpose(1, 0, 2)
    assert not lines_run_up_and_down(level) and lines_run_up_and_down(upright)
    Image.fromarray(level).save(tmp_path / "level.png")
    Image.fromarray(upright).save(tmp_path / "upright.jpg", quality=95)
    as_stored = load_training_images(tmp_path, ("colour",), 64)
    turned = load_training_images(tmp_path, ("colour",), 64, orient="rows")
    assert as_stored.turned == [] and [p.name for p in turned.turned] == ["upright.jpg"]
    assert "1 turned 90° so their lines run along rows" in turned.describe()
    for image in turned.images:
        assert not lines_run_up_and_down(image)
    index = [p.name for p in turned.paths].index("upright.jpg")
    assert turned.images[index].shape == (128, 96, 3)  # 96 wide and 128 tall as stored, turned
    assert np.array_equal(turned.images[index], np.rot90(as_stored.images[index]))
    assert turned.colour_only().turned == turned.turned


def test_a_turned_map_sets_normals_turn_with_it(tmp_path):
    """Upright ridges tilt their normals left and right (x); turned level, up and down (y)."""
    size = 64
    height = np.sin(2 * np.pi * np.arange(size) / 16)[None, :].repeat(size, 0)  # ridges up and down
    slope = np.gradient(height, axis=1)
    normal = np.stack([-slope, np.zeros_like(slope), np.ones_like(slope)], -1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    Image.fromarray(((normal + 1) * 127.5).round().astype(np.uint8)).save(tmp_path / "ridge_NormalGL.png")
    Image.fromarray((128 + 100 * height)[:, :, None].repeat(3, 2).astype(np.uint8)).save(tmp_path / "ridge_Color.png")
    stack = load_training_images(tmp_path, ("colour", "normal"), 32, orient="rows").images[0]
    x, y = stack[..., 3].astype(float) - 127.5, stack[..., 4].astype(float) - 127.5
    assert np.abs(x).max() <= 1 and np.abs(y).max() > 30  # the slope is now along y
    assert not lines_run_up_and_down(stack)


def test_orient_rows_needs_no_rot90_and_a_model_card_says_how_its_data_was_seen(tmp_path):
    with pytest.raises(ConfigError, match="--no-rot90"):
        resolve(tiny_config(tmp_path, tmp_path / "run", orient="rows"))
    assert resolve(tiny_config(tmp_path, tmp_path / "run", orient="rows", rot90=False)).data.orient == "rows"
    assert card_data_options("python -m trainer train --data d --no-rot90 --orient rows") == {
        "rot90": False, "orient": "rows"}
    assert card_data_options("python -m trainer train --data d") == {"rot90": True, "orient": "as-stored"}
    images = [planks(64, 64, seed=3).transpose(1, 0, 2).copy()]
    assert turn_lines_to_rows(images, ("colour",)) == [True] and not lines_run_up_and_down(images[0])
