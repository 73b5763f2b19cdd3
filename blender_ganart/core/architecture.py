"""The generator's architecture as plain data: one definition for both runtimes.

The PyTorch network (network.py) and the NumPy runtime (numpy_runtime.py) are both built from
`conv_plan(config)`, and the model file reader checks a file's weights against
`parameter_shapes(config)`, so the two runtimes cannot disagree about which layers exist, in which
order, with which shapes, upsampling and noise, nor about how far a tile's halo must reach.
No torch and no bpy here: this module is imported by the add-on in any stock Blender.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields


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
    # Plane waves whose wave vectors the seed's global code sets (periodic.py): a global coordinate
    # system for regular patterns (brick courses, planks). 0 = none, as every file before 0.7.
    periodic_dim: int = 0

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
        max_periodic_dim = 64
        for name, top in (("out_channels", max_out_channels), ("local_dim", max_latent_dim),
                          ("global_dim", max_latent_dim), ("periodic_dim", max_periodic_dim)):
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
        if self.periodic_dim and len(self.widths) < 2:
            raise ValueError("periodic_dim needs two levels or more (the waves join after the first upsampling)")
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
        """The config as stored in a model file; without periodic_dim when it is 0, so a file
        that has no waves still loads in add-ons from before they existed."""
        stored = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        if not self.periodic_dim:
            del stored["periodic_dim"]
        return stored

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

KERNEL = 3  # every spatial conv is 3×3 with circular padding of 1
LEAK = 0.2  # LeakyReLU slope
NORM_EPS = 1e-8  # PixelNorm: x / sqrt(mean(x²) + eps)


@dataclass(frozen=True)
class ConvSpec:
    """One circular 3×3 conv of the generator and what follows it.

    `name` is its state-dict prefix: "<name>.conv.weight", "<name>.conv.bias" and, with noise,
    "<name>.noise_weight" in a block; "<name>.weight" and "<name>.bias" for the output conv.
    """

    name: str
    level: int
    in_ch: int
    out_ch: int
    upsample: str | None  # periodic ×2 upsampling before the conv (a mode of UPSAMPLING)
    noise: bool  # per-channel scaled pixel noise added after the conv
    block: bool = True  # conv → [noise] → LeakyReLU → PixelNorm; False: the output conv (→ tanh)
    periodic: int = 0  # plane waves added after the conv, each with a learned weight per channel


def conv_plan(config: GeneratorConfig) -> list[list[ConvSpec]]:
    """The convs of each level, in order; the output conv is `output_conv(config)`."""
    levels = []
    for level, width in enumerate(config.widths):
        in_ch = config.latent_dim if level == 0 else config.widths[level - 1]
        upsample = config.upsample if level > 0 else None
        periodic = config.periodic_dim if level in periodic_levels(config) else 0
        convs = [ConvSpec(f"levels.{level}.0", level, in_ch, width, upsample, config.noise and level > 0,
                          periodic=periodic)]
        convs += [ConvSpec(f"levels.{level}.{j}", level, width, width, None, False)
                  for j in range(1, 1 + config.extra_convs[level])]
        levels.append(convs)
    return levels


def periodic_levels(config: GeneratorConfig) -> range:
    """The levels whose first conv gets the plane waves (none without periodic_dim): those from
    the first upsampled one while a pixel still covers 4 output pixels or more. Coarser than
    that a wave of a brick course's period would alias (level 0's Nyquist period is two cells);
    finer, the waves would add to the cost of the convs with the most pixels. A generator of
    four levels or fewer gets them at level 1 only."""
    if not config.periodic_dim:
        return range(0)
    return range(1, min(len(config.widths), max(2, len(config.widths) - 2)))  # at least level 1


def output_conv(config: GeneratorConfig) -> ConvSpec:
    return ConvSpec("to_output", len(config.widths) - 1, config.widths[-1], config.out_channels,
                    None, False, block=False)


def parameter_shapes(config: GeneratorConfig) -> dict[str, tuple[int, ...]]:
    """Every weight a model file must hold for this config: state-dict name → shape."""
    shapes = {}
    for spec in [*(s for level in conv_plan(config) for s in level), output_conv(config)]:
        prefix = f"{spec.name}.conv" if spec.block else spec.name
        shapes[f"{prefix}.weight"] = (spec.out_ch, spec.in_ch, KERNEL, KERNEL)
        shapes[f"{prefix}.bias"] = (spec.out_ch,)
        if spec.noise:
            shapes[f"{spec.name}.noise_weight"] = (spec.out_ch,)
        if spec.periodic:
            shapes[f"{spec.name}.periodic_weight"] = (spec.out_ch, spec.periodic)
    if config.periodic_dim:  # global code → wave vectors (rows, columns per wave), periodic.py
        shapes["waves.weight"] = (2 * config.periodic_dim, config.global_dim)
        shapes["waves.bias"] = (2 * config.periodic_dim,)
    return shapes


def head_halo(config: GeneratorConfig, split: int) -> int:
    """Pixels at level `split-1`'s resolution that the head's output depends on beyond a tile.

    Each 3×3 conv at scale s (relative to the split level) reaches 1/s pixels further, and a
    bilinear upsampling from scale s reads one pixel further at that scale; a tile fed with
    this many extra pixels on each side has an exact interior.
    """
    reach = 0.0
    scale = 1
    for level in range(split, len(config.widths)):
        if level > 0:
            reach += (1 if config.upsample == "bilinear" else 0) / scale
            scale *= 2
        reach += (1 + config.extra_convs[level]) / scale
    reach += 1 / scale  # the output conv
    return math.ceil(reach + 1e-9) + 1  # +1: upsampling aligns to whole pixels


def head_scale(config: GeneratorConfig, split: int) -> int:
    """Output pixels per pixel of level `split-1`."""
    return 2 ** sum(1 for level in range(split, len(config.widths)) if level > 0)


def flops_per_output_pixel(config: GeneratorConfig) -> float:
    """Multiply-adds ×2 per output pixel of the inference path (fused upsampling counted)."""
    f = config.upsampling
    total = 0.0
    for level, convs in enumerate(conv_plan(config)):
        pixels_per_out = (2**level / f) ** 2  # this level's pixels per output pixel
        for spec in convs:
            macs = spec.in_ch * spec.out_ch * KERNEL * KERNEL
            if spec.upsample:  # fused: a 3×3 conv with 4·C_out at the lower resolution
                macs *= 4
                pixels = pixels_per_out / 4
            else:
                pixels = pixels_per_out
            total += 2 * macs * pixels
    out = output_conv(config)
    total += 2 * out.in_ch * out.out_ch * KERNEL * KERNEL
    return total
