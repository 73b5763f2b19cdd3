"""`eval`: the quality report (trainer/quality.py) for a run or a model file, against its data."""

from __future__ import annotations

import torch

from blender_ganart.core.synthesis import SynthesisOptions, synthesize

from .data import ImageSet
from .quality import QualityReport, crop_quality, texture_quality
from .runs import LoadedRun
from .sampling import generated_crops


def evaluate_run(run: LoadedRun, images: ImageSet, count: int = 256, seed: int = 0,
                 device: torch.device | str = "cpu") -> QualityReport:
    """Texture models are judged by the textures the add-on makes (any size, both scales, lattice,
    seam); fixed-size generators (dcgan, mlp) by their crops at full texel density only."""
    data = run.config.data
    if run.config.model.arch == "texture":
        def make_texture(texture_seed: int, size: int, tileable: bool):
            options = SynthesisOptions(texture_seed, size, size, tileable=tileable)
            return synthesize(run.generator, options, device=device)

        return texture_quality(images, make_texture, crop=data.crop_size, count=count,
                               cell=run.generator.config.upsampling, flips=data.flips, rot90=data.rot90, seed=seed)
    fake = generated_crops(run.arch, run.generator, count, torch.device(device), seed)
    return crop_quality(images, fake, flips=data.flips, rot90=data.rot90, seed=seed)
