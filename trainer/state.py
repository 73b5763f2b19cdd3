"""The training state: what a checkpoint holds and a resume restores, and the only place that
spells the checkpoint payload's keys (`runs` reads a finished run through the functions below).

The payload is plain data (trainer/checkpoint.py loads it with weights_only=True):
    config       the resolved options, as TrainConfig.to_dict()
    step, images_seen, elapsed_s
    G, D, G_ema  state dicts on the CPU
    opt_G, opt_D optimiser state dicts
    rng, sampler one entry per process (rank order): global RNG states, crop-sampler RNG states
    augment      the adaptive augmentation's p and its partial count (trainer/adaptive_augment.py;
                 absent from checkpoints written before it: those runs augmented every image)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .adaptive_augment import AugmentStrength
from .checkpoint import load_checkpoint
from .config import TrainConfig
from .data import CropSampler


@dataclass
class TrainState:
    G: nn.Module
    D: nn.Module
    G_ema: nn.Module
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    sampler: CropSampler  # this process's crops
    augment: AugmentStrength  # how often D's augmentations apply
    step: int = 0
    images_seen: int = 0
    elapsed_s: float = 0.0  # training time, over every session of the run

    def state_dict(self, config: TrainConfig, rngs: list, samplers: list) -> dict:
        """The checkpoint payload; rngs and samplers hold every process's states, in rank order."""
        return {
            "config": config.to_dict(), "step": self.step, "images_seen": self.images_seen, "elapsed_s": self.elapsed_s,
            "G": cpu_state(self.G.state_dict()), "D": cpu_state(self.D.state_dict()), "G_ema": cpu_state(self.G_ema.state_dict()),
            "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict(), "rng": rngs, "sampler": samplers,
            "augment": self.augment.state_dict(),
        }

    def load_state_dict(self, payload: dict) -> None:
        """Weights, optimisers and counters (the RNG streams are per process: `saved_streams`)."""
        self.G.load_state_dict(payload["G"])
        self.D.load_state_dict(payload["D"])
        self.G_ema.load_state_dict(payload["G_ema"])
        self.opt_G.load_state_dict(payload["opt_G"])
        self.opt_D.load_state_dict(payload["opt_D"])
        self.step, self.images_seen, self.elapsed_s = payload["step"], payload["images_seen"], payload["elapsed_s"]
        # A checkpoint from before adaptive augmentation: that run augmented every image (p = 1).
        self.augment.load_state_dict(payload.get("augment", AugmentStrength(target=0.0, kimg=1.0).state_dict()))

    def set_learning_rates(self, g_lr: float, d_lr: float) -> None:
        """A resume may change them (lowering them is how a diverged run continues); a group
        with an `lr_gain` (loop.generator_groups) keeps its multiple."""
        for opt, lr in ((self.opt_G, g_lr), (self.opt_D, d_lr)):
            for group in opt.param_groups:
                group["lr"] = lr * group.get("lr_gain", 1.0)


def cpu_state(state: dict) -> dict:
    """A state dict's tensors detached and on the CPU, as checkpoints store them."""
    return {k: v.detach().cpu().contiguous() for k, v in state.items()}


def saved_streams(payload: dict) -> tuple[list, list]:
    """(global RNG states, crop-sampler states), one per process that wrote the checkpoint."""
    return payload["rng"], payload["sampler"]


def saved_config(payload: dict) -> TrainConfig:
    return TrainConfig.from_dict(payload["config"])


def saved_step(payload: dict) -> int:
    return int(payload["step"])


def saved_generator(payload: dict, use_ema: bool = True) -> dict:
    """The state dict of the EMA generator, or of the raw one."""
    return payload["G_ema" if use_ema else "G"]


def saved_discriminator(payload: dict) -> dict:
    return payload["D"]


def step_on_disk(path: Path) -> str:
    """The step of the checkpoint at `path`, for messages ("none written yet" if there is none)."""
    if not path.exists():
        return "none written yet"
    try:
        return str(saved_step(load_checkpoint(path)))
    except Exception as exc:  # only for a message; the real error surfaces elsewhere
        return f"unreadable: {exc}"
