"""The training benchmark's side-by-side picture: each arch's sample grid at 1:1, one beside the
other, so the README's picture shows what each draws at its own scale."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_training  # noqa: E402


def test_sample_grids_sit_side_by_side_at_one_to_one(tmp_path):
    rng = np.random.default_rng(0)
    texture = (rng.random((390, 390, 3)) * 255).astype(np.uint8)
    dcgan = np.zeros((262, 262, 3), np.uint8)
    dcgan[::2] = 255  # stripes a resampling would blur to grey
    paths = [tmp_path / "texture.png", tmp_path / "dcgan.png"]
    Image.fromarray(texture).save(paths[0])
    Image.fromarray(dcgan).save(paths[1])

    sheet = np.asarray(Image.open(bench_training.side_by_side([paths[0], paths[0], paths[1]], tmp_path / "s.jpg")))

    assert sheet.shape == (390, 390 + 16 + 262, 3)  # a grid named twice (kept = last) is shown once
    right = sheet[:262, 390 + 16:].astype(float)
    assert abs(right[::2].mean() - 255) < 20 and right[1::2].mean() < 20  # the stripes kept, not resampled
    assert sheet[300:, 390 + 16:].min() > 235  # below the shorter grid: the white ground
