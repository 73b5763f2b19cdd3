"""Shared helpers for the trainer tests (no tests here): tiny real configs and real image folders
written with Pillow, so every trainer test runs in seconds on two CPU cores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from trainer.config import (AugmentOptions, DataOptions, LossOptions, ModelOptions, OptimOptions, RunOptions,
                            TrainConfig)


def write_texture_folder(folder: Path, count: int = 6, size: tuple[int, int] = (48, 40), seed: int = 0) -> Path:
    """Real PNG files of a noisy stripe texture (and one in a subfolder, to test recursion)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sub").mkdir(exist_ok=True)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    for i in range(count):
        base = 128 + 90 * np.sin(x / (2.0 + i) + y / 5.0) + rng.normal(0, 15, (h, w))
        a = base.clip(0, 255).astype(np.uint8)
        target = folder / ("sub" if i == 0 else ".") / f"tex{i}.png"
        Image.fromarray(np.stack([a, a // 2 + 40, 255 - a], axis=-1)).save(target)
    return folder


def tiny_config(data: Path, out: Path, arch: str = "texture", steps: int = 4, **overrides) -> TrainConfig:
    """A complete run small enough for a unit test; overrides go to the matching section."""
    sections = {
        "data": dict(data=str(data), crop_size=32),
        "model": dict(arch=arch, g_widths=(16, 8, 8), g_extra_convs=(0, 0, 0), local_dim=4, global_dim=4,
                      d_width=8, g_base_width=8, z_dim=8),
        "loss": dict(),
        "optim": dict(batch=4),
        "augment": dict(),
        "run": dict(out=str(out), steps=steps, checkpoint_every=2, sample_every=0, metrics_every=0,
                    metrics_images=8, log_every=1, threads=1, device="cpu"),
    }
    classes = {"data": DataOptions, "model": ModelOptions, "loss": LossOptions, "optim": OptimOptions,
               "augment": AugmentOptions, "run": RunOptions}
    for key, value in overrides.items():
        section = next(name for name, cls in classes.items() if key in cls.__dataclass_fields__)
        sections[section][key] = value
    return TrainConfig(**{name: classes[name](**values) for name, values in sections.items()})


def tiny_cli_args(data: Path, out: Path, steps: int = 4) -> list[str]:
    """The same tiny run as command-line options."""
    return ["train", "--data", str(data), "--out", str(out), "--crop-size", "32", "--g-widths", "16,8,8",
            "--g-extra-convs", "0,0,0", "--local-dim", "4", "--global-dim", "4", "--d-width", "8",
            "--batch", "4", "--steps", str(steps), "--checkpoint-every", "2",
            "--sample-every", "0", "--metrics-every", "0", "--metrics-images", "8", "--log-every", "1",
            "--threads", "1", "--device", "cpu"]


def quiet(message: str) -> None:
    """A log function for in-process runs that keeps test output clean."""
