"""What a run measures every --metrics-every steps, and what --keep-best ranks by.

Each evaluation judges the generator against the same real crops and latents (fixed seeds), so
numbers compare across steps and across runs on the same data:
- "swd" (a mean over Laplacian levels of the training-size crops' SWD) and "colour": the run's
  long-standing curve;
- "full_ratio" and "coarse_ratio": the quality report's two scales (trainer/quality.py), each SWD
  over its real-vs-real floor, the scales an artist judges a texture at;
- for a run that learns normals, "swd_normal" and "normal_ratio" (over the normals' own floor),
  and the share of their pixels facing out ("facing_out", its mean over FACING_SEEDS whole
  textures of FACING_SIZE px, and "facing_out_lowest"), beside the data's own (the step-0
  record): a step whose normals are steeper than the data's steepest map carries
  "steeper_than_data", and --keep-best passes it by. SWD over a floor is a mean over patches: a
  Rock (material) step it ranked best had one seed in 32 facing sideways on a third of its
  pixels (0.669 facing out; the rock sets' steepest 0.896). The textures are the ones an artist
  gets for those seeds, not crops: one random 256 px window per latent field read a candidate's
  steepest as 0.869 where its 128 seed textures held one at 0.829 (docs/model_history.md).
  `--facing-at-least` asks more than the data: any of those textures facing out on that share of
  its pixels or less makes the step steeper than asked (Rock (material)'s recipe asks 0.95).

--keep-best ranks by the ratios (trainer/best.py), not by "swd": a mean over levels is swung by
its coarsest level (a crop's mean colour), and over a GPU sitting it rated steps best that the
report then found farther from the data at full density (README, "Keeping the best generator").

The ratios here are by default over one fixed draw of real crops (RUN_DRAWS), not the report's
mean over eight: ranking a run's steps needs the same crops at every evaluation, not a steady
absolute figure, and each further draw costs every evaluation two more SWDs per scale. Their
absolute values carry that draw's floor (metal's 4× floor was 73.7 on a run's draw, 57.1 as the
mean of the report's eight), so quote the report's (`trainer eval`), not these. The draw also
weighs the two scales in the sum keep-best ranks by: a Ground (material) run's full-density floor
was 42.98 against the report's 31.55, its 4× floor 31.94 against 39.34, and the step it kept read
2.98 / 2.63 × floor by the report where the file before it read 1.99 / 2.03
(scripts/keep_best_spread.py); `--metrics-draws 8` measures as the report does, at that cost.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from blender_ganart.core.model_maps import channel_slices

from .archs import Arch
from .data import CropSampler, ImageSet
from .metrics import colour_distance, facing_out, real_vs_real_floor, steeper_than_data, swd, swd_per_level
from .quality import COARSE, REPORT_CROP, RealScales, box_downscale, maps_facing_out, real_scales
from .sampling import generated_crops, seed_images

EVAL_SEED = 20180203  # fixed latents and real crops for metrics, so numbers compare across steps
RUN_DRAWS = 1  # draws of real crops behind the in-run ratios by default (module docstring; --metrics-draws)
FACING_SEEDS = tuple(range(32))  # the seeds whose whole textures the normals' facing is judged on,
FACING_SIZE = 256  # at this size: those the bundled models' test judges (tests/test_bundled_models.py)


def facing_judgement(at_least: float = 0.0) -> str:
    """How a run judges its normals' facing, recorded with the generator it keeps: one judged
    otherwise is judged again when the run resumes (trainer/best.py)."""
    asked = f", each above {at_least:g}" if at_least else ""
    return f"{len(FACING_SEEDS)} seed textures of {FACING_SIZE} px{asked}"


class RunMeasure:
    """The real side of every evaluation, drawn once per run: crops and floors."""

    def __init__(self, arch: Arch, images: ImageSet, count: int, flips: bool = True, rot90: bool = True,
                 facing_at_least: float = 0.0, draws: int = RUN_DRAWS):
        """facing_at_least: the share of pixels every seed texture's normals must face out on
        beyond their data's ask (--facing-at-least; 0: the data's ask only). draws: the draws of
        real crops behind the ratios at both scales (--metrics-draws)."""
        self.arch, self.count, self.facing_at_least = arch, count, facing_at_least
        crop = arch.crop
        eval_all = CropSampler(images, crop, EVAL_SEED, flips, rot90).sample(2 * count)
        self.real = eval_all[:count, :3]
        self.normal = channel_slices(images.maps).get("normal")
        self.real_normals = eval_all[:count, self.normal] if self.normal else None
        full_crop = min(REPORT_CROP, crop)
        self.scales: RealScales = real_scales(images, full_crop, count, flips=flips, rot90=rot90, seed=EVAL_SEED,
                                              coarse=arch.makes_crops_of(COARSE * full_crop), draws=draws)
        self.floors = {"swd_floor": real_vs_real_floor(eval_all[:, :3], seed=EVAL_SEED),
                       "full_floor": self.scales.full_floor}
        if self.scales.coarse_floor is not None:
            self.floors["coarse_floor"] = self.scales.coarse_floor
        if self.normal:
            self.floors["normal_floor"] = swd(self.real_normals, eval_all[count:, self.normal], seed=EVAL_SEED)
            self.data_facing = maps_facing_out(images)  # whole maps: their crops' shares vary more
            self.floors["data_facing_out"] = float(np.mean(self.data_facing))
            self.floors["data_facing_out_lowest"] = min(self.data_facing)

    def __call__(self, g: nn.Module, device: torch.device, latents_seed: int = EVAL_SEED) -> dict:
        """One evaluation of generator g (rounded to 3 decimals, as metrics.jsonl keeps it).
        latents_seed: a run ranks its steps on EVAL_SEED's latents; others show how much of a
        step's lead is those latents' (scripts/keep_best_spread.py)."""
        fake_all = generated_crops(self.arch, g, self.count, device, latents_seed)
        fake = fake_all[:, :3]
        levels = swd_per_level(self.real, fake, seed=EVAL_SEED)
        record = {"swd": sum(levels) / len(levels), "swd_levels": levels, "colour": colour_distance(self.real, fake)}
        if self.normal:
            record["swd_normal"] = swd(self.real_normals, fake_all[:, self.normal], seed=EVAL_SEED)
            record["normal_ratio"] = record["swd_normal"] / max(self.floors["normal_floor"], 1e-9)
        steeper = None
        full, coarse = self.scales.ratios(*self._generated_scales(g, device, fake_all, latents_seed))
        record["full_ratio"] = full
        if coarse is not None:
            record["coarse_ratio"] = coarse
        if self.normal:
            facing = self.seed_facing(g, device)
            record["facing_out"], record["facing_out_lowest"] = float(np.mean(facing)), float(facing.min())
            steeper = steeper_than_data(facing, self.data_facing) or self._steeper_than_asked(facing)
        record = _rounded(record)
        if steeper:
            record["steeper_than_data"] = steeper
        return record

    def _steeper_than_asked(self, facing: np.ndarray) -> str | None:
        if not self.facing_at_least or facing.min() > self.facing_at_least:  # 0: nothing asked
            return None
        return (f"seed {FACING_SEEDS[int(facing.argmin())]} faces out on {facing.min():.3f} of its pixels, "
                f"more than {self.facing_at_least:g} asked")

    def seed_facing(self, g: nn.Module, device: torch.device) -> np.ndarray:
        """The share of normals facing out in each of g's FACING_SEEDS textures of FACING_SIZE px,
        drawn as the add-on draws them (the seeds' own fields and pixel noise)."""
        textures = seed_images(self.arch, g, device, FACING_SEEDS, size=FACING_SIZE)
        return facing_out(textures[:, self.normal].permute(0, 2, 3, 1).numpy())

    def _generated_scales(self, g: nn.Module, device: torch.device, fake_all: torch.Tensor,
                          latents_seed: int = EVAL_SEED) -> tuple[torch.Tensor, torch.Tensor | None]:
        """g's colour at the report's two scales, from fixed latents: the top-left full-density
        crop of each 4×-larger crop (the larger crop sits at a random offset already) and the
        whole of it box-downscaled; only the full scale for a generator of one output size.
        Where the training crop is that size already (the GPU recipe's 256 px, a 64 px run
        without a 4× scale), its crops `fake_all` serve, rather than drawing as many again."""
        crop = self.scales.crop
        large = crop if self.scales.coarse is None else COARSE * crop

        def scales_of(images: torch.Tensor) -> torch.Tensor:
            full = images[:, :3, :crop, :crop]
            return full if self.scales.coarse is None else torch.cat([full, box_downscale(images[:, :3], COARSE)], dim=1)

        if large == self.arch.crop:
            both = scales_of(fake_all)
        else:
            both = generated_crops(self.arch, g, self.count, device, latents_seed + 1, crop_size=large,
                                   reduce=scales_of)
        return both[:, :3], (None if self.scales.coarse is None else both[:, 3:])


def _rounded(record: dict) -> dict:
    return {k: [round(x, 3) for x in v] if isinstance(v, list) else round(v, 3) for k, v in record.items()}
