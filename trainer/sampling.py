"""Running a trained generator for pictures and metrics: sample grids from fixed seeds, and
batches of generated crops drawn the same way in every evaluation."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from blender_ganart.core.devices import module_on
from blender_ganart.core.latent import PixelNoise

from .archs import Arch
from .atomic import write_atomically
from .batch_norm import has_batch_norm

SAMPLE_SEEDS = tuple(range(16))  # the fixed seeds of every sample grid


@torch.no_grad()
def run_generator(arch: Arch, g: nn.Module, z: torch.Tensor, device: torch.device, crop: bool,
                  generator: torch.Generator | None = None, chunk: int = 16,
                  noise: PixelNoise | None = None, crop_size: int | None = None,
                  reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """(n, …) latents → (n, 3, H, W) float32 CPU images in [-1, 1], without touching g's state.

    Whole images (crop=False) take their pixel noise from `noise` (one seed per latent) if given;
    crops are crop_size px (None: the training crop). `reduce` maps each chunk before they are
    joined, so that only a chunk of large images is ever held.

    Batch-norm generators (DCGAN) run in training mode on a copy, as in the DCGAN paper's
    samples: their running statistics lag behind a quickly changing generator.
    """
    g = module_on(arch.inference_generator(g), device)
    was_training = g.training
    if has_batch_norm(g):
        g = copy.deepcopy(g).train()
    else:
        g.eval()
    out = []
    for start in range(0, z.shape[0], chunk):
        part = z[start : start + chunk].to(device)
        if crop:
            images = arch.fake_batch(g, part, generator, crop_size)
        elif noise is not None:
            images = g(part, noise=noise[start : start + chunk])
        else:
            images = g(part)
        images = images.float().cpu()
        out.append(reduce(images) if reduce else images)
    g.train(was_training)
    return torch.cat(out)


def generated_crops(arch: Arch, g: nn.Module, count: int, device: torch.device, seed: int,
                    crop_size: int | None = None,
                    reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """count crops (training size, or crop_size) from fresh latents of a fixed seed: comparable
    across steps. `reduce`: as in run_generator."""
    gen = torch.Generator().manual_seed(seed)
    z = arch.sample_latents(count, gen, crop_size)
    return run_generator(arch, g, z, device, crop=True, generator=gen, crop_size=crop_size, reduce=reduce)


def seed_images(arch: Arch, g: nn.Module, device: torch.device, seeds=SAMPLE_SEEDS,
                size: int | None = None) -> torch.Tensor:
    """One image per fixed seed; for the texture arch the whole periodic tile (it wraps), of
    `size` px (None: the sample grid's) as the add-on makes it for that seed."""
    seeds = list(seeds)
    return run_generator(arch, g, arch.seed_latents(seeds, size), device, crop=False,
                         noise=arch.seed_noise(seeds, size))


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] → (N, H, W, 3) uint8."""
    x = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def save_grid(images: torch.Tensor, path: Path, columns: int | None = None, gap: int = 2) -> None:
    """Writes a PNG grid of (N, C, H, W) images in [-1, 1] (atomically): their colour, the first
    three channels (a full-material model's other maps follow them)."""
    pixels = to_uint8(images[:, :3])
    n, h, w, _ = pixels.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    canvas = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, 3), 255, dtype=np.uint8)
    for i, image in enumerate(pixels):
        r, c = divmod(i, columns)
        canvas[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = image
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda handle: Image.fromarray(canvas).save(handle, format="PNG"))
