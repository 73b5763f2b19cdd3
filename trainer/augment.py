"""Differentiable augmentations applied to both real and fake images before D (DiffAugment-style),
so D cannot memorise a small set, and the wrap-around seam shift that shows D the tiling seam.

Translations wrap around instead of filling with zeros: the generator's textures are periodic, and
a wrapped shift of a crop is a crop whose edges meet in the middle, which is exactly the seam that
must look natural. All randomness comes from torch's global RNG, which checkpoints save.
"""

from __future__ import annotations

import torch


def augment(x: torch.Tensor, policy: tuple[str, ...], p: float = 1.0) -> torch.Tensor:
    """(N, C, H, W) in about [-1, 1] → same shape; every op is differentiable in x. Below p = 1
    each op applies to each image with probability p (the adaptive strength); at p = 1 it draws
    nothing more than the ops do, so runs from before p existed go on as they were."""
    for name in policy:
        changed = _OPS[name](x)
        if p < 1:
            applies = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < p
            changed = torch.where(applies, changed, x)
        x = changed
    return x


def color(x: torch.Tensor) -> torch.Tensor:
    """Brightness, saturation and contrast jitter of the colour channels (the first three); the
    other maps of a full-material batch (normal, height, …) are data, not colour, and stay as they are."""
    if x.shape[1] > 3:
        return torch.cat([color(x[:, :3]), x[:, 3:]], dim=1)
    n = x.shape[0]
    rand = lambda: torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device)  # noqa: E731
    x = x + (rand() - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (rand() * 2) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (rand() + 0.5) + mean  # contrast


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Per-image wrap-around shift by up to ratio·size in each direction."""
    n, _, h, w = x.shape
    sy = torch.randint(-int(h * ratio), int(h * ratio) + 1, (n, 1), device=x.device)
    sx = torch.randint(-int(w * ratio), int(w * ratio) + 1, (n, 1), device=x.device)
    return wrap_crop(x, -sy, -sx, h, w)


def wrap_crop(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(n, C, H, W) → (n, C, height, width): for each image, the window whose corner is at
    (top[i], left[i]) of the image repeated periodically. top, left: (n, 1) whole numbers, any
    value (taken modulo H and W). Differentiable in x."""
    h, w = x.shape[-2:]
    rows = (top + torch.arange(height, device=x.device)) % h  # (n, height)
    cols = (left + torch.arange(width, device=x.device)) % w  # (n, width)
    batch = torch.arange(x.shape[0], device=x.device)[:, None, None]
    return x.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zeroes one square of ratio·size per image, at a random (wrapping) place."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio), int(w * ratio)
    cy = torch.randint(0, h, (n, 1, 1), device=x.device)
    cx = torch.randint(0, w, (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = (((ys - cy) % h) < ch) & (((xs - cx) % w) < cw)  # (n, h, w)
    return x * (~inside).to(x.dtype)[:, None]


def seam_shift(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rolls both batches by one random shift, so D sees a wrap seam at the same place in both."""
    h, w = real.shape[-2:]
    dy, dx = (int(v) for v in torch.randint(0, 2**30, (2,)))
    shift = (dy % h, dx % w)
    return torch.roll(real, shift, dims=(2, 3)), torch.roll(fake, shift, dims=(2, 3))


_OPS = {"color": color, "translation": translation, "cutout": cutout}
