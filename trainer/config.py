"""The run's options: one frozen dataclass per concern, each option declared once with its rules
(its check, whether a resume may change it), saved as JSON in the run folder. The command line is
built from these fields by trainer/flags.py.

Options whose default depends on the architecture (learning rates, regularisers, augmentation) are
None in the dataclass and filled from `PRESETS` by `resolve()`, once, before training starts; the
resolved config is what the run folder records, so a run never depends on defaults changing later.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from blender_ganart.core.model_maps import MAP_CHANNELS, channel_count, check_map_names
from blender_ganart.core.network import GeneratorConfig

from .atomic import write_text_atomically
from .errors import ConfigError

ARCHS = ("texture", "dcgan", "mlp")
LOSSES = ("ns", "minimax", "hinge", "lsgan", "wgan-gp")
PERIODIC_AXES = ("both", "rows")
ORIENTS = ("as-stored", "rows")  # --orient: trainer/line_direction.py
AUGMENTS = ("color", "translation", "cutout")
_DEFAULT_G = GeneratorConfig()

# The checks a field may name: what a valid value satisfies, and what the error says otherwise.
CHECKS = {
    "at_least_1": (lambda v: v >= 1, "must be at least 1"),
    "non_negative": (lambda v: v >= 0, "must be zero or more"),
    "positive": (lambda v: v > 0, "must be positive"),
    "unit": (lambda v: 0 <= v < 1, "must be in [0, 1)"),
}


def option(default, help: str, *, choices: tuple[str, ...] = (), check: str = "", resumable: bool = False):
    """One option: its default, its help line, and its rules as field metadata: the values the
    command line accepts (choices), a check from CHECKS, and whether `--resume` may change it."""
    assert not check or check in CHECKS, check
    metadata = {"help": help, "resumable": resumable, **({"choices": choices} if choices else {}),
                **({"check": check} if check else {})}
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class DataOptions:
    data: str = option("", "folder of texture images (searched recursively)")
    crop_size: int = option(64, "training crop in pixels (power of two, 16–1024)")
    flips: bool = option(True, "random horizontal/vertical flips of real crops")
    rot90: bool = option(True, "random 90° rotations of real crops")
    orient: str = option("as-stored", "as-stored, or rows: turn each image whose lines (grain, planks, courses) run up "
                                      "and down by 90°, so all run along rows (needs --no-rot90)", choices=ORIENTS)
    max_side: int = option(0, "downscale images larger than this on load (0 = never: the model learns the data's own texel "
                                        "density; a model card records the density it learned)", check="non_negative")
    maps: str = option("colour", "maps learned together, comma-separated from " + ",".join(MAP_CHANNELS)
                       + ", colour first; more than colour reads the folder as map sets (trainer/map_sets.py) "
                       "and skips sets lacking one")


@dataclass(frozen=True)
class ModelOptions:
    arch: str = option("texture", "texture (the add-on's generator), dcgan or mlp", choices=ARCHS)
    g_widths: tuple[int, ...] = option(_DEFAULT_G.widths, "texture G channels per level")
    g_extra_convs: tuple[int, ...] = option(_DEFAULT_G.extra_convs, "texture G extra convs per level")
    local_dim: int = option(_DEFAULT_G.local_dim, "texture G local noise channels")
    global_dim: int = option(_DEFAULT_G.global_dim, "texture G global code size")
    g_upsample: str = option(_DEFAULT_G.upsample, "texture G ×2 upsampling (bilinear; nearest prints the cell grid)", choices=("bilinear", "nearest"))
    g_noise: bool = option(_DEFAULT_G.noise, "texture G per-level pixel noise")
    g_quiet_levels: tuple[int, ...] = option((), "texture G levels whose pixel noise is held at zero (e.g. 5, the "
                                                 "full-resolution level of the default widths: its one noise map "
                                                 "speckles learned normal maps; trainer/quiet_noise.py)")
    periodic_dim: int = option(_DEFAULT_G.periodic_dim, "texture G plane waves whose wave vectors the seed's global code "
                                                        "sets (regular patterns: brick courses, planks); 0 = none",
                               check="non_negative")
    periodic_axis: str = option("both", "texture G plane waves' direction: both (any, per seed) or rows (wave vectors "
                                        "down the image only: level stripes, such as brick courses laid level; needs "
                                        "--no-rot90)", choices=PERIODIC_AXES)
    g_batch_norm: bool | None = option(None, "texture G: batch norm while training, folded into the convs on export (default: per arch)")
    init_from: str = option("", "texture arch: start G from this model file's weights, or G and D from this run folder's "
                                   "checkpoint (same widths and dims; a colour run may start a full-material one); '' = random")
    d_width: int = option(64, "texture arch: discriminator channels after its first layer (doubling per level)", check="at_least_1")
    d_context_scale: int = option(1, "texture arch: judge each crop at two scales: a second discriminator sees it "
                                     "box-downscaled by this factor (structure), the first sees crop/scale px windows at "
                                     "full density (detail); 1 = one discriminator at full density", check="at_least_1")
    z_dim: int = option(100, "latent size of the dcgan/mlp generators", check="at_least_1")
    g_base_width: int = option(64, "dcgan G channels at full resolution / mlp hidden units ÷ 16", check="at_least_1")
    spectral_norm: bool | None = option(None, "spectral norm in D (default: per arch)")
    d_batch_norm: bool | None = option(None, "batch norm in the DCGAN-style D of the texture and dcgan archs (default: "
                                              "per arch); each batch, real or fake, is normalised by its own statistics")


@dataclass(frozen=True)
class LossOptions:
    loss: str | None = option(None, "ns, minimax, hinge, lsgan or wgan-gp (default: ns)", choices=LOSSES)
    # Resumable: a discriminator that has started to win (its loss near 0, as in the CPU runs of
    # bricks and wood) can be held back from that checkpoint on, without starting again.
    r1_gamma: float | None = option(None, "R1 penalty weight on real images (0 = off)", check="non_negative",
                                    resumable=True)
    r1_every: int = option(4, "apply R1 every N D steps, scaled by N (lazy regularisation)", check="at_least_1",
                           resumable=True)
    gp_weight: float = option(10.0, "gradient-penalty weight for wgan-gp", check="non_negative")
    d_steps: int = option(1, "discriminator steps per generator step", check="at_least_1")


@dataclass(frozen=True)
class OptimOptions:
    batch: int = option(16, "images per step over all processes", check="at_least_1")
    g_lr: float | None = option(None, "generator learning rate", check="positive", resumable=True)
    d_lr: float | None = option(None, "discriminator learning rate", check="positive", resumable=True)
    beta1: float | None = option(None, "Adam beta1", check="unit")
    beta2: float | None = option(None, "Adam beta2", check="unit")
    ema_kimg: float | None = option(None, "EMA half-life of G in thousands of images (0 = no EMA)", check="non_negative")


@dataclass(frozen=True)
class AugmentOptions:
    augment: str | None = option(None, "differentiable augmentations for D, comma-separated from color,translation,cutout ('' = none)")
    seam_shift: bool | None = option(None, "roll real and fake batches by the same random wrap-around shift before D")
    ada_target: float = option(0.0, "adapt how often --augment applies (per image, probability p) to hold the share of "
                               "real crops D scores as real, E[sign D(real)], at this target (ADA; 0.6 is its paper's); "
                               "0 = every augmentation on every image", check="unit", resumable=True)
    ada_kimg: float = option(10.0, "with --ada-target: thousands of images for p to move from 0 to 1",
                             check="positive", resumable=True)


@dataclass(frozen=True)
class RunOptions:
    out: str = option("", "run folder (checkpoints, samples, metrics)")
    steps: int = option(4000, "generator steps in total", check="at_least_1", resumable=True)
    max_minutes: float = option(0.0, "stop (with a checkpoint) after this much training time (0 = no limit)", check="non_negative", resumable=True)
    seed: int = option(0, "seed for initialisation, data order and noise")
    device: str = option("auto", "auto, cpu, cuda, mps", resumable=True)
    amp: bool = option(True, "bfloat16 mixed precision and channels-last (CUDA only)", resumable=True)
    threads: int = option(0, "CPU threads for torch (0 = torch's default)", check="non_negative", resumable=True)
    checkpoint_every: int = option(250, "steps between checkpoints", check="at_least_1", resumable=True)
    sample_every: int = option(500, "steps between sample grids (0 = only at the end)", check="non_negative", resumable=True)
    metrics_every: int = option(1000, "steps between SWD evaluations (0 = only at the end)", check="non_negative", resumable=True)
    metrics_images: int = option(128, "generated and real crops per SWD evaluation", check="at_least_1")
    metrics_draws: int = option(1, "draws of real crops behind each evaluation's ratios at full density and 4x, "
                                "their SWDs and floors averaged over the draws as the quality report averages its 8 "
                                "(a floor drawn once can sit a third from their mean; each draw costs two SWDs per "
                                "scale per evaluation)", check="at_least_1")
    keep_best: bool = option(False, "keep the generator that measured best (at the start, every --metrics-every "
                             "steps, at the end) in RUN/best.pt, by the quality report's SWD over its floor at "
                             "full texel density plus at 4x (plus the normals' for a run that learns them); "
                             "export takes it", resumable=True)
    log_every: int = option(20, "steps between lines in metrics.jsonl", check="at_least_1", resumable=True)
    facing_at_least: float = option(0.0, "a run that learns normal maps: a step one of whose seed textures (seeds "
                                    "0-31, 256 px) faces out (+Z leading) on no more than this share of its pixels "
                                    "is steeper than asked, and --keep-best keeps it only while no step has faced "
                                    "out (0: asked only to face out like the data's steepest map)", check="unit",
                                    resumable=True)


SECTIONS = {
    "data": DataOptions,
    "model": ModelOptions,
    "loss": LossOptions,
    "optim": OptimOptions,
    "augment": AugmentOptions,
    "run": RunOptions,
}

# What "the classic recipe" of each architecture means; None options take these values.
PRESETS = {
    # Chosen in short CPU trials on data/metal: batch norm in G while training (without it G fell
    # to flat, seed-independent output), wrapping translation plus the seam shift; R1, colour and
    # cutout augmentation did not help there, so they stay available but off.
    "texture": dict(g_batch_norm=True, d_batch_norm=True, spectral_norm=False, loss="ns", r1_gamma=0.0, g_lr=0.0002,
                    d_lr=0.0002, beta1=0.5, beta2=0.999, ema_kimg=2.0, augment="translation", seam_shift=True),
    # Radford et al. 2016: Adam(2e-4, 0.5), batch-norm, no penalty, no EMA, no augmentation.
    "dcgan": dict(g_batch_norm=False, d_batch_norm=True, spectral_norm=False, loss="ns", r1_gamma=0.0, g_lr=0.0002,
                  d_lr=0.0002, beta1=0.5, beta2=0.999, ema_kimg=0.0, augment="", seam_shift=False),
    # Goodfellow et al. 2014: fully connected G and D trained with plain alternating SGD-like steps.
    "mlp": dict(g_batch_norm=False, d_batch_norm=False, spectral_norm=False, loss="ns", r1_gamma=0.0, g_lr=0.0002,
                d_lr=0.0002, beta1=0.5, beta2=0.999, ema_kimg=0.0, augment="", seam_shift=False),
}


@dataclass(frozen=True)
class TrainConfig:
    data: DataOptions = DataOptions()
    model: ModelOptions = ModelOptions()
    loss: LossOptions = LossOptions()
    optim: OptimOptions = OptimOptions()
    augment: AugmentOptions = AugmentOptions()
    run: RunOptions = RunOptions()

    def to_dict(self) -> dict:
        out = {}
        for name in SECTIONS:
            out[name] = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(getattr(self, name)).items()}
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        try:
            parts = {}
            for name, section in SECTIONS.items():
                values = dict(data.get(name, {}))
                if name == "model" and values:
                    # Saved before these options existed: trained without batch norm in G / noise,
                    # with nearest upsampling, and with batch norm in D.
                    values = {"g_batch_norm": False, "g_upsample": "nearest", "g_noise": False, "d_batch_norm": True,
                              **values}
                known = {f.name: f for f in fields(section)}
                unknown = set(values) - set(known)
                if unknown:
                    raise ConfigError(f"unknown options in section '{name}': {sorted(unknown)}")
                parts[name] = section(**{k: _coerce(known[k], v) for k, v in values.items()})
            return cls(**parts)
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"the saved run configuration is damaged: {exc}") from None

    def generator_config(self) -> GeneratorConfig:
        m = self.model
        return GeneratorConfig(out_channels=channel_count(self.map_list()), local_dim=m.local_dim,
                               global_dim=m.global_dim, widths=m.g_widths, extra_convs=m.g_extra_convs, upsample=m.g_upsample,
                               noise=m.g_noise, periodic_dim=m.periodic_dim)

    def values(self) -> dict:
        """Every option by name (names are unique over all sections)."""
        return {k: v for name in SECTIONS for k, v in vars(getattr(self, name)).items()}

    def map_list(self) -> tuple[str, ...]:
        """--maps as names ("colour" also as "color"); validate() has checked them."""
        names = tuple(m for m in self.data.maps.replace(" ", "").split(",") if m)
        return tuple("colour" if m == "color" else m for m in names)

    def augment_list(self) -> tuple[str, ...]:
        return tuple(a for a in (self.augment.augment or "").replace(" ", "").split(",") if a)


def option_fields():
    """Every option's dataclass field, section by section (names are unique over all sections)."""
    return [f for section in SECTIONS.values() for f in fields(section)]


def flag(name: str) -> str:
    """The command-line flag of an option: g_lr → --g-lr."""
    return "--" + name.replace("_", "-")


def resumable_options() -> list[str]:
    """The options `--resume` may change: the schedule and machine, the learning rates (lowering
    them is the usual way to continue a run that diverged from its last checkpoint), and what
    holds a discriminator that has won in check (R1, adaptive augmentation)."""
    return sorted(f.name for f in option_fields() if f.metadata["resumable"])


def refuse_fixed_options(given: dict) -> None:
    """A resume may change only the resumable options; the others are fixed by the run."""
    fixed = sorted(set(given) - set(resumable_options()))
    if fixed:
        raise ConfigError("these options cannot change when resuming (they are fixed by the run): "
                          + ", ".join(flag(name) for name in fixed))


def override(saved: TrainConfig, given: dict) -> TrainConfig:
    """`saved` with the options in `given` (option name → value) replaced, each in its section."""
    unknown = set(given) - {f.name for f in option_fields()}
    if unknown:
        raise ConfigError(f"unknown options: {sorted(unknown)}")
    return TrainConfig(**{name: replace(getattr(saved, name), **{f.name: given[f.name] for f in fields(section)
                                                                  if f.name in given})
                          for name, section in SECTIONS.items()})


def resolve(config: TrainConfig) -> TrainConfig:
    """Fills the per-architecture defaults and validates; the result is what a run records."""
    if config.model.arch not in PRESETS:
        raise ConfigError(f"unknown {flag('arch')} '{config.model.arch}'; choose one of {', '.join(ARCHS)}")
    preset = PRESETS[config.model.arch]
    resolved = override(config, {name: preset[name] for name, value in config.values().items()
                                 if value is None and name in preset})
    validate(resolved)
    return resolved


def validate(c: TrainConfig) -> None:
    """Early, clear errors for options that would fail later or silently do something odd."""
    crop = c.data.crop_size
    if crop < 16 or crop > 1024 or crop & (crop - 1):
        raise ConfigError(f"{flag('crop_size')} must be a power of two from 16 to 1024, got {crop}")
    if c.loss.loss not in LOSSES:
        raise ConfigError(f"unknown {flag('loss')} '{c.loss.loss}'; choose one of {', '.join(LOSSES)}")
    unknown = set(c.augment_list()) - set(AUGMENTS)
    if unknown:
        raise ConfigError(f"unknown {flag('augment')} {sorted(unknown)}; choose from {', '.join(AUGMENTS)}")
    try:
        maps = check_map_names(c.map_list())
    except ValueError as exc:
        raise ConfigError(f"{flag('maps')} '{c.data.maps}': {exc}") from None
    if maps != ("colour",) and c.model.arch != "texture":
        raise ConfigError(f"{flag('maps')} needs {flag('arch')} texture (the {c.model.arch} generator makes colour only)")
    values = c.values()
    for f in option_fields():
        if "check" in f.metadata:
            valid, message = CHECKS[f.metadata["check"]]
            if not valid(values[f.name]):
                raise ConfigError(f"{flag(f.name)} {message}, got {values[f.name]}")
    if c.data.max_side and c.data.max_side < crop:
        raise ConfigError(f"{flag('max_side')} {c.data.max_side} is smaller than {flag('crop_size')} {crop}")
    if c.run.facing_at_least and "normal" not in maps:
        raise ConfigError(f"{flag('facing_at_least')} judges the normal maps a run learns: add normal to {flag('maps')}")
    scale = c.model.d_context_scale
    if scale > 1 and (c.model.arch != "texture" or crop % scale or crop // scale < 16):
        raise ConfigError(f"{flag('d_context_scale')} {scale} needs the texture arch and a {flag('crop_size')} of at least "
                          f"16 × {scale} px (got {c.model.arch}, {crop} px): the detail windows are crop/scale px")
    if c.model.periodic_axis != "both" and not (c.model.arch == "texture" and c.model.periodic_dim):
        raise ConfigError(f"{flag('periodic_axis')} {c.model.periodic_axis} sets the plane waves' direction: give the "
                          f"texture arch {flag('periodic_dim')} 1 or more")
    if c.model.periodic_axis == "rows" and c.data.rot90:
        raise ConfigError(f"{flag('periodic_axis')} rows draws level stripes only, and 90° rotations of the real "
                          f"crops stand them upright: add --no-rot90")
    if c.data.orient == "rows" and c.data.rot90:
        raise ConfigError(f"{flag('orient')} rows turns every image's lines to run along rows, and 90° rotations of "
                          f"the real crops stand half of them upright again: add --no-rot90")
    quiet = c.model.g_quiet_levels
    if quiet and not (c.model.arch == "texture" and c.model.g_noise
                      and all(1 <= level < len(c.model.g_widths) for level in quiet)):
        raise ConfigError(f"{flag('g_quiet_levels')} {','.join(map(str, quiet))} names levels of the texture "
                          f"generator's pixel noise: 1 to {len(c.model.g_widths) - 1} (level 0 has none), with "
                          f"{flag('g_noise')} on")
    if c.model.init_from and c.model.arch != "texture":
        raise ConfigError(f"{flag('init_from')} takes a texture model file; a {c.model.arch} run has no such generator")
    if c.model.arch == "texture":
        try:
            c.generator_config()
        except ValueError as exc:
            raise ConfigError(f"texture generator options: {exc}") from None


def field_type(f) -> type:
    """An option's type without its None: `float | None` → float, `tuple[int, ...]` as it is."""
    hint = typing.get_type_hints(next(s for s in SECTIONS.values() if f in fields(s)))[f.name]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = [a for a in typing.get_args(hint) if a is not type(None)][0]
    return hint


def _coerce(f, value):
    """A value read from JSON as the option's type (lists become tuples; bools must be bools)."""
    if value is None:
        return None
    kind = field_type(f)
    if typing.get_origin(kind) is tuple:
        return tuple(int(v) for v in value)
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{f.name} must be true or false")
        return value
    return kind(value)


def save_config(config: TrainConfig, path: Path) -> None:
    write_text_atomically(path, json.dumps(config.to_dict(), indent=2) + "\n")


def load_config(path: Path) -> TrainConfig:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no training options file in the run folder: {path}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} does not hold training options")
    return TrainConfig.from_dict(data)
