"""The texture generator: a fully convolutional network over a spatial latent field.

Every spatial op wraps around the borders (circular padding, and ×2 upsampling that pads
circularly before it interpolates), so the network is exactly shift-equivariant on a periodic
field: G(tile(z)) == tile(G(z)). That single property gives seamless textures, arbitrary output
sizes and exact tiled (bounded-memory) generation.

Two things keep the latent cell grid out of the texture: bilinear upsampling (nearest
neighbour replicated each cell's features into a 32-px block, and the blocks showed as a lattice)
and per-level pixel noise, which gives every pixel of every level its own variation. The noise
comes from a source that is a pure function of position (latent.PixelNoise), so tiles still agree.

This module is pure PyTorch; it never imports bpy, so the trainer trains the very code that ships.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields


import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class GeneratorConfig:
    """Architecture of a generator; stored in every model file and enough to rebuild it."""

    out_channels: int = 3
    local_dim: int = 16  # i.i.d. noise channels per latent cell: local variation
    global_dim: int = 32  # one code per seed broadcast over the field: the texture's identity
    # Channels at the latent resolution, then after each ×2 upsampling. Wide where pixels are
    # few, thin where they are many: that is where the compute per output pixel goes.
    widths: tuple[int, ...] = (256, 192, 128, 64, 24, 12)
    # Extra 3×3 convs at the low-resolution levels (index = level), where they cost little.
    extra_convs: tuple[int, ...] = (1, 1, 1, 0, 0, 0)
    upsample: str = "bilinear"  # periodic ×2 upsampling: "bilinear" or "nearest" (files before 0.2)
    noise: bool = True  # per-level pixel noise after each level's upsampling conv

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        object.__setattr__(self, "extra_convs", tuple(int(n) for n in self.extra_convs))
        if len(self.widths) < 1 or any(w < 1 for w in self.widths):
            raise ValueError(f"widths must be positive channel counts, got {self.widths}")
        if len(self.extra_convs) != len(self.widths):
            raise ValueError("extra_convs needs one entry per level (same length as widths)")
        # Bounds, checked before anything is built: outside them a model file or a trainer option
        # would only allocate gigabytes, or make one latent cell larger than any texture.
        max_levels, max_width, max_extra_convs, max_latent_dim, max_out_channels = 12, 4096, 16, 4096, 64
        for name, top in (("out_channels", max_out_channels), ("local_dim", max_latent_dim),
                          ("global_dim", max_latent_dim)):
            value = getattr(self, name)
            if isinstance(value, bool) or not hasattr(type(value), "__index__") or not 0 <= value <= top:
                raise ValueError(f"{name} must be a whole number from 0 to {top}, got {value!r}")
        if len(self.widths) > max_levels:
            raise ValueError(f"at most {max_levels} levels ({2 ** (max_levels - 1)} px per latent cell), "
                             f"got {len(self.widths)}")
        for name, values, top in (("widths", self.widths, max_width), ("extra_convs", self.extra_convs, max_extra_convs)):
            if any(not 0 <= v <= top for v in values):
                raise ValueError(f"{name} must be 0 to {top} per level, got {list(values)[:max_levels]}")
        if min(self.out_channels, self.local_dim + self.global_dim) < 1:
            raise ValueError("out_channels and local_dim + global_dim must be at least 1")
        if not isinstance(self.upsample, str) or self.upsample not in UPSAMPLING:
            raise ValueError(f"upsample must be one of {', '.join(UPSAMPLING)}, got {self.upsample!r}")
        if not isinstance(self.noise, bool):
            raise ValueError(f"noise must be true or false, got {self.noise!r}")

    @property
    def latent_dim(self) -> int:
        return self.local_dim + self.global_dim

    @property
    def upsampling(self) -> int:
        """Output pixels per latent cell along each axis."""
        return 2 ** (len(self.widths) - 1)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> "GeneratorConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown generator config keys: {sorted(unknown)}")
        return cls(**{**LEGACY_OPTIONS, **data})


# What a stored config without these keys was trained with (files written before version 0.2).
LEGACY_OPTIONS = {"upsample": "nearest", "noise": False}

# For each upsampling mode and output phase a (row or column parity), the weights with which a
# 3×3 conv's taps j (columns) on the ×2 upsampled signal read the low-resolution offsets -1, 0, +1
# (rows). Nearest: up[2i] = up[2i+1] = x[i]. Bilinear (align_corners=False, periodic):
# up[2i] = ¼x[i-1] + ¾x[i], up[2i+1] = ¾x[i] + ¼x[i+1].
UPSAMPLING = {
    "nearest": ([[1, 0, 0], [0, 1, 1], [0, 0, 0]], [[0, 0, 0], [1, 1, 0], [0, 0, 1]]),
    "bilinear": (
        [[0.75, 0.25, 0], [0.25, 0.75, 0.75], [0, 0, 0.25]],
        [[0.25, 0, 0], [0.75, 0.75, 0.25], [0, 0.25, 0.75]],
    ),
}

# A source of pixel noise: (level, top, left, height, width) → (N or 1, 1, height, width) array in
# that level's pixel coordinates (see latent.PixelNoise). Or a torch.Generator to draw from, or
# None for torch's global generator (training).
NoiseSource = Callable[[int, int, int, int, int], "numpy.ndarray | torch.Tensor"]


def upsample2(x: torch.Tensor, mode: str) -> torch.Tensor:
    """×2 upsampling that wraps around the borders: pad one pixel circularly, interpolate, crop."""
    if mode == "nearest":
        return F.interpolate(x, scale_factor=2, mode="nearest")
    up = F.interpolate(F.pad(x, (1, 1, 1, 1), mode="circular"), scale_factor=2, mode="bilinear", align_corners=False)
    return up[:, :, 2:-2, 2:-2]


def draw_noise(noise, level: int, batch: int, top: int, left: int, height: int, width: int,
               like: torch.Tensor) -> torch.Tensor:
    """(batch or 1, 1, height, width) noise of mean 0 and variance 1 on `like`'s device and dtype."""
    if noise is None or isinstance(noise, torch.Generator):
        u = torch.rand(batch, 1, height, width, generator=noise)
        return ((u * 2 - 1) * math.sqrt(3.0)).to(like)
    return torch.as_tensor(noise(level, top, left, height, width)).to(like)


def circular_conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """A 'same' convolution that wraps around the borders instead of zero-padding them."""
    pad = conv.kernel_size[0] // 2
    if pad:
        x = F.pad(x, (pad, pad, pad, pad), mode="circular")
    return conv(x)


class PixelNorm(nn.Module):
    """Normalises each pixel's feature vector; purely local, so tiles and wrap-around agree."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class ConvBlock(nn.Module):
    """[periodic ×2 upsampling] → circular 3×3 conv → [+ pixel noise] → LeakyReLU → PixelNorm."""

    def __init__(self, in_ch: int, out_ch: int, upsample: str | None, noise: bool = False):
        super().__init__()
        self.upsample = upsample  # None, or a mode of UPSAMPLING
        self.conv = nn.Conv2d(in_ch, out_ch, 3, padding=0)
        # Per-channel strength of the one-channel noise map (StyleGAN's learned noise scaling);
        # zero at first, so a new generator starts as if it had none.
        self.noise_weight = nn.Parameter(torch.zeros(out_ch)) if noise else None
        self.norm = PixelNorm()
        self._phase_weight: torch.Tensor | None = None  # cache for the fused inference path
        self._phase_key: tuple | None = None

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        return self.activate(self.convolve(x), noise)

    def convolve(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample is None:
            return circular_conv(x, self.conv)
        if not self.training and not torch.is_grad_enabled():
            return self._fused_upsample_conv(x)
        return circular_conv(upsample2(x, self.upsample), self.conv)

    def activate(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """noise: (N or 1, 1, H, W) at x's resolution; required exactly when the block has noise."""
        if self.noise_weight is not None:
            x = x + self.noise_weight.view(1, -1, 1, 1) * noise
        return self.norm(F.leaky_relu(x, 0.2))

    def _fused_upsample_conv(self, x: torch.Tensor) -> torch.Tensor:
        """×2 upsampling then 3×3 conv, computed at the low resolution.

        Each of the four output phases (row parity a, column parity b) of conv3x3(up2(x)) is a
        fixed linear combination of a 3×3 window of x, so one low-resolution 3×3 conv with 4·C_out
        channels followed by pixel_shuffle gives the same result, and never materialises the 4×
        larger upsampled input. Exact in real arithmetic.
        """
        source = self.conv.weight
        # Keyed on the weight's version counter: an EMA copy kept in eval mode is updated in place
        # every training step, and a kernel cached from older weights would be silently stale.
        # Inference tensors (weights made inside inference mode) keep no version counter, and
        # can only change inside inference mode, which nothing here does.
        version = -1 if source.is_inference() else source._version
        key = (version, source.data_ptr(), x.device, x.dtype)
        if self._phase_weight is None or self._phase_key != key:
            self._phase_weight = _phase_kernels(source.detach(), self.upsample).to(x.device, x.dtype)
            self._phase_key = key
        weight = self._phase_weight
        bias = self.conv.bias.detach().to(x.dtype).repeat_interleave(4)
        y = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="circular"), weight, bias)
        return F.pixel_shuffle(y, 2)



def _phase_kernels(w: torch.Tensor, mode: str) -> torch.Tensor:
    """(C_out, C_in, 3, 3) kernel of conv∘up2 → (4·C_out, C_in, 3, 3) low-resolution kernels.

    Along one axis, UPSAMPLING[mode][a] says how much of each tap phase a reads at each
    low-resolution offset; the 2-D phase kernel is the outer combination of both axes.
    """
    c_out, c_in = w.shape[:2]
    mix = w.new_tensor(UPSAMPLING[mode])  # (phase a, low-res offset i, tap j)
    phases = torch.einsum("aij,bkl,ocjl->ocabik", mix, mix, w)  # (o, c, a, b, 3, 3)
    return phases.permute(0, 2, 3, 1, 4, 5).reshape(c_out * 4, c_in, 3, 3)


class Generator(nn.Module):
    """Latent field (N, latent_dim, h, w) → texture (N, out_channels, h·f, w·f) in [-1, 1].

    `noise` (a NoiseSource, a torch.Generator or None) feeds the per-level pixel noise; a source
    makes the output a pure function of the field and the source, which is how textures are made.
    """

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = config
        widths = config.widths
        levels = []
        for level, width in enumerate(widths):
            in_ch = config.latent_dim if level == 0 else widths[level - 1]
            upsample = config.upsample if level > 0 else None
            blocks = [ConvBlock(in_ch, width, upsample, noise=config.noise and level > 0)]
            blocks += [ConvBlock(width, width, None) for _ in range(config.extra_convs[level])]
            levels.append(nn.Sequential(*blocks))
        self.levels = nn.ModuleList(levels)
        self.to_output = nn.Conv2d(widths[-1], config.out_channels, 3, padding=0)

    def forward(self, z: torch.Tensor, noise: NoiseSource | torch.Generator | None = None) -> torch.Tensor:
        return self.head(self.trunk(z, len(self.levels), noise), len(self.levels), noise)

    def trunk(self, z: torch.Tensor, split: int, noise: NoiseSource | torch.Generator | None = None) -> torch.Tensor:
        """Runs levels [0, split) on the whole field: the cheap low-resolution part."""
        x = z
        for index in range(split):
            x = self._run_level(index, x, noise, (0, 0))
        return x

    def head(self, x: torch.Tensor, split: int, noise: NoiseSource | torch.Generator | None = None,
             at: tuple[int, int] = (0, 0)) -> torch.Tensor:
        """Runs levels [split, end) and the output conv: (N, C, h, w) → (N, out, h·s, w·s).

        `at` is where x's first pixel lies in the field, in pixels of level split-1 (a tile's
        window may start before the field: the noise source wraps it around).
        """
        top, left = at
        for index in range(split, len(self.levels)):
            if index > 0:
                top, left = 2 * top, 2 * left
            x = self._run_level(index, x, noise, (top, left))
        return torch.tanh(circular_conv(x, self.to_output))

    def _run_level(self, index: int, x: torch.Tensor, noise, at: tuple[int, int]) -> torch.Tensor:
        """One level; `at` is the position of its output's first pixel in that level's pixels."""
        first, *rest = self.levels[index]
        x = first.convolve(x)
        pixel_noise = None
        if first.noise_weight is not None:
            n, _, h, w = x.shape
            pixel_noise = draw_noise(noise, index, n, at[0], at[1], h, w, x)
        x = first.activate(x, pixel_noise)
        for block in rest:
            x = block(x)
        return x

    def head_halo(self, split: int) -> int:
        """Pixels at level `split-1`'s resolution that the head's output depends on beyond a tile.

        Each 3×3 conv at scale s (relative to the split level) reaches 1/s pixels further, and a
        bilinear upsampling from scale s reads one pixel further at that scale; a tile fed with
        this many extra pixels on each side has an exact interior.
        """
        reach = 0.0
        scale = 1
        for level in range(split, len(self.levels)):
            if level > 0:
                reach += (1 if self.config.upsample == "bilinear" else 0) / scale
                scale *= 2
            reach += (1 + self.config.extra_convs[level]) / scale
        reach += 1 / scale  # the output conv
        return math.ceil(reach + 1e-9) + 1  # +1: upsampling aligns to whole pixels

    def head_scale(self, split: int) -> int:
        """Output pixels per pixel of level `split-1`."""
        return 2 ** sum(1 for level in range(split, len(self.levels)) if level > 0)

    def flops_per_output_pixel(self) -> float:
        """Multiply-adds ×2 per output pixel of the inference path (fused upsampling counted)."""
        f = self.config.upsampling
        total = 0.0
        for level, blocks in enumerate(self.levels):
            pixels_per_out = (2**level / f) ** 2  # this level's pixels per output pixel
            for block in blocks:
                conv = block.conv
                macs = conv.in_channels * conv.out_channels * 9
                if block.upsample:  # fused: a 3×3 conv with 4·C_out at the lower resolution
                    macs *= 4
                    pixels = pixels_per_out / 4
                else:
                    pixels = pixels_per_out
                total += 2 * macs * pixels
        out = self.to_output
        total += 2 * out.in_channels * out.out_channels * 9
        return total
