"""One training step, piece by piece: what D sees, a D step, a G step, the EMA update, and the
checkpoint every process takes part in. The loop (trainer/loop.py) calls these in order.

Every random draw here comes from torch's global RNG or the crop sampler, in a fixed order,
and both are saved in checkpoints: that order is what makes a resumed run bit-exact on the CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch

from . import augment as aug
from . import distributed as ddp
from .archs import Arch
from .checkpoint import rng_state, save_checkpoint
from .config import TrainConfig, flag
from .errors import NonFiniteLossError
from .losses import LOSSES, gradient_penalty, r1_penalty
from .run_folder import CHECKPOINT_NAME
from .state import TrainState, step_on_disk


@dataclass(frozen=True)
class Setup:
    """What the steps need that stays fixed for the whole run."""

    config: TrainConfig
    arch: Arch
    device: torch.device
    info: ddp.DistInfo
    run_dir: Path

    @property
    def fast(self) -> bool:
        """bfloat16 autocast and channels-last: CUDA only."""
        return self.device.type == "cuda" and self.config.run.amp

    @property
    def layout(self) -> torch.memory_format:
        return torch.channels_last if self.fast else torch.contiguous_format

    def autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16) if self.fast else nullcontext()

    @property
    def per_rank(self) -> int:
        return self.config.optim.batch // self.info.world_size

    @property
    def losses(self) -> tuple[Callable, Callable]:
        return LOSSES[self.config.loss.loss]


def for_d(s: Setup, real: torch.Tensor | None, fake: torch.Tensor, p: float = 1.0
          ) -> tuple[torch.Tensor | None, torch.Tensor]:
    """What D sees: the shared wrap-around seam shift, then independent augmentations, each applied
    to an image with probability p (trainer/adaptive_augment.py)."""
    policy = s.config.augment_list()
    if s.config.augment.seam_shift:
        if real is None:  # G step: the fake alone gets a shift from the same distribution
            fake = aug.seam_shift(fake, fake)[1]
        else:
            real, fake = aug.seam_shift(real, fake)
    if policy:
        fake = aug.augment(fake, policy, p)
        real = aug.augment(real, policy, p) if real is not None else None
    return real, fake


def d_step(s: Setup, t: TrainState, k: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The k-th D step of this training step: real crops vs. detached fakes, with R1 every
    r1_every D steps (scaled by r1_every) and the WGAN gradient penalty. Returns (loss, r1)."""
    c = s.config.loss
    t.G.requires_grad_(False)
    t.D.requires_grad_(True)
    real = t.sampler.sample(s.per_rank).to(s.device, memory_format=s.layout)  # (n, 3, crop, crop) in [-1, 1]
    z = s.arch.sample_latents(s.per_rank).to(s.device)
    do_r1 = c.r1_gamma > 0 and (t.step * c.d_steps + k) % c.r1_every == 0
    r1 = None
    with s.autocast():
        with torch.no_grad():
            fake = s.arch.fake_batch(t.G, z)
        real_in, fake_in = for_d(s, real, fake, t.augment.probability)
        real_in = real_in.detach().requires_grad_(do_r1)
        real_logits, fake_logits = t.D(real_in), t.D(fake_in)
        t.augment.observe(real_logits, s.info, s.device)
        d_loss = s.losses[0](real_logits.float(), fake_logits.float())
        total = d_loss
        if do_r1:
            r1 = r1_penalty(real_logits, real_in)
            total = total + r1 * (c.r1_gamma / 2 * c.r1_every)
        if c.loss == "wgan-gp":
            total = total + c.gp_weight * gradient_penalty(t.D, real_in.detach(), fake_in.detach())
    check_finite(s, t, "discriminator", total)
    t.opt_D.zero_grad(set_to_none=True)
    total.backward()
    ddp.average_gradients(t.D, s.info)
    t.opt_D.step()
    return d_loss, r1


def g_step(s: Setup, t: TrainState) -> torch.Tensor:
    """One G step: fool the frozen D with fresh fakes. Returns the loss."""
    t.G.requires_grad_(True)
    t.D.requires_grad_(False)
    z = s.arch.sample_latents(s.per_rank).to(s.device)
    with s.autocast():
        _, fake_in = for_d(s, None, s.arch.fake_batch(t.G, z), t.augment.probability)
        g_loss = s.losses[1](t.D(fake_in).float())
    check_finite(s, t, "generator", g_loss)
    t.opt_G.zero_grad(set_to_none=True)
    g_loss.backward()
    ddp.average_gradients(t.G, s.info)
    t.opt_G.step()
    return g_loss


@torch.no_grad()
def update_ema(g_ema: torch.nn.Module, g: torch.nn.Module, ema_kimg: float, batch: int, images_seen: int) -> None:
    """G_ema ← lerp toward G with a half-life of ema_kimg thousand images, ramped up over the
    first 20× that many images (StyleGAN2-ADA) so early, bad weights fade quickly."""
    if ema_kimg <= 0:
        g_ema.load_state_dict(g.state_dict())
        return
    half_life = min(ema_kimg * 1000, images_seen * 0.05)
    beta = 0.5 ** (batch / max(half_life, 1e-8))
    for p_ema, p in zip(g_ema.parameters(), g.parameters()):
        p_ema.copy_(p.detach().lerp(p_ema, beta))
    for b_ema, b in zip(g_ema.buffers(), g.buffers()):
        b_ema.copy_(b)


def check_finite(s: Setup, t: TrainState, name: str, value: torch.Tensor) -> None:
    """Stops every process, before the optimiser step, if a loss is NaN or infinite anywhere."""
    bad = not bool(torch.isfinite(value).all())
    if ddp.any_rank(bad, s.info, s.device):
        what = "NaN" if bool(torch.isnan(value).any()) else "infinite" if bad else "non-finite on another process"
        raise NonFiniteLossError(
            f"the {name} loss became {what} at step {t.step + 1}; training stopped. "
            f"The last good checkpoint in {s.run_dir} is untouched (step {step_on_disk(s.run_dir / CHECKPOINT_NAME)}). "
            f"Lower the learning rates ({flag('g_lr')}/{flag('d_lr')}), raise {flag('r1_gamma')}, or try {flag('loss')} hinge.")


def checkpoint(s: Setup, t: TrainState) -> None:
    """Gathers every rank's RNG states (so a DDP resume is exact too); rank 0 writes."""
    rngs = ddp.gather_objects(rng_state(), s.info)
    samplers = ddp.gather_objects(t.sampler.state(), s.info)
    for name, module in (("generator", t.G), ("discriminator", t.D)):  # identical on all ranks
        if not all(bool(torch.isfinite(p).all()) for p in module.parameters()):
            raise NonFiniteLossError(f"the {name}'s weights are no longer finite at step {t.step}; the last good "
                                     f"checkpoint (step {step_on_disk(s.run_dir / CHECKPOINT_NAME)}) is untouched")
    if s.info.is_main:
        save_checkpoint(s.run_dir / CHECKPOINT_NAME, t.state_dict(s.config, rngs, samplers))
