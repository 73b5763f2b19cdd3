"""One quality report for a texture model, judged as artists use its textures.

A generated texture is compared with the training images at their own resolution, at two
scales: full texel density (the grain an artist sees up close) and after a 4× box downscale of
4×-larger crops (structure: bricks, boulders, planks). Each SWD stands next to its real-vs-real
floor, so a ratio of 1 is as close as two samples of the data are to each other. Beside them: the
colour distance (SWD normalises colour away), the lattice score (a latent-cell grid shows as a
spectral peak at the cell frequency), and the wrap-seam ratio of tileable textures. For a model
that learns normal maps, judged on data that has them: the share of its normals facing out, over
its textures and at its steepest texture, beside the data's own maps (trainer/metrics.py
steeper_than_data: a seed whose relief faces sideways is a texture an artist gets).

Every SWD and colour figure is a mean over REPORT_DRAWS independent draws of real crops: one
draw of 128 crops is a small sample of a set of mixed sub-styles, and its real-vs-real floor moved
1.5-2.3× between draws on the six bundled sets (benchmarks/floor_spread.py; metal's 4× floor
34.1 on one draw, 73.9 on another), which moved every ratio with it. The mean over draws
estimates what a generator that samples the data itself would score, the floor a ratio of 1
means.

`trainer eval` and `scripts/model_report.py` both print this report, and the README's table
comes from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from blender_ganart.core.model_maps import COLOUR_ONLY, channel_slices

from .data import CropSampler, ImageSet
from .metrics import as_nchw, colour_distance, facing_out, steeper_than_data, swd

# (seed, size, tileable) → (size, size, 3) float32 texture in [0, 1], as the add-on makes it.
TextureMaker = Callable[[int, int, bool], np.ndarray]

COARSE = 4  # the structure scale: crops 4× larger, box-downscaled by 4
REPORT_CROP = 64  # the full-density crop of the report (scripts/model_report.py's default)
REPORT_DRAWS = 8  # draws of real crops each SWD and floor is averaged over (module docstring)
LATTICE_CROP = 256  # the lattice score's analysis window, in pixels


@dataclass
class QualityReport:
    crop_size: int
    crops: int  # per set
    draws: int  # of real crops, each figure a mean over them
    swd_full: float
    swd_full_floor: float
    colour: float
    colour_floor: float
    swd_coarse: float | None = None  # None: the generator cannot make textures 4 crops wide
    swd_coarse_floor: float | None = None
    lattice: float | None = None
    lattice_real: float | None = None
    seam: float | None = None  # mean jump across the wrap seam ÷ mean jump between neighbours
    # Shares of normals facing out: the mean over the generated textures and their steepest, and
    # the same over the data's maps (None: the model or the data has no normal maps).
    facing_out: float | None = None
    facing_out_lowest: float | None = None
    facing_out_real: float | None = None
    facing_out_real_lowest: float | None = None
    steeper_than_data: str | None = None  # why the normals are steeper than the data's, or None

    @property
    def full_ratio(self) -> float:
        return _ratio(self.swd_full, self.swd_full_floor)

    @property
    def coarse_ratio(self) -> float | None:
        return None if self.swd_coarse is None else _ratio(self.swd_coarse, self.swd_coarse_floor)

    def as_dict(self) -> dict:
        return dict(asdict(self), full_ratio=self.full_ratio, coarse_ratio=self.coarse_ratio)

    def table(self) -> str:
        rows = [
            (f"SWD ×10³, full texel density ({self.crop_size} px crops)", self.swd_full, self.swd_full_floor,
             self.full_ratio),
            (f"SWD ×10³, 4× downscale ({COARSE * self.crop_size} px crops)", self.swd_coarse,
             self.swd_coarse_floor, self.coarse_ratio),
            ("colour distance (8-bit levels)", self.colour, self.colour_floor, None),
            (f"lattice score (real data: {_fmt(self.lattice_real)})", self.lattice, self.lattice_real,
             None if self.lattice is None else _ratio(self.lattice, self.lattice_real)),
            ("wrap-seam ratio (1 = no seam)", self.seam, None, None),
        ]
        if self.facing_out is not None:
            rows += [(f"normals facing out, mean over textures ({COARSE * self.crop_size} px)", self.facing_out,
                      self.facing_out_real, None),
                     ("normals facing out, steepest texture", self.facing_out_lowest, self.facing_out_real_lowest, None)]
        lines = [f"{self.crops} generated vs {self.crops} real crops per scale; SWD, colour and floors are means "
                 f"over {self.draws} draws of real crops",
                 f"{'measure':50} {'generated':>10} {'real':>10} {'ratio':>7}"]
        for name, value, floor, ratio in rows:
            digits = 3 if name.startswith("normals facing out") else 2  # shares: 0.896 against 0.846 matters
            lines.append(f"{name:50} {_fmt(value, digits):>10} {_fmt(floor, digits):>10} {_fmt(ratio):>7}")
        if self.steeper_than_data:
            lines.append(f"normals steeper than the data's: {self.steeper_than_data}")
        return "\n".join(lines)


def maps_facing_out(images: ImageSet) -> list[float] | None:
    """Each image's share of normals facing out (trainer/metrics.py facing_out), the whole map as
    an artist sees it; None for images without normal maps."""
    normal = channel_slices(images.maps).get("normal")
    return None if normal is None else [facing_out(im[..., normal] / 127.5 - 1.0) for im in images.images]


def _ratio(value: float, floor: float) -> float:
    return value / floor if floor > 0 else float("inf")


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


@dataclass(frozen=True)
class RealScales:
    """The real side of the report's two SWD scales, drawn once: `draws` independent draws of crops
    at full texel density and of 4×-larger crops box-downscaled, and the floors (mean real-vs-real
    SWD over the draws). Drawn once so that every generator judged against it (each evaluation of
    a run, each model of a report) meets the same crops, and differences between them are the
    generators', not the draw's. Draw k uses crop seeds seed+2k+1 and seed+2k+2, so draws share no
    crops and a one-draw RealScales is draw 0 of any longer one. Each draw's own floors are kept
    (benchmarks/floor_spread.py prints them); the report divides by their means."""

    full: torch.Tensor  # (draws, count, 3, crop, crop) in [-1, 1]
    full_floors: tuple[float, ...]  # one per draw
    colour_floors: tuple[float, ...]
    coarse: torch.Tensor | None  # (draws, count, 3, crop, crop): None where no image is 4 crops wide
    coarse_floors: tuple[float, ...]  # empty without a 4× scale
    seed: int

    @property
    def full_floor(self) -> float:
        return float(np.mean(self.full_floors))

    @property
    def colour_floor(self) -> float:
        return float(np.mean(self.colour_floors))

    @property
    def coarse_floor(self) -> float | None:
        return float(np.mean(self.coarse_floors)) if self.coarse_floors else None

    @property
    def crop(self) -> int:
        return self.full.shape[-1]

    @property
    def count(self) -> int:
        return self.full.shape[1]

    @property
    def draws(self) -> int:
        return self.full.shape[0]

    def swds(self, fake_full: torch.Tensor, fake_coarse: torch.Tensor | None = None) -> tuple[float, float | None]:
        """The SWD of generated crops at each scale, a mean over the draws (None for a scale
        either side lacks)."""
        full = _mean_swd(self.full, fake_full[:, :3], self.seed)
        if self.coarse is None or fake_coarse is None:
            return full, None
        return full, _mean_swd(self.coarse, fake_coarse[:, :3], self.seed)

    def colour(self, fake_full: torch.Tensor) -> float:
        """The colour distance of generated full-density crops, a mean over the draws."""
        return float(np.mean([colour_distance(real, fake_full[:, :3]) for real in self.full]))

    def ratios(self, fake_full: torch.Tensor, fake_coarse: torch.Tensor | None = None) -> tuple[float, float | None]:
        """swds over their floors: 1 = as close as two draws of the data are to each other."""
        full, coarse = self.swds(fake_full, fake_coarse)
        return _ratio(full, self.full_floor), None if coarse is None else _ratio(coarse, self.coarse_floor)


def _mean_swd(reals: torch.Tensor, fake: torch.Tensor, seed: int) -> float:
    """Draw k's SWD uses projection seed seed+2k, as its floor did."""
    return float(np.mean([swd(real, fake, seed=seed + 2 * k) for k, real in enumerate(reals)]))


def real_scales(real: ImageSet, crop: int, count: int, *, flips: bool = True, rot90: bool = True, seed: int = 0,
                coarse: bool = True, draws: int = REPORT_DRAWS) -> RealScales:
    """The colour of `real` (its first three channels) at both scales; coarse=False skips the 4×
    scale (for generators that cannot make crops that large)."""
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    keep = [i for i, im in enumerate(real.images) if min(im.shape[:2]) >= COARSE * crop]
    large = ImageSet([real.images[i] for i in keep], [real.paths[i] for i in keep], maps=real.maps) if keep else None
    full, full_floors, colour_floors, coarse_sets, coarse_floors = [], [], [], [], []
    for k in range(draws):
        draw_seed = seed + 2 * k
        real_a = _real_crops(real, crop, count, flips, rot90, draw_seed + 1)[:, :3]
        real_b = _real_crops(real, crop, count, flips, rot90, draw_seed + 2)[:, :3]
        full.append(real_a)
        full_floors.append(swd(real_a, real_b, seed=draw_seed))
        colour_floors.append(colour_distance(real_a, real_b))
        if coarse and large is not None:
            coarse_a, coarse_b = (_coarse_real_crops(large, crop, count, flips, rot90, draw_seed + j) for j in (1, 2))
            coarse_sets.append(coarse_a)
            coarse_floors.append(swd(coarse_a, coarse_b, seed=draw_seed))
    return RealScales(torch.stack(full), tuple(full_floors), tuple(colour_floors),
                      torch.stack(coarse_sets) if coarse_sets else None, tuple(coarse_floors), seed)


def texture_quality(real: ImageSet, make_texture: TextureMaker, *, crop: int = REPORT_CROP, count: int = 128,
                    cell: int = 32, seeds: int = 16, size: int = 512, flips: bool = True, rot90: bool = True,
                    seed: int = 0, first_seed: int = 0, draws: int = REPORT_DRAWS,
                    maps: tuple[str, ...] = COLOUR_ONLY) -> QualityReport:
    """The full report for a generator that makes textures of any size (the texture arch), whose
    textures hold `maps` (colour first); `real`'s colour is compared, and its normal maps, if it
    has them, with the model's.

    Each of the `count` crops per scale comes from its own texture (seeds first_seed …
    first_seed + count - 1, each COARSE·crop px: the whole texture box-downscaled for the
    structure scale, a random crop-size window of it at full density). Crops cut from a few large
    textures share their global code and overlap: with 8 per texture of 16 seeds, the 4× ratio of
    one model moved from 2.63 to 3.45 between seeds 0-15 and 16-31. The lattice score, which wants
    large windows, uses `seeds` textures of `size` px."""
    rng = np.random.Generator(np.random.PCG64(seed))
    large = COARSE * crop
    fake_full = torch.empty(count, 3, crop, crop)
    fake_coarse = torch.empty(count, 3, crop, crop)
    normal, real_normal = channel_slices(maps).get("normal"), channel_slices(real.maps).get("normal")
    facing = []
    for i in range(count):
        made = make_texture(first_seed + i, large, False)
        if normal and real_normal:
            facing.append(facing_out(made[..., normal] * 2 - 1))
        texture = torch.from_numpy(np.ascontiguousarray(made[..., :3]))
        texture = texture.permute(2, 0, 1) * 2 - 1
        y, x = (int(v) for v in rng.integers(large - crop + 1, size=2))
        fake_full[i] = texture[:, y : y + crop, x : x + crop]
        fake_coarse[i] = box_downscale(texture[None], COARSE)[0]
    scales = real_scales(real, crop, count, flips=flips, rot90=rot90, seed=seed, draws=draws)
    swd_full, swd_coarse = scales.swds(fake_full, fake_coarse)
    report = QualityReport(crop, count, scales.draws, swd_full, scales.full_floor, scales.colour(fake_full),
                           scales.colour_floor, swd_coarse, scales.coarse_floor)
    window = lattice_window(real, cell)
    if window:
        size = max(size, window)
        textures = [make_texture(s, size, False) for s in range(first_seed, first_seed + seeds)]
        report.lattice = lattice_score(textures, cell, window)
        report.lattice_real = lattice_score([im.astype(np.float32) / 255 for im in real.images], cell, window)
    report.seam = float(np.mean([seam_ratio(make_texture(s, 8 * cell, True)) for s in range(4)]))
    if facing:
        real_facing = maps_facing_out(real)
        report.facing_out, report.facing_out_lowest = float(np.mean(facing)), min(facing)
        report.facing_out_real, report.facing_out_real_lowest = float(np.mean(real_facing)), min(real_facing)
        report.steeper_than_data = steeper_than_data(facing, real_facing)
    return report


def crop_quality(real: ImageSet, fake: torch.Tensor, *, flips: bool = True, rot90: bool = True,
                 seed: int = 0, draws: int = REPORT_DRAWS) -> QualityReport:
    """SWD and colour at full texel density only: for generators with a fixed output size."""
    fake = as_nchw(fake)
    count, crop = fake.shape[0], fake.shape[-1]
    scales = real_scales(real, crop, count, flips=flips, rot90=rot90, seed=seed, coarse=False, draws=draws)
    return QualityReport(crop, count, scales.draws, scales.swds(fake)[0], scales.full_floor, scales.colour(fake),
                         scales.colour_floor)


def _real_crops(images: ImageSet, crop: int, count: int, flips: bool, rot90: bool, seed: int) -> torch.Tensor:
    return CropSampler(images, crop, seed, flips, rot90).sample(count)


def _coarse_real_crops(images: ImageSet, crop: int, count: int, flips: bool, rot90: bool, seed: int,
                       chunk: int = 32) -> torch.Tensor:
    """count real crops COARSE·crop wide, box-downscaled to crop: drawn a chunk at a time (the
    same draws as one batch) so that only a chunk of large crops is ever held."""
    sampler = CropSampler(images, COARSE * crop, seed, flips, rot90)
    parts = [box_downscale(sampler.sample(min(chunk, count - start))[:, :3], COARSE) for start in range(0, count, chunk)]
    return torch.cat(parts)


def box_downscale(images: torch.Tensor, factor: int) -> torch.Tensor:
    """(N, C, H, W) → (N, C, H/factor, W/factor): the mean of each factor×factor block."""
    return torch.nn.functional.avg_pool2d(images, factor)


def lattice_window(real: ImageSet, cell: int) -> int:
    """LATTICE_CROP, or the largest power of two that some real image still holds (0: none does,
    or the window would be under 4 cells, too few for a spectral peak to stand out)."""
    largest = max(min(im.shape[:2]) for im in real.images)
    window = LATTICE_CROP
    while window > largest:
        window //= 2
    return window if window >= 4 * cell else 0


def lattice_score(images: list[np.ndarray], cell: int, size: int = LATTICE_CROP) -> float:
    """The power spectrum's peak at the cell frequency (or a first harmonic) over the mean of its
    neighbours 3 bins away, averaged over size-px grayscale Hann-windowed crops: ~1–2.5 for real
    textures, 5 and more where a grid of period `cell` shows."""
    window = np.outer(np.hanning(size), np.hanning(size))
    power = np.zeros((size, size))
    n = 0
    for image in images:
        gray = np.asarray(image, dtype=np.float64)[..., :3].mean(axis=-1)
        for y in range(0, gray.shape[0] - size + 1, size):
            for x in range(0, gray.shape[1] - size + 1, size):
                crop = gray[y : y + size, x : x + size]
                power += np.abs(np.fft.fft2((crop - crop.mean()) * window)) ** 2
                n += 1
    if not n:
        return float("nan")
    power = np.fft.fftshift(power / n)
    c, k = size // 2, size // cell
    scores = []
    for fy, fx in [(0, k), (k, 0), (k, k), (k, -k), (0, 2 * k), (2 * k, 0), (2 * k, 2 * k)]:
        py, px = c + fy, c + fx
        if not (3 <= py < size - 3 and 3 <= px < size - 3):
            continue
        around = [power[py + dy, px + dx] for dy in (-3, 0, 3) for dx in (-3, 0, 3) if dy or dx]
        scores.append(power[py, px] / max(float(np.mean(around)), 1e-30))  # flat images: 0
    return float(max(scores))


def seam_ratio(texture: np.ndarray) -> float:
    """Mean jump across the wrap-around seams ÷ mean jump between interior neighbours (≈1: none)."""
    seams = np.abs(texture[:, 0] - texture[:, -1]).mean() + np.abs(texture[0] - texture[-1]).mean()
    interior = np.abs(np.diff(texture, axis=1)).mean() + np.abs(np.diff(texture, axis=0)).mean()
    return float(seams / interior) if interior > 0 else float("inf")
