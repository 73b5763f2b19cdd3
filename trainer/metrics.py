"""Quality metrics that need no downloaded network: the sliced Wasserstein distance (SWD) over
Laplacian-pyramid 7×7 patch descriptors (Karras et al., 2018, ProGAN §5) and a colour-statistics
distance.

SWD compares the *distributions* of local patches at each scale (fine detail at the top of the
pyramid, coarse structure at the bottom), which is what a texture is. It normalises each set's
descriptors by their own mean and std, so it is blind to a global colour shift: report it next to
`colour_distance`. Lower is better for both; compare to the real-vs-real floor of the same data.

Images may be torch float tensors (N, C, H, W) in [-1, 1] (what the networks produce), numpy
uint8 (N, H, W, C), or numpy float (N, H, W, C) in [0, 1] (what blender_ganart.core.synthesis returns).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

PATCH = 7  # neighbourhood size of one descriptor
PATCHES_PER_IMAGE = 128
MIN_LEVEL_SIZE = 16  # the pyramid stops at this resolution
DIRECTIONS = 512  # random projection directions (4 repeats × 128 in the paper)

_GAUSS = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def as_nchw(images) -> torch.Tensor:
    """Any of the accepted image batches → float32 (N, C, H, W) in [-1, 1] on the CPU."""
    if isinstance(images, torch.Tensor):
        if images.ndim != 4:
            raise ValueError(f"expected an (N, C, H, W) tensor, got shape {tuple(images.shape)}")
        return images.detach().float().cpu()
    array = np.asarray(images)
    if array.ndim != 4:
        raise ValueError(f"expected an (N, H, W, C) array, got shape {array.shape}")
    if array.dtype == np.uint8:
        scaled = array.astype(np.float32) / 127.5 - 1.0
    else:
        scaled = array.astype(np.float32) * 2.0 - 1.0
    return torch.from_numpy(np.ascontiguousarray(scaled)).permute(0, 3, 1, 2).contiguous()


def _blur(x: torch.Tensor) -> torch.Tensor:
    c = x.shape[1]
    k = (_GAUSS[:, None] * _GAUSS[None, :]).to(x)[None, None].expand(c, 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k, groups=c)


def laplacian_pyramid(x: torch.Tensor, min_size: int = MIN_LEVEL_SIZE) -> list[torch.Tensor]:
    """Band-pass levels from the finest down to min_size; the last level is the low-pass rest."""
    levels = []
    while x.shape[-1] > min_size and x.shape[-2] > min_size:
        down = _blur(x)[:, :, ::2, ::2]
        up = F.interpolate(down, size=x.shape[-2:], mode="nearest")
        levels.append(x - _blur(up))
        x = down
    levels.append(x)
    return levels


def patch_descriptors(level: torch.Tensor, per_image: int, gen: torch.Generator) -> torch.Tensor:
    """(N, C, H, W) → (N·per_image, C·7·7) random 7×7 neighbourhoods, normalised per channel."""
    n, c, h, w = level.shape
    ys = torch.randint(0, h - PATCH + 1, (n, per_image), generator=gen)
    xs = torch.randint(0, w - PATCH + 1, (n, per_image), generator=gen)
    offs = torch.arange(PATCH)
    rows = (ys[:, :, None] + offs)[:, :, :, None]  # (n, p, 7, 1)
    cols = (xs[:, :, None] + offs)[:, :, None, :]  # (n, p, 1, 7)
    batch = torch.arange(n)[:, None, None, None]
    patches = level.permute(0, 2, 3, 1)[batch, rows, cols]  # (n, p, 7, 7, c)
    desc = patches.permute(0, 1, 4, 2, 3).reshape(n * per_image, c, PATCH * PATCH).double()
    desc = desc - desc.mean(dim=(0, 2), keepdim=True)
    desc = desc / desc.std(dim=(0, 2), keepdim=True).clamp_min(1e-8)
    return desc.reshape(n * per_image, -1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, directions: int, gen: torch.Generator) -> float:
    """Mean over random unit directions of the 1-D Wasserstein-1 distance of the projections."""
    if a.shape != b.shape:
        raise ValueError("both descriptor sets must have the same size")
    dirs = torch.randn(a.shape[1], directions, generator=gen, dtype=torch.float64)
    dirs = dirs / dirs.norm(dim=0, keepdim=True)
    # numpy sorts rows of a contiguous array several times faster than torch sorts columns.
    pa = np.sort((dirs.T @ a.T).numpy(), axis=1)
    pb = np.sort((dirs.T @ b.T).numpy(), axis=1)
    return float(np.abs(pa - pb).mean())


def swd_per_level(real_images, fake_images, seed: int = 0, patches_per_image: int = PATCHES_PER_IMAGE,
                  directions: int = DIRECTIONS) -> list[float]:
    """SWD ×10³ per pyramid level (finest first). Both sets need the same count and size ≥ 16 px."""
    real, fake = as_nchw(real_images), as_nchw(fake_images)
    if real.shape != fake.shape:
        raise ValueError(f"real and fake batches must match in shape: {tuple(real.shape)} vs {tuple(fake.shape)}")
    if min(real.shape[-2:]) < MIN_LEVEL_SIZE:
        raise ValueError(f"images must be at least {MIN_LEVEL_SIZE} px for SWD")
    gen = torch.Generator().manual_seed(seed)
    result = []
    for level_real, level_fake in zip(laplacian_pyramid(real), laplacian_pyramid(fake)):
        desc_real = patch_descriptors(level_real, patches_per_image, gen)
        desc_fake = patch_descriptors(level_fake, patches_per_image, gen)
        result.append(1e3 * sliced_wasserstein(desc_real, desc_fake, directions, gen))
    return result


def swd(real_images, fake_images, seed: int = 0, **kwargs) -> float:
    """The SWD of the two sets: mean over pyramid levels of SWD ×10³ (lower is better)."""
    levels = swd_per_level(real_images, fake_images, seed=seed, **kwargs)
    return float(np.mean(levels))


def colour_distance(real_images, fake_images) -> float:
    """Fréchet distance between Gaussians fitted to the two sets' RGB pixel colours, as a square
    root in 8-bit levels: about the RMS colour difference a viewer sees (0 = same statistics)."""
    stats = []
    for images in (real_images, fake_images):
        pixels = (as_nchw(images).double() + 1.0) * 127.5  # 0..255
        flat = pixels.permute(1, 0, 2, 3).reshape(pixels.shape[1], -1)
        stats.append((flat.mean(dim=1), torch.cov(flat)))
    (mu_a, cov_a), (mu_b, cov_b) = stats
    root_a = _sqrtm_psd(cov_a)
    cross = _sqrtm_psd(root_a @ cov_b @ root_a)
    fd = (mu_a - mu_b).pow(2).sum() + torch.trace(cov_a + cov_b - 2 * cross)
    return float(fd.clamp_min(0).sqrt())


def _sqrtm_psd(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def real_vs_real_floor(real_images, seed: int = 0, **kwargs) -> float:
    """SWD between the two disjoint halves of a real set: what a perfect generator would score.

    SWD estimates grow as sets shrink, so give this 2·n real crops to compare with swd(n real,
    n fake): both then compare n images with n images."""
    real = as_nchw(real_images)
    half = real.shape[0] // 2
    if half < 1:
        raise ValueError("need at least two real images for a floor")
    return swd(real[:half], real[half : 2 * half], seed=seed, **kwargs)


FACING_SLACK = 0.05  # how much steeper than its data a model's normal maps may be, as a share of pixels


def facing_out(normals) -> np.ndarray | float:
    """The share of normals whose +Z is their largest component, per image: a tangent-space map of a
    surface seen from above has nearly all, but steep blades of grass or deep rivets do not.

    normals: (H, W, 3) for one image (a float back) or (N, H, W, 3), in [-1, 1]; they need not be of
    unit length (scaling a vector keeps which component is largest)."""
    n = np.asarray(normals)
    shares = (n[..., 2] > np.abs(n[..., :2]).max(axis=-1)).mean(axis=(-2, -1))
    return float(shares) if n.ndim == 3 else shares


def steeper_than_data(shares, data_shares) -> str | None:
    """Why maps facing out on `shares` of their pixels are steeper than data facing out on
    `data_shares` (one share per image), or None when they are not. One steep map in many is
    what an artist may draw: no map may be steeper than the data's steepest, less FACING_SLACK;
    and as a whole they face out as the data does, less the slack (at most 0.95 asked, for data
    whose every map is flat)."""
    shares, data_shares = np.asarray(shares, dtype=float), np.asarray(data_shares, dtype=float)
    lowest, data_lowest = shares.min(), data_shares.min()
    if lowest <= data_lowest - FACING_SLACK:
        return f"a map faces out on {lowest:.3f} of its pixels, the data's steepest on {data_lowest:.3f}"
    least_mean = min(0.95, data_shares.mean() - FACING_SLACK)
    if shares.mean() <= least_mean:
        return f"the maps face out on {shares.mean():.3f} of their pixels on average, the data's on {data_shares.mean():.3f}"
    return None
