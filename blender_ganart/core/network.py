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
The layers themselves (which convs, their shapes, upsampling and noise, the tiles' halo) come from
architecture.py, which the NumPy runtime builds from too.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from . import architecture
from .architecture import LEAK, LEGACY_OPTIONS, NORM_EPS, UPSAMPLING, GeneratorConfig  # noqa: F401 (re-exported)
from .periodic import BAND_PASS, BAND_STOP


# A source of pixel noise: (level, top, left, height, width) → (N or 1, 1, height, width) array in
# that level's pixel coordinates (see latent.PixelNoise), which for a model with plane waves also
# has their `planes` at the same coordinates. Or a torch.Generator to draw from, or None for
# torch's global generator (training).
NoiseSource = Callable[[int, int, int, int, int], "numpy.ndarray | torch.Tensor"]


class TrainingWaves:
    """periodic.Waves in torch, differentiable in the wave vectors: what a training batch's
    generator sees. The wave vectors are rounded to whole cycles over the batch's field as the
    add-on rounds them over its own (periodic.quantize), but straight through: the forward pass
    uses the rounded values and the gradient reaches the unrounded ones, so the learned map keeps
    moving smoothly while every field stays exactly periodic."""

    def __init__(self, k: torch.Tensor, phases: torch.Tensor, cells: tuple[int, int]):
        period = k.new_tensor(cells)
        self.k = k + (torch.round(k * period) / period - k).detach()  # (N, P, 2)
        self.phases, self.cells = phases, cells  # (N, P)

    def planes(self, level: int, top: int, left: int, height: int, width: int) -> torch.Tensor:
        """(N, P, height, width), periodic.Waves.planes' formula."""
        scale = 2**level
        device = self.k.device
        rows = torch.arange(top, top + height, device=device) % (self.cells[0] * scale)
        cols = torch.arange(left, left + width, device=device) % (self.cells[1] * scale)
        y = (rows.to(self.k.dtype) + 0.5) / scale - 0.5
        x = (cols.to(self.k.dtype) + 0.5) / scale - 0.5
        turn = 2 * math.pi
        row_part = turn * self.k[:, :, 0, None] * y
        col_part = turn * self.k[:, :, 1, None] * x + self.phases[:, :, None]
        # periodic.band_gain, differentiable in k: a wave learns to slow down where it is faded out.
        per_pixel = self.k.abs().amax(dim=-1) / scale
        t = ((per_pixel - BAND_PASS) / (BAND_STOP - BAND_PASS)).clamp(0.0, 1.0)
        gain = 0.5 + 0.5 * torch.cos(math.pi * t)
        return gain[:, :, None, None] * torch.sin(row_part[..., :, None] + col_part[..., None, :])


class TrainingNoise:
    """A training batch's random inputs: pixel noise from a torch.Generator (or torch's global
    one) and the batch's TrainingWaves."""

    def __init__(self, generator: torch.Generator | None, waves: TrainingWaves):
        self.generator, self.waves = generator, waves

    def planes(self, level: int, top: int, left: int, height: int, width: int) -> torch.Tensor:
        return self.waves.planes(level, top, left, height, width)


def upsample2(x: torch.Tensor, mode: str) -> torch.Tensor:
    """×2 upsampling that wraps around the borders: pad one pixel circularly, interpolate, crop."""
    if mode == "nearest":
        return F.interpolate(x, scale_factor=2, mode="nearest")
    up = F.interpolate(F.pad(x, (1, 1, 1, 1), mode="circular"), scale_factor=2, mode="bilinear", align_corners=False)
    return up[:, :, 2:-2, 2:-2]


def draw_noise(noise, level: int, batch: int, top: int, left: int, height: int, width: int,
               like: torch.Tensor) -> torch.Tensor:
    """(batch or 1, 1, height, width) noise of mean 0 and variance 1 on `like`'s device and dtype."""
    if isinstance(noise, TrainingNoise):
        noise = noise.generator
    if noise is None or isinstance(noise, torch.Generator):
        u = torch.rand(batch, 1, height, width, generator=noise)
        return ((u * 2 - 1) * math.sqrt(3.0)).to(like)
    return torch.as_tensor(noise(level, top, left, height, width)).to(like)


def draw_planes(noise, level: int, top: int, left: int, height: int, width: int,
                like: torch.Tensor) -> torch.Tensor:
    """(N, P, height, width) plane waves on `like`'s device and dtype (see Generator.with_waves)."""
    return torch.as_tensor(noise.planes(level, top, left, height, width)).to(like)


def output_tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x) as 2·sigmoid(2x) − 1: the same function, but the same pixels in every process.

    PyTorch's CPU tanh hands each thread's share of the tensor to MKL's vector maths (VML), and
    in a process's first generation under CPU load one thread's share came out a few 1e-5 off
    (the first half of the output tensor; later generations in that process were right): the same
    seed gave two textures in two processes in 5 runs of 200 (scripts/determinism_under_load.py
    on the code before this function; the cause is inside MKL, found by where the pixels differed
    and by PyTorch's source routing float tanh to VML). Sigmoid is PyTorch's
    own vectorised code. Within 2e-7 of tanh, and training sees the same function and gradient.
    Outside autograd the last two steps run in place: two new tensors where tanh made one, not four.
    """
    y = torch.sigmoid(x * 2.0)
    if y.requires_grad:
        return y * 2.0 - 1.0
    return y.mul_(2.0).sub_(1.0)


def circular_conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """A 'same' convolution that wraps around the borders instead of zero-padding them."""
    pad = conv.kernel_size[0] // 2
    if pad:
        x = F.pad(x, (pad, pad, pad, pad), mode="circular")
    return conv(x)


def upsample_conv(x: torch.Tensor, conv: nn.Conv2d, mode: str, weight: torch.Tensor | None = None) -> torch.Tensor:
    """circular_conv(upsample2(x, mode), conv), computed at the low resolution.

    Each of the four output phases (row parity a, column parity b) of conv3x3(up2(x)) is a fixed
    linear combination of a 3×3 window of x, so one low-resolution 3×3 conv with 4·C_out
    channels followed by pixel_shuffle gives the same result (exact in real arithmetic) and
    never materialises the 4× larger upsampled input: a training step of the generator takes
    0.69× the time on the CPU (benchmarks/bench_upsample_conv.py).
    Differentiable in x and conv's parameters; `weight`, the phase kernels, when already made.
    """
    if weight is None:
        weight = _phase_kernels(conv.weight, mode)
    bias = conv.bias.to(weight.dtype).repeat_interleave(4)
    return F.pixel_shuffle(F.conv2d(F.pad(x, (1, 1, 1, 1), mode="circular"), weight, bias), 2)


class PixelNorm(nn.Module):
    """Normalises each pixel's feature vector; purely local, so tiles and wrap-around agree."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + NORM_EPS)


class ConvBlock(nn.Module):
    """[periodic ×2 upsampling] → circular 3×3 conv → [+ pixel noise] → LeakyReLU → PixelNorm."""

    def __init__(self, in_ch: int, out_ch: int, upsample: str | None, noise: bool = False, periodic: int = 0):
        super().__init__()
        self.upsample = upsample  # None, or a mode of UPSAMPLING
        self.conv = nn.Conv2d(in_ch, out_ch, 3, padding=0)
        # Per-channel strength of the one-channel noise map (StyleGAN's learned noise scaling);
        # zero at first, so a new generator starts as if it had none.
        self.noise_weight = nn.Parameter(torch.zeros(out_ch)) if noise else None
        # Each plane wave's weight per channel (periodic.py); zero at first, like the noise's.
        self.periodic_weight = nn.Parameter(torch.zeros(out_ch, periodic)) if periodic else None
        self.norm = PixelNorm()
        self._phase_weight: torch.Tensor | None = None  # cache for the fused inference path
        self._phase_key: tuple | None = None

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        return self.activate(self.convolve(x), noise)

    def convolve(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample is None:
            return circular_conv(x, self.conv)
        if not self.training and not torch.is_grad_enabled():
            return self._cached_upsample_conv(x)
        return upsample_conv(x, self.conv, self.upsample)

    def activate(self, x: torch.Tensor, noise: torch.Tensor | None = None,
                 planes: torch.Tensor | None = None) -> torch.Tensor:
        """noise: (N or 1, 1, H, W) at x's resolution; required exactly when the block has noise.
        planes: (N, P, H, W) plane waves, exactly when the block has periodic weights."""
        if self.noise_weight is not None:
            x = x + self.noise_weight.view(1, -1, 1, 1) * noise
        if self.periodic_weight is not None:
            x = x + torch.einsum("cp,nphw->nchw", self.periodic_weight, planes)
        return self.norm(F.leaky_relu(x, LEAK))

    def _cached_upsample_conv(self, x: torch.Tensor) -> torch.Tensor:
        """upsample_conv with the phase kernels kept between calls (inference: the weights stay)."""
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
        return upsample_conv(x, self.conv, self.upsample, self._phase_weight)


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
        self.levels = nn.ModuleList(
            nn.Sequential(*(ConvBlock(spec.in_ch, spec.out_ch, spec.upsample, spec.noise, spec.periodic)
                            for spec in convs))
            for convs in architecture.conv_plan(config)
        )
        # The global code → each plane wave's vector (rows, columns; cycles per cell). Starts at
        # random directions and periods of half a cell to four (16 to 128 px: brick courses in
        # the bricks data are 16 to 24 px high), a little different for every code.
        self.waves = nn.Linear(config.global_dim, 2 * config.periodic_dim) if config.periodic_dim else None
        if self.waves is not None:
            with torch.no_grad():
                self.waves.weight.normal_(0.0, 0.05)
                angle = torch.rand(config.periodic_dim) * math.pi
                cycles = 0.25 + 1.75 * torch.rand(config.periodic_dim)
                self.waves.bias.copy_(torch.stack([cycles * torch.sin(angle), cycles * torch.cos(angle)], 1).flatten())
        out = architecture.output_conv(config)
        self.to_output = nn.Conv2d(out.in_ch, out.out_ch, architecture.KERNEL, padding=0)

    def forward(self, z: torch.Tensor, noise: NoiseSource | torch.Generator | None = None) -> torch.Tensor:
        noise = self.with_waves(noise, z)
        return self.head(self.trunk(z, len(self.levels), noise), len(self.levels), noise)

    def with_waves(self, noise, z: torch.Tensor):
        """The noise source to run field z with: `noise` itself for a model without plane waves
        or a source that has them; a NoiseSource given the waves of z's global codes (computed
        in float64 by latent.PixelNoise.with_waves, the same numbers the NumPy runtime uses); for
        training (a torch.Generator or None), TrainingNoise with differentiable waves and random
        phases."""
        if self.waves is None or getattr(noise, "waves", None) is not None:
            return noise
        c = self.config
        codes = z[:, c.local_dim : c.latent_dim, 0, 0]
        if noise is None or isinstance(noise, torch.Generator):
            k = self.waves(codes).view(len(z), c.periodic_dim, 2)
            phases = (torch.rand(len(z), c.periodic_dim, generator=noise) * (2 * math.pi)).to(k)
            return TrainingNoise(noise, TrainingWaves(k, phases, tuple(z.shape[-2:])))
        weight, bias = (p.detach().cpu().numpy() for p in (self.waves.weight, self.waves.bias))
        return noise.with_waves(weight, bias, codes.detach().cpu().numpy())

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
        return output_tanh(circular_conv(x, self.to_output))

    def _run_level(self, index: int, x: torch.Tensor, noise, at: tuple[int, int]) -> torch.Tensor:
        """One level; `at` is the position of its output's first pixel in that level's pixels."""
        first, *rest = self.levels[index]
        x = first.convolve(x)
        pixel_noise = None
        if first.noise_weight is not None:
            n, _, h, w = x.shape
            pixel_noise = draw_noise(noise, index, n, at[0], at[1], h, w, x)
        planes = None
        if first.periodic_weight is not None:
            planes = draw_planes(noise, index, at[0], at[1], x.shape[2], x.shape[3], x)
        x = first.activate(x, pixel_noise, planes)
        for block in rest:
            x = block(x)
        return x

    def head_halo(self, split: int) -> int:
        """Pixels at level `split-1`'s resolution the head reads beyond a tile (architecture.head_halo)."""
        return architecture.head_halo(self.config, split)

    def head_scale(self, split: int) -> int:
        """Output pixels per pixel of level `split-1`."""
        return architecture.head_scale(self.config, split)

    def flops_per_output_pixel(self) -> float:
        """Multiply-adds ×2 per output pixel of the inference path (fused upsampling counted)."""
        return architecture.flops_per_output_pixel(self.config)
