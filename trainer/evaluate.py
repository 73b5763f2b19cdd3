"""`eval`: how close a generator's crops are to the training images, next to the real-vs-real
floor, so a number means something on its own."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .data import CropSampler, ImageSet
from .metrics import colour_distance, swd_per_level
from .runs import LoadedRun
from .sampling import generated_crops


@dataclass
class EvalResult:
    images: int
    crop_size: int
    swd: float
    swd_levels: list[float]
    colour: float
    swd_floor: float
    colour_floor: float

    def table(self) -> str:
        rows = [("SWD (×10³, mean of levels)", self.swd, self.swd_floor),
                ("colour distance (8-bit levels)", self.colour, self.colour_floor)]
        lines = [f"{self.images} generated vs {self.images} real crops of {self.crop_size} px",
                 f"{'metric':32} {'generated':>10} {'real-vs-real floor':>20}"]
        lines += [f"{name:32} {value:10.2f} {floor:20.2f}" for name, value, floor in rows]
        lines.append("SWD per level (finest first): " + ", ".join(f"{v:.2f}" for v in self.swd_levels))
        return "\n".join(lines)


def evaluate_run(run: LoadedRun, images: ImageSet, count: int = 256, seed: int = 0,
                 device: torch.device | str = "cpu") -> EvalResult:
    """SWD and colour distance of `count` generated crops vs `count` real crops; the floors
    compare those real crops with `count` other real crops."""
    crop = run.config.data.crop_size
    real = CropSampler(images, crop, seed, run.config.data.flips, run.config.data.rot90).sample(2 * count)
    fake = generated_crops(run.arch, run.generator, count, torch.device(device), seed)
    first, second = real[:count], real[count:]
    levels = swd_per_level(first, fake, seed=seed)
    floor = swd_per_level(first, second, seed=seed)
    return EvalResult(count, crop, sum(levels) / len(levels), levels, colour_distance(first, fake),
                      sum(floor) / len(floor), colour_distance(first, second))
