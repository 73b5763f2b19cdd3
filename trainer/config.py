"""The run's options: one frozen dataclass per concern, the argparse flags built from them, JSON in
the run folder.

Options whose default depends on the architecture (learning rates, regularisers, augmentation) are
None in the dataclass and filled from `PRESETS` by `resolve()`, once, before training starts; the
resolved config is what the run folder records, so a run never depends on defaults changing later.
"""

from __future__ import annotations

import argparse
import json
import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path

from blender_ganart.network import GeneratorConfig

from .errors import ConfigError

ARCHS = ("texture", "dcgan", "mlp")
LOSSES = ("ns", "minimax", "hinge", "lsgan", "wgan-gp")
AUGMENTS = ("color", "translation", "cutout")
_DEFAULT_G = GeneratorConfig()


@dataclass(frozen=True)
class DataOptions:
    data: str = field(default="", metadata={"help": "folder of texture images (searched recursively)"})
    crop_size: int = field(default=64, metadata={"help": "training crop in pixels (power of two, 16–1024)"})
    flips: bool = field(default=True, metadata={"help": "random horizontal/vertical flips of real crops"})
    rot90: bool = field(default=True, metadata={"help": "random 90° rotations of real crops"})
    max_side: int = field(
        default=0, metadata={"help": "downscale images larger than this on load (0 = never: the model learns the "
                                     "data's own texel density; a model card records the density it learned)"}
    )


@dataclass(frozen=True)
class ModelOptions:
    arch: str = field(default="texture", metadata={"help": "texture (the add-on's generator), dcgan or mlp", "choices": ARCHS})
    g_widths: tuple[int, ...] = field(default=_DEFAULT_G.widths, metadata={"help": "texture G channels per level"})
    g_extra_convs: tuple[int, ...] = field(default=_DEFAULT_G.extra_convs, metadata={"help": "texture G extra convs per level"})
    local_dim: int = field(default=_DEFAULT_G.local_dim, metadata={"help": "texture G local noise channels"})
    global_dim: int = field(default=_DEFAULT_G.global_dim, metadata={"help": "texture G global code size"})
    g_upsample: str = field(default=_DEFAULT_G.upsample, metadata={"help": "texture G ×2 upsampling (bilinear; nearest prints the cell grid)", "choices": ("bilinear", "nearest")})
    g_noise: bool = field(default=_DEFAULT_G.noise, metadata={"help": "texture G per-level pixel noise"})
    g_batch_norm: bool | None = field(
        default=None, metadata={"help": "texture G: batch norm while training, folded into the convs on export (default: per arch)"}
    )
    init_from: str = field(default="", metadata={"help": "texture G: start from this model file's weights (same widths and dims); '' = random"})
    d_width: int = field(default=64, metadata={"help": "texture arch: discriminator channels after its first layer (doubling per level)"})
    z_dim: int = field(default=100, metadata={"help": "latent size of the dcgan/mlp generators"})
    g_base_width: int = field(default=64, metadata={"help": "dcgan G channels at full resolution / mlp hidden units ÷ 16"})
    spectral_norm: bool | None = field(default=None, metadata={"help": "spectral norm in D (default: per arch)"})


@dataclass(frozen=True)
class LossOptions:
    loss: str | None = field(default=None, metadata={"help": "ns, minimax, hinge, lsgan or wgan-gp (default: ns)", "choices": LOSSES})
    r1_gamma: float | None = field(default=None, metadata={"help": "R1 penalty weight on real images (0 = off)"})
    r1_every: int = field(default=4, metadata={"help": "apply R1 every N D steps, scaled by N (lazy regularisation)"})
    gp_weight: float = field(default=10.0, metadata={"help": "gradient-penalty weight for wgan-gp"})
    d_steps: int = field(default=1, metadata={"help": "discriminator steps per generator step"})


@dataclass(frozen=True)
class OptimOptions:
    batch: int = field(default=16, metadata={"help": "images per step over all processes"})
    g_lr: float | None = field(default=None, metadata={"help": "generator learning rate"})
    d_lr: float | None = field(default=None, metadata={"help": "discriminator learning rate"})
    beta1: float | None = field(default=None, metadata={"help": "Adam beta1"})
    beta2: float | None = field(default=None, metadata={"help": "Adam beta2"})
    ema_kimg: float | None = field(default=None, metadata={"help": "EMA half-life of G in thousands of images (0 = no EMA)"})


@dataclass(frozen=True)
class AugmentOptions:
    augment: str | None = field(
        default=None, metadata={"help": "differentiable augmentations for D, comma-separated from color,translation,cutout ('' = none)"}
    )
    seam_shift: bool | None = field(
        default=None, metadata={"help": "roll real and fake batches by the same random wrap-around shift before D"}
    )


@dataclass(frozen=True)
class RunOptions:
    out: str = field(default="", metadata={"help": "run folder (checkpoints, samples, metrics)"})
    steps: int = field(default=4000, metadata={"help": "generator steps in total"})
    max_minutes: float = field(default=0.0, metadata={"help": "stop (with a checkpoint) after this much training time (0 = no limit)"})
    seed: int = field(default=0, metadata={"help": "seed for initialisation, data order and noise"})
    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda, mps"})
    amp: bool = field(default=True, metadata={"help": "bfloat16 mixed precision and channels-last (CUDA only)"})
    threads: int = field(default=0, metadata={"help": "CPU threads for torch (0 = torch's default)"})
    checkpoint_every: int = field(default=250, metadata={"help": "steps between checkpoints"})
    sample_every: int = field(default=500, metadata={"help": "steps between sample grids (0 = only at the end)"})
    metrics_every: int = field(default=1000, metadata={"help": "steps between SWD evaluations (0 = only at the end)"})
    metrics_images: int = field(default=128, metadata={"help": "generated and real crops per SWD evaluation"})
    log_every: int = field(default=20, metadata={"help": "steps between lines in metrics.jsonl"})


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
    "texture": dict(g_batch_norm=True, spectral_norm=False, loss="ns", r1_gamma=0.0, g_lr=0.0002, d_lr=0.0002, beta1=0.5,
                    beta2=0.999, ema_kimg=2.0, augment="translation", seam_shift=True),
    # Radford et al. 2016: Adam(2e-4, 0.5), batch-norm, no penalty, no EMA, no augmentation.
    "dcgan": dict(g_batch_norm=False, spectral_norm=False, loss="ns", r1_gamma=0.0, g_lr=0.0002, d_lr=0.0002, beta1=0.5,
                  beta2=0.999, ema_kimg=0.0, augment="", seam_shift=False),
    # Goodfellow et al. 2014: fully connected G and D trained with plain alternating SGD-like steps.
    "mlp": dict(g_batch_norm=False, spectral_norm=False, loss="ns", r1_gamma=0.0, g_lr=0.0002, d_lr=0.0002, beta1=0.5,
                beta2=0.999, ema_kimg=0.0, augment="", seam_shift=False),
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
                    # Saved before these options existed: trained without batch norm / noise,
                    # with nearest upsampling.
                    values = {"g_batch_norm": False, "g_upsample": "nearest", "g_noise": False, **values}
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
        return GeneratorConfig(out_channels=3, local_dim=m.local_dim, global_dim=m.global_dim,
                               widths=m.g_widths, extra_convs=m.g_extra_convs, upsample=m.g_upsample,
                               noise=m.g_noise)

    def augment_list(self) -> tuple[str, ...]:
        return tuple(a for a in (self.augment.augment or "").replace(" ", "").split(",") if a)


def resolve(config: TrainConfig) -> TrainConfig:
    """Fills the per-architecture defaults and validates; the result is what a run records."""
    if config.model.arch not in PRESETS:
        raise ConfigError(f"unknown --arch '{config.model.arch}'; choose one of {', '.join(ARCHS)}")
    preset = PRESETS[config.model.arch]
    sections = {}
    for name in SECTIONS:
        section = getattr(config, name)
        filled = {f.name: preset[f.name] for f in fields(section)
                  if getattr(section, f.name) is None and f.name in preset}
        sections[name] = replace(section, **filled)
    resolved = TrainConfig(**sections)
    validate(resolved)
    return resolved


def validate(c: TrainConfig) -> None:
    """Early, clear errors for options that would fail later or silently do something odd."""
    crop = c.data.crop_size
    if crop < 16 or crop > 1024 or crop & (crop - 1):
        raise ConfigError(f"--crop-size must be a power of two from 16 to 1024, got {crop}")
    if c.loss.loss not in LOSSES:
        raise ConfigError(f"unknown --loss '{c.loss.loss}'; choose one of {', '.join(LOSSES)}")
    unknown = set(c.augment_list()) - set(AUGMENTS)
    if unknown:
        raise ConfigError(f"unknown --augment {sorted(unknown)}; choose from {', '.join(AUGMENTS)}")
    positive = {"--batch": c.optim.batch, "--steps": c.run.steps, "--d-steps": c.loss.d_steps,
                "--r1-every": c.loss.r1_every, "--checkpoint-every": c.run.checkpoint_every,
                "--log-every": c.run.log_every, "--metrics-images": c.run.metrics_images,
                "--d-width": c.model.d_width,
                "--z-dim": c.model.z_dim, "--g-base-width": c.model.g_base_width}
    for flag, value in positive.items():
        if value < 1:
            raise ConfigError(f"{flag} must be at least 1, got {value}")
    non_negative = {"--r1-gamma": c.loss.r1_gamma, "--gp-weight": c.loss.gp_weight, "--ema-kimg": c.optim.ema_kimg,
                    "--max-minutes": c.run.max_minutes, "--sample-every": c.run.sample_every,
                    "--metrics-every": c.run.metrics_every, "--threads": c.run.threads, "--max-side": c.data.max_side}
    for flag, value in non_negative.items():
        if not value >= 0:
            raise ConfigError(f"{flag} must be zero or more, got {value}")
    for flag, value in {"--g-lr": c.optim.g_lr, "--d-lr": c.optim.d_lr}.items():
        if not value > 0:
            raise ConfigError(f"{flag} must be positive, got {value}")
    for flag, value in {"--beta1": c.optim.beta1, "--beta2": c.optim.beta2}.items():
        if not 0 <= value < 1:
            raise ConfigError(f"{flag} must be in [0, 1), got {value}")
    if c.data.max_side and c.data.max_side < crop:
        raise ConfigError(f"--max-side {c.data.max_side} is smaller than --crop-size {crop}")
    if c.model.init_from and c.model.arch != "texture":
        raise ConfigError(f"--init-from takes a texture model file; a {c.model.arch} run has no such generator")
    if c.model.arch == "texture":
        try:
            c.generator_config()
        except ValueError as exc:
            raise ConfigError(f"texture generator options: {exc}") from None


# ----- argparse, built from the dataclasses -------------------------------------------------------

def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _base_type(f) -> type:
    hint = typing.get_type_hints(_owner_of(f.name))[f.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = args[0]
    return hint


def _owner_of(name: str) -> type:
    for section in SECTIONS.values():
        if name in {f.name for f in fields(section)}:
            return section
    raise KeyError(name)


def _coerce(f, value):
    if value is None:
        return None
    kind = _base_type(f)
    if typing.get_origin(kind) is tuple:
        return tuple(int(v) for v in value)
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{f.name} must be true or false")
        return value
    return kind(value)


def _int_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got '{text}'") from None


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per dataclass field; defaults are SUPPRESSed so we know what the user set."""
    for name, section in SECTIONS.items():
        group = parser.add_argument_group(f"{name} options")
        for f in fields(section):
            kind = _base_type(f)
            default = f.default if f.default is not MISSING else None
            shown = "per arch" if default is None else (",".join(map(str, default)) if isinstance(default, tuple) else default)
            kwargs = dict(default=argparse.SUPPRESS, dest=f.name,
                          help=f"{f.metadata.get('help', '')} (default: {shown})")
            if kind is bool:
                kwargs["action"] = argparse.BooleanOptionalAction
            elif typing.get_origin(kind) is tuple:
                kwargs["type"] = _int_tuple
                kwargs["metavar"] = "N,N,…"
            else:
                kwargs["type"] = kind
                if "choices" in f.metadata:
                    kwargs["choices"] = f.metadata["choices"]
            group.add_argument(_flag(f.name), **kwargs)


def config_from_args(given: dict) -> TrainConfig:
    """Builds the (unresolved) config from the options the user gave; the rest keep defaults."""
    parts = {}
    for name, section in SECTIONS.items():
        values = {f.name: given[f.name] for f in fields(section) if f.name in given}
        parts[name] = section(**values)
    return TrainConfig(**parts)


def given_train_options(namespace: argparse.Namespace) -> dict:
    names = {f.name for section in SECTIONS.values() for f in fields(section)}
    return {k: v for k, v in vars(namespace).items() if k in names}


def save_config(config: TrainConfig, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


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
