"""The generator in NumPy alone: the same pixels as the PyTorch network, in any stock Blender.

Built from the same layer plan (architecture.conv_plan) and weights as network.Generator, and run
with the same trunk/head split, halo and tiles (tiling.py), so a texture is the same whichever
runtime made it (to float32 rounding: ≤ 1e-4, tested).

How it is fast without PyTorch: activations are channels-first (C, H, W) float32, and every 3×3
circular conv is one matrix product per band of rows that NumPy's BLAS runs near its peak (see
Conv for the two layouts), with the bias and the pixel noise as extra rows of the product. A
band, small enough to stay in the CPU cache, gets its LeakyReLU and PixelNorm while it is still
there. ×2 upsampling followed by a conv runs as one
conv with 4·C_out channels at the low resolution (the phase kernels of network.py), whose four
phases are interleaved into the ×2 output as the band is written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .architecture import KERNEL, LEAK, NORM_EPS, UPSAMPLING, ConvSpec, GeneratorConfig, conv_plan, output_conv
from .architecture import head_halo, head_scale
from .tiling import DEFAULT_TILE, TRUNK_BYTES, HeadTile, Progress, ShouldCancel, choose_split, render_tiles

BAND_BYTES = 4 * 2**20  # one band's scratch products: small enough to stay in the CPU's L3 cache


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
    channel with rows of W+2 pixels, so the input shifted by tap (i, j) is the contiguous slice
    starting i·(W+2)+j pixels on (each result row carries two wrapped pixels that are dropped).
    The conv is then one matrix product per band of rows, in whichever of two layouts needs the
    smaller scratch per pixel (docs/speed_history.md has what each replaced, and the gain):
    - gather (im2col), when the conv has at least as many output rows M as input channels C: the
      nine shifted slices are stacked into a (9·C, n) block and multiplied by the (M, 9·C) kernel
      once, a product long enough in K for BLAS to run near its peak. A row of ones and the noise
      planes below the block, and the bias and noise weights beside the kernel, add the bias and
      the noise in that same product: two fewer passes over the band than adding them after;
    - scatter, when M < C (the 3-channel output conv): the (9·M, C) kernel multiplies the input
      once and the nine (M, n) results are added at their shifts, reading the wide input once
      instead of nine times.
    Bands are sized so the scratch stays in cache while LeakyReLU and PixelNorm are applied to the
    products, before the ×2 phases are interleaved into the output.
    """

    def __init__(self, spec: ConvSpec, weights: dict[str, np.ndarray]):
        prefix = f"{spec.name}.conv" if spec.block else spec.name
        weight = np.asarray(weights[f"{prefix}.weight"], dtype=np.float32)  # (O, C, 3, 3)
        bias = np.asarray(weights[f"{prefix}.bias"], dtype=np.float32)
        self.spec = spec
        self.factor = 2 if spec.upsample else 1
        if spec.upsample:
            taps = phase_matrix(weight, spec.upsample)
            bias = np.tile(bias, 4)  # rows are (a, b, o)
        else:
            taps = weight.transpose(2, 3, 0, 1).reshape(KERNEL * KERNEL, *weight.shape[:2])
        _, self.rows_out, self.c_in = taps.shape
        self.gather = self.rows_out >= self.c_in
        self.bias = bias.reshape(-1, 1).copy()
        self.noise_weight = (np.asarray(weights[f"{spec.name}.noise_weight"], dtype=np.float32).reshape(-1, 1)
                             if spec.noise else None)
        # One noise plane per output phase: noise pixel (f·r + a, f·w + b) feeds rows (a, b, ·).
        self.noise_planes = self.factor ** 2 if spec.noise else 0
        # Likewise each plane wave (periodic.py), one plane per phase and wave: columns (a, b, p).
        self.waves = spec.periodic
        self.wave_weight = (np.asarray(weights[f"{spec.name}.periodic_weight"], dtype=np.float32)
                            if spec.periodic else None)  # (out, P)
        self.wave_planes = self.factor ** 2 * self.waves
        if self.gather:  # (M, 9·C + 1 + planes), columns (tap, c), then the bias, noise and waves
            extra = np.zeros((self.rows_out, 1 + self.noise_planes + self.wave_planes), dtype=np.float32)
            extra[:, 0] = bias
            for plane in range(self.noise_planes):
                rows = slice(plane * spec.out_ch, (plane + 1) * spec.out_ch)
                extra[rows, 1 + plane] = self.noise_weight[:, 0]
            first_wave = 1 + self.noise_planes
            for phase in range(self.factor ** 2):
                rows = slice(phase * spec.out_ch, (phase + 1) * spec.out_ch)
                columns = slice(first_wave + phase * self.waves, first_wave + (phase + 1) * self.waves)
                extra[rows, columns] = self.wave_weight
            taps = taps.transpose(1, 0, 2).reshape(self.rows_out, -1)
            self.matrix = np.ascontiguousarray(np.concatenate([taps, extra], axis=1))
        else:  # (9·M, C), rows (tap, m)
            self.matrix = np.ascontiguousarray(taps.reshape(-1, self.c_in))

    def __call__(self, x: "np.ndarray | Padded", noise: np.ndarray | None = None,
                 padded_out: bool = False, waves: np.ndarray | None = None) -> "np.ndarray | Padded":
        """(C_in, H, W) → (C_out, H·f, W·f); noise: (H·f, W·f) when the conv has noise; waves:
        (P, H·f, W·f) plane waves when it has them.

        x is padded here, circularly; a Padded input (a head tile's window, or what a conv before
        wrote with padded_out) comes padded already. padded_out: the result is written straight
        into the next conv's padded input, its wrap-around border filled after: that saves the
        next conv a copy of the whole activation.
        """
        padded = x if isinstance(x, Padded) else Padded.around(x)
        flat, height, width = padded.flat, padded.height, padded.width
        f, c_out = self.factor, self.spec.out_ch
        line = width + 2
        result = Padded.empty(c_out, height * f, width * f) if padded_out else None
        out = result.interior if padded_out else np.empty((c_out, height * f, width * f), dtype=np.float32)
        taps_rows = KERNEL * KERNEL * (self.c_in if self.gather else self.rows_out)
        band = max(1, min(height, BAND_BYTES // (4 * line * taps_rows)))
        if self.gather:  # the im2col block, then a row of ones (bias) and the noise planes
            scratch = np.zeros((taps_rows + 1 + self.noise_planes + self.wave_planes, band * line), dtype=np.float32)
            scratch[taps_rows] = 1.0
        else:  # the scatter reads two rows and two pixels on
            scratch = np.empty((taps_rows, band * line + 2 * line + 2), dtype=np.float32)
        products = np.empty((self.rows_out, band * line), dtype=np.float32)
        spare = np.empty_like(products) if self.spec.block else None
        for top in range(0, height, band):
            rows = min(band, height - top)
            band_noise = None if noise is None else noise[top * f : (top + rows) * f]
            band_waves = None if waves is None else waves[:, top * f : (top + rows) * f]
            y = self._products(flat, top, rows, line, scratch, products, band_noise, band_waves)
            if self.spec.block:
                scale = self._activate(y, spare[:, : y.shape[1]])
            else:
                scale = None
            self._write(y, out[:, top * f : (top + rows) * f], rows, width, line, scale)
        if padded_out:
            result.wrap_border()
            return result
        return out

    def _products(self, flat, top, rows, line, scratch, products, noise, waves=None) -> np.ndarray:
        """(rows_out, rows·line): the band's conv output with its bias, noise and waves, before
        the activation. Gather takes them in its one product, as extra rows of K."""
        n = rows * line
        y = products[:, :n]
        if self.gather:
            cols = scratch[:, :n]
            for tap in range(KERNEL * KERNEL):
                start = (top + tap // KERNEL) * line + tap % KERNEL
                cols[tap * self.c_in : (tap + 1) * self.c_in] = flat[:, start : start + n]
            first_extra = KERNEL * KERNEL * self.c_in + 1
            if noise is not None:
                self._noise_planes(noise, cols[first_extra : first_extra + self.noise_planes], rows, line)
            if waves is not None:
                self._wave_planes(waves, cols[first_extra + self.noise_planes :], rows, line)
            np.matmul(self.matrix, cols, out=y)
            return y
        part = scratch[:, : n + 2 * line + 2]
        np.matmul(self.matrix, flat[:, top * line : top * line + part.shape[1]], out=part)
        m = self.rows_out
        np.add(part[:m, :n], self.bias, out=y)
        for tap in range(1, KERNEL * KERNEL):
            start = tap // KERNEL * line + tap % KERNEL
            y += part[tap * m : (tap + 1) * m, start : start + n]
        if noise is not None:  # a block narrowing to fewer phase rows than its input (no bundled model)
            planes = np.zeros((self.noise_planes, n), dtype=np.float32)
            self._noise_planes(noise, planes, rows, line)
            y.reshape(self.noise_planes, self.spec.out_ch, n)[...] += self.noise_weight * planes[:, None]
        if waves is not None:  # likewise
            planes = np.zeros((self.wave_planes, n), dtype=np.float32)
            self._wave_planes(waves, planes, rows, line)
            phases = planes.reshape(self.factor ** 2, self.waves, n)
            y.reshape(self.factor ** 2, self.spec.out_ch, n)[...] += np.einsum("op,qpn->qon", self.wave_weight, phases)
        return y

    def _wave_planes(self, waves: np.ndarray, planes: np.ndarray, rows: int, line: int) -> None:
        """The band's (P, rows·f, width·f) plane waves as f²·P planes, (a, b, p), laid out as
        _noise_planes lays out the noise."""
        f = self.factor
        width = waves.shape[2] // f
        grid = planes.reshape(f, f, self.waves, rows, line)
        for a in range(f):
            for b in range(f):
                grid[a, b, :, :, :width] = waves[:, a::f, b::f]

    def _noise_planes(self, noise: np.ndarray, planes: np.ndarray, rows: int, line: int) -> None:
        """The band's (rows·f, width·f) noise as f² planes laid out like the products' pixels
        (the two wrapped pixels of each row are left as they are: their products are dropped)."""
        f = self.factor
        width = noise.shape[1] // f
        grid = planes.reshape(f, f, rows, line)
        for a in range(f):
            for b in range(f):
                grid[a, b, :, :width] = noise[a::f, b::f]

    def _write(self, y, dest, rows, width, line, scale) -> None:
        """The band's finished pixels into the output: times PixelNorm's `scale` (a block) as the
        phases are interleaved (×2) or the wrapped pixels dropped, or through tanh (the output)."""
        c_out = self.spec.out_ch
        if self.factor == 2:  # rows (a, b, o), pixels (r, w) → output pixel (2r+a, 2w+b)
            phases = y.reshape(2, 2, c_out, rows, line)
            scales = scale.reshape(2, 2, 1, rows, line)
            grid = dest.view()
            grid.shape = (c_out, rows, 2, width, 2)  # raises rather than copy: dest may be strided
            for a in range(2):
                for b in range(2):
                    np.multiply(phases[a, b, :, :, :width], scales[a, b, :, :, :width], out=grid[:, :, a, :, b])
        elif self.spec.block:
            np.multiply(y.reshape(c_out, rows, line)[..., :width], scale.reshape(1, rows, line)[..., :width], out=dest)
        else:
            _tanh(y.reshape(c_out, rows, line)[..., :width], dest)

    def _activate(self, y: np.ndarray, spare: np.ndarray) -> np.ndarray:
        """LeakyReLU in place on the band's products while they are in cache, and PixelNorm's
        per-pixel scale over each phase's channels, (f², n): _write applies it as it copies the
        band out, saving a pass. `spare` is scratch of y's shape."""
        np.multiply(y, np.float32(LEAK), out=spare)
        np.maximum(y, spare, out=y)
        phases = y.reshape(self.factor ** 2, self.spec.out_ch, -1)
        norm = np.einsum("pcn,pcn->pn", phases, phases)
        norm *= np.float32(1.0 / self.spec.out_ch)
        norm += np.float32(NORM_EPS)
        np.sqrt(norm, out=norm)
        np.reciprocal(norm, out=norm)
        return norm


def _tanh(x: np.ndarray, out: np.ndarray) -> None:
    """out = tanh(x) as 2 / (1 + exp(-2x)) - 1: NumPy's float32 exp is vectorised where its tanh
    is not, which makes this several times faster over a texture; it stays within 2e-7 of tanh
    (far inside the runtimes' 1e-4), and exp's overflow to inf gives exactly -1."""
    np.multiply(x, np.float32(-2.0), out=out)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += np.float32(1.0)
    np.divide(np.float32(2.0), out, out=out)
    out -= np.float32(1.0)


@dataclass(frozen=True)
class Padded:
    """A conv's input with one pixel of padding, laid out as Conv reads it: (C, (H+2)·(W+2) + 2),
    rows flattened, and two spare values so the last tap's slice stays inside."""

    flat: np.ndarray
    height: int
    width: int

    @classmethod
    def empty(cls, channels: int, height: int, width: int) -> "Padded":
        """Room for a (channels, height, width) activation and its padding: write `interior`,
        then call wrap_border."""
        flat = np.empty((channels, (height + 2) * (width + 2) + 2), dtype=np.float32)
        flat[:, -2:] = 0.0
        return cls(flat, height, width)

    @property
    def grid(self) -> np.ndarray:
        """(C, H+2, W+2): the activation with its one-pixel border, a view of flat."""
        grid = self.flat[:, :-2].view()
        grid.shape = (-1, self.height + 2, self.width + 2)  # raises rather than copy
        return grid

    @property
    def interior(self) -> np.ndarray:
        """(C, H, W): the activation itself, a strided view of flat."""
        return self.grid[:, 1:-1, 1:-1]

    def wrap_border(self) -> None:
        """The border as circular padding of the interior: rows first, then whole columns, so the
        corners come from the opposite corners."""
        grid = self.grid
        grid[:, 0, 1:-1] = grid[:, -2, 1:-1]
        grid[:, -1, 1:-1] = grid[:, 1, 1:-1]
        grid[:, :, 0] = grid[:, :, -2]
        grid[:, :, -1] = grid[:, :, 1]

    @classmethod
    def around(cls, x: np.ndarray) -> "Padded":
        """(C, H, W) padded circularly: what the network's circular padding sees."""
        _, height, width = x.shape
        return cls.window(x, -1, height + 1, -1, width + 1)

    @classmethod
    def window(cls, source: np.ndarray, top: int, bottom: int, left: int, right: int) -> "Padded":
        """Rows [top, bottom) × columns [left, right) of (C, H, W) `source`, wrapping around its
        edges (any number of times), as the padded input of a (bottom-top-2) × (right-left-2) conv.

        One copy, from a few plain slices: a head tile's window and its padding come together.
        """
        channels, height, width = source.shape
        padded = cls.empty(channels, bottom - top - 2, right - left - 2)
        grid = padded.grid
        for at_row, src_row, n_rows in _wrapped_runs(top, bottom, height):
            for at_col, src_col, n_cols in _wrapped_runs(left, right, width):
                grid[:, at_row : at_row + n_rows, at_col : at_col + n_cols] = \
                    source[:, src_row : src_row + n_rows, src_col : src_col + n_cols]
        return padded


def _wrapped_runs(start: int, stop: int, period: int) -> list[tuple[int, int, int]]:
    """[start, stop) modulo period as runs (offset from start, first source index, length)."""
    runs, position = [], start
    while position < stop:
        first = position % period
        length = min(stop - position, period - first)
        runs.append((position - start, first, length))
        position += length
    return runs


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

    def with_waves(self, noise, field: np.ndarray):
        """network.Generator.with_waves for a NoiseSource: the same numbers, from the same code."""
        c = self.config
        if not c.periodic_dim or getattr(noise, "waves", None) is not None:
            return noise
        codes = np.asarray(field)[:, c.local_dim : c.latent_dim, 0, 0]
        return noise.with_waves(self.weights["waves.weight"], self.weights["waves.bias"], codes)

    def trunk(self, x: np.ndarray, split: int, noise) -> np.ndarray:
        """Levels [0, split) on the whole (latent_dim, h, w) field: (C, h·r, w·r), a view."""
        for index in range(split):
            x = self._run_level(index, x, noise, (0, 0))
        return x.interior if isinstance(x, Padded) else x

    def head(self, x: "np.ndarray | Padded", split: int, noise, at: tuple[int, int] = (0, 0)) -> np.ndarray:
        """Levels [split, end) and the output conv; `at` as in network.Generator.head (the window
        without its padding, when x is a Padded one)."""
        top, left = at
        for index in range(split, len(self.levels)):
            if index > 0:
                top, left = 2 * top, 2 * left
            x = self._run_level(index, x, noise, (top, left))
        return self.to_output(x)

    def _run_level(self, index: int, x: "np.ndarray | Padded", noise, at: tuple[int, int]) -> "Padded":
        first, *rest = self.levels[index]
        pixel_noise = waves = None
        f = first.factor
        height, width = (x.height, x.width) if isinstance(x, Padded) else x.shape[1:]
        if first.noise_planes:
            pixel_noise = np.asarray(noise(index, at[0], at[1], height * f, width * f))[0, 0]
        if first.waves:
            waves = np.asarray(noise.planes(index, at[0], at[1], height * f, width * f))[0]
        x = first(x, pixel_noise, padded_out=True, waves=waves)
        for conv in rest:
            x = conv(x, padded_out=True)
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
    noise = generator.with_waves(noise, field)
    features = generator.trunk(np.ascontiguousarray(field[0], dtype=np.float32), split, noise)  # (C, h·r, w·r)
    halo = head_halo(config, split)
    _, fh, fw = features.shape

    def run_head(t: HeadTile) -> np.ndarray:
        # The window and its one-pixel padding in one copy, straight from the trunk's output.
        window = Padded.window(features, t.y0 - halo - 1, t.y1 + halo + 1, t.x0 - halo - 1, t.x1 + halo + 1)
        return generator.head(window, split, noise, at=(t.y0 - halo, t.x0 - halo)).transpose(1, 2, 0)

    return render_tiles((fh, fw), halo, head_scale(config, split), tile, run_head, out, progress, should_cancel)
