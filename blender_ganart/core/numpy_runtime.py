"""The generator in NumPy alone: the same pixels as the PyTorch network, in any stock Blender.

Built from the same layer plan (architecture.conv_plan) and weights as network.Generator, and run
with the same trunk/head split, halo and tiles (tiling.py), so a texture is the same whichever
runtime made it (to float32 rounding: ≤ 1e-4, tested).

How it is fast without PyTorch: activations are channels-first (C, H, W) float32, and every 3×3
circular conv is nine matrix products that NumPy's BLAS runs at full speed, reading shifted
slices of the padded input in place (see Conv). A band of rows at a time, small enough to stay in
the CPU cache, gets its bias, noise, LeakyReLU and PixelNorm while it is still there. ×2
upsampling followed by a conv runs as one conv with 4·C_out channels at the low resolution (the
phase kernels of network.py), whose four phases are interleaved into the ×2 output as the band is
written.
"""

from __future__ import annotations

import numpy as np

from .architecture import KERNEL, LEAK, NORM_EPS, UPSAMPLING, ConvSpec, GeneratorConfig, conv_plan, output_conv
from .architecture import head_halo, head_scale
from .tiling import DEFAULT_TILE, TRUNK_BYTES, HeadTile, Progress, ShouldCancel, choose_split, render_tiles

BAND_BYTES = 2 * 2**20  # im2col buffer per band: about what one core's cache holds


def phase_matrix(weight: np.ndarray, mode: str) -> np.ndarray:
    """(C_out, C_in, 3, 3) kernel of conv∘up2 → (9, 4·C_out, C_in): one matrix per low-res tap.

    Tap t = 3·i + j reads the low-resolution offset (i-1, j-1); output rows are (row phase a,
    column phase b, output channel). The same combination as network._phase_kernels.
    """
    mix = np.asarray(UPSAMPLING[mode], dtype=np.float64)  # (phase a, low-res offset i, tap j)
    phases = np.einsum("aij,bkl,ocjl->ikaboc", mix, mix, weight.astype(np.float64))
    c_out, c_in = weight.shape[:2]
    return np.ascontiguousarray(phases.reshape(KERNEL * KERNEL, 4 * c_out, c_in), dtype=np.float32)


class Conv:
    """One circular 3×3 conv (optionally fused with the ×2 upsampling before it) and its epilogue.

    Activations are channels-first (C, H, W). The input is padded circularly and flattened per
    channel with rows of W+2 pixels; then the shifted input of tap (i, j) is the contiguous slice
    starting i·(W+2)+j pixels on, and the conv is nine matrix products (C_out, C_in) @ (C_in, n)
    on those slices, summed, with no copies of the input (each result row carries two wrapped
    pixels that are dropped). Work goes a band of rows at a time, so it stays in the CPU cache.
    """

    def __init__(self, spec: ConvSpec, weights: dict[str, np.ndarray]):
        prefix = f"{spec.name}.conv" if spec.block else spec.name
        weight = np.asarray(weights[f"{prefix}.weight"], dtype=np.float32)  # (O, C, 3, 3)
        bias = np.asarray(weights[f"{prefix}.bias"], dtype=np.float32)
        self.spec = spec
        self.factor = 2 if spec.upsample else 1
        if spec.upsample:
            self.taps = phase_matrix(weight, spec.upsample)
            bias = np.tile(bias, 4)  # rows are (a, b, o)
        else:
            self.taps = np.ascontiguousarray(weight.transpose(2, 3, 0, 1).reshape(KERNEL * KERNEL, *weight.shape[:2]))
        self.bias = bias.reshape(-1, 1).copy()
        self.noise_weight = (np.asarray(weights[f"{spec.name}.noise_weight"], dtype=np.float32).reshape(-1, 1, 1)
                             if spec.noise else None)

    def __call__(self, x: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
        """(C_in, H, W) → (C_out, H·f, W·f); noise: (H·f, W·f) when the conv has noise."""
        c_in, height, width = x.shape
        f, c_out = self.factor, self.spec.out_ch
        line = width + 2
        flat = _wrap_pad_flat(x)
        out = np.empty((c_out, height * f, width * f), dtype=np.float32)
        rows_per_band = max(1, min(height, BAND_BYTES // (4 * line * max(c_in, self.taps.shape[1]))))
        acc = np.empty((self.taps.shape[1], rows_per_band * line), dtype=np.float32)
        tmp = np.empty_like(acc)
        for top in range(0, height, rows_per_band):
            rows = min(rows_per_band, height - top)
            n = rows * line
            y, t = acc[:, :n], tmp[:, :n]
            for tap in range(KERNEL * KERNEL):
                start = (top + tap // KERNEL) * line + tap % KERNEL
                np.matmul(self.taps[tap], flat[:, start : start + n], out=t if tap else y)
                if tap:
                    y += t
            y += self.bias
            dest = out[:, top * f : (top + rows) * f]
            if f == 2:  # rows (a, b, o), pixels (r, w) → output pixel (2r+a, 2w+b)
                dest.reshape(c_out, rows, 2, width, 2)[...] = (
                    y.reshape(2, 2, c_out, rows, line)[..., :width].transpose(2, 3, 0, 4, 1))
            else:
                dest[...] = y.reshape(c_out, rows, line)[..., :width]
            self._epilogue(dest, None if noise is None else noise[top * f : (top + rows) * f])
        return out

    def _epilogue(self, x: np.ndarray, noise: np.ndarray | None) -> None:
        """In place: [+ noise_weight·noise] → LeakyReLU → PixelNorm, or tanh for the output conv."""
        if not self.spec.block:
            np.tanh(x, out=x)
            return
        if self.noise_weight is not None:
            x += self.noise_weight * noise
        np.maximum(x, x * np.float32(LEAK), out=x)
        norm = np.square(x).sum(axis=0)
        norm *= np.float32(1.0 / x.shape[0])
        norm += np.float32(NORM_EPS)
        np.sqrt(norm, out=norm)
        x /= norm


def _wrap_pad_flat(x: np.ndarray) -> np.ndarray:
    """(C, H, W) → (C, (H+2)·(W+2) + 2): one pixel of circular padding, rows flattened, and two
    spare values so the last tap's slice stays inside."""
    channels, height, width = x.shape
    flat = np.empty((channels, (height + 2) * (width + 2) + 2), dtype=np.float32)
    out = flat[:, :-2].reshape(channels, height + 2, width + 2)
    out[:, 1:-1, 1:-1] = x
    out[:, 0, 1:-1], out[:, -1, 1:-1] = x[:, -1], x[:, 0]
    out[:, :, 0], out[:, :, -1] = out[:, :, -2], out[:, :, 1]
    flat[:, -2:] = 0.0
    return flat


class NumpyGenerator:
    """network.Generator's inference in NumPy: latent field → texture in [-1, 1], channels last."""

    def __init__(self, config: GeneratorConfig, weights: dict[str, np.ndarray]):
        self.config = config
        self.weights = weights
        self.levels = [[Conv(spec, weights) for spec in convs] for convs in conv_plan(config)]
        self.to_output = Conv(output_conv(config), weights)

    @classmethod
    def from_torch(cls, generator) -> "NumpyGenerator":
        """The NumPy twin of a network.Generator (its current weights)."""
        return cls(generator.config, {k: v.detach().cpu().float().numpy() for k, v in generator.state_dict().items()})

    def trunk(self, x: np.ndarray, split: int, noise) -> np.ndarray:
        """Levels [0, split) on the whole (latent_dim, h, w) field."""
        for index in range(split):
            x = self._run_level(index, x, noise, (0, 0))
        return x

    def head(self, x: np.ndarray, split: int, noise, at: tuple[int, int] = (0, 0)) -> np.ndarray:
        """Levels [split, end) and the output conv; `at` as in network.Generator.head."""
        top, left = at
        for index in range(split, len(self.levels)):
            if index > 0:
                top, left = 2 * top, 2 * left
            x = self._run_level(index, x, noise, (top, left))
        return self.to_output(x)

    def _run_level(self, index: int, x: np.ndarray, noise, at: tuple[int, int]) -> np.ndarray:
        first, *rest = self.levels[index]
        pixel_noise = None
        if first.noise_weight is not None:
            f = first.factor
            pixel_noise = np.asarray(noise(index, at[0], at[1], x.shape[1] * f, x.shape[2] * f))[0, 0]
        x = first(x, pixel_noise)
        for conv in rest:
            x = conv(x)
        return x


def render(
    generator: NumpyGenerator,
    field: np.ndarray,
    noise,
    tile: int = DEFAULT_TILE,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
    trunk_budget: int = TRUNK_BYTES,
) -> np.ndarray:
    """(1, latent_dim, h, w) periodic field and its pixel noise → (h·f, w·f, C) float32 in [-1, 1]."""
    config = generator.config
    if field.ndim != 4 or field.shape[0] != 1 or field.shape[1] != config.latent_dim:
        raise ValueError(f"expected a (1, {config.latent_dim}, h, w) field, got {tuple(field.shape)}")
    _, _, cells_h, cells_w = field.shape
    f = config.upsampling
    out = np.empty((cells_h * f, cells_w * f, config.out_channels), dtype=np.float32)
    split = choose_split(config, cells_h, cells_w, trunk_budget)
    features = generator.trunk(np.ascontiguousarray(field[0], dtype=np.float32), split, noise)  # (C, h·r, w·r)
    halo = head_halo(config, split)
    _, fh, fw = features.shape

    def run_head(t: HeadTile) -> np.ndarray:
        rows = np.arange(t.y0 - halo, t.y1 + halo) % fh
        cols = np.arange(t.x0 - halo, t.x1 + halo) % fw
        window = features[:, rows[:, None], cols[None, :]]
        return generator.head(window, split, noise, at=(t.y0 - halo, t.x0 - halo)).transpose(1, 2, 0)

    return render_tiles((fh, fw), halo, head_scale(config, split), tile, run_head, out, progress, should_cancel)
