"""`eval`: the quality report (trainer/quality.py) for a run or a model file, against its data."""

from __future__ import annotations

import torch

from blender_ganart.core.synthesis import SynthesisOptions, synthesize

from .data import ImageSet
from .quality import REPORT_CROP, QualityReport, crop_quality, texture_quality
from .runs import LoadedRun
from .sampling import generated_crops


def evaluate_run(run: LoadedRun, images: ImageSet, count: int = 128, seed: int = 0,
                 device: torch.device | str = "cpu") -> QualityReport:
    """Texture models are judged by the textures the add-on makes (any size, both scales, lattice,
    seam) exactly as scripts/model_report.py judges a model file: 64 px crops at full density
    (the run's crop where that is smaller) and their 4× scale, whatever crop the run trained on,
    so a GPU run's 256 px crops give the same numbers as the report of its export.
    Fixed-size generators (dcgan, mlp) are judged by their crops at full texel density only."""
    data = run.config.data
    if run.config.model.arch == "texture":
        def make_texture(texture_seed: int, size: int, tileable: bool):
            options = SynthesisOptions(texture_seed, size, size, tileable=tileable)
            return synthesize(run.generator, options, device=device)

        return texture_quality(images, make_texture, crop=min(REPORT_CROP, data.crop_size), count=count,
                               cell=run.generator.config.upsampling, flips=data.flips, rot90=data.rot90, seed=seed,
                               maps=run.config.map_list())
    fake = generated_crops(run.arch, run.generator, count, torch.device(device), seed)
    return crop_quality(images, fake, flips=data.flips, rot90=data.rot90, seed=seed)
