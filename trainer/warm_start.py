"""Starting a texture run from trained weights (`--init-from`): a model file gives the generator,
a run folder gives the generator and its discriminator.

A model file is the add-on's export: the EMA generator with its batch norms folded into the
convs. The new run's batch norms start fresh, and its discriminator does too: that D learns the
generator's faults first, and its first large gradients may redraw what the generator knew.
Starting Bricks (material) from the bundled Bricks that way lost the bricks by step 500.

A run folder's checkpoint holds the pair as it trained: G with its batch norms, and the D that
was balanced against it. A colour run may start a full-material run: G's colour output rows are
copied (the relief rows start fresh), and D's first conv keeps its colour weights while its
weights on the relief channels start at zero, so at step 0 it judges exactly as it did and learns
the relief from there instead of from scratch.

A run judged by one discriminator may start a run judged at two scales (trainer/two_scale.py,
--d-context-scale): the old D becomes both branches. The detail branch judges full-density
windows of the size it was trained on, so the generator keeps its texture. The context branch
judges the downscaled crop, which for a texture is still the same kind of texture at a smaller
texel size, so the old D is a fair judge of it from step 0. A fresh context branch gives the
generator random gradients at first: in a Bricks trial with one (256 px crops, 4× context), the
run's own SWD ratio at full density went from 1.93 to 4.02 in 500 steps and the samples lost
their range of colours. That is how a CPU recipe's model at 64 px crops goes on to learn the brick
courses and planks a 64 px D never sees whole.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from blender_ganart.core.model_maps import MAP_CHANNELS
from blender_ganart.core.network import GeneratorConfig
from blender_ganart.core.periodic import is_wave_parameter

from .checkpoint import load_checkpoint
from .config import flag
from .errors import CheckpointError, ConfigError
from .run_folder import CHECKPOINT_NAME
from .state import saved_discriminator, saved_generator

COLOUR = MAP_CHANNELS["colour"]  # a colour model's channels: the first of every full-material model
_SHAPE = ("widths", "extra_convs", "local_dim", "global_dim", "out_channels")


@torch.no_grad()
def from_model_file(g: nn.Module, mine: GeneratorConfig, path: str) -> None:
    """Copies a model file's weights into a new generator `g` (its batch norms start fresh).

    A file from before pixel noise or bilinear upsampling is fine: its noise strengths start at
    zero and its convs adapt to the new upsampling; so is one without plane waves for a run with
    --periodic-dim: the waves' weights start at zero, the texture as it was.
    """
    from blender_ganart.core.errors import ModelFileError
    from blender_ganart.core.model_file import load_model

    try:
        source = load_model(path).generator
    except ModelFileError as exc:
        raise ConfigError(f"{flag('init_from')}: {exc}") from None
    theirs = source.config
    colour_start = theirs.out_channels == COLOUR and mine.out_channels > COLOUR
    if any(getattr(mine, name) != getattr(theirs, name) for name in _SHAPE
           if not (colour_start and name == "out_channels")):
        raise ConfigError(f"{flag('init_from')}: {path} has another architecture ("
                          + ", ".join(f"{n} {getattr(theirs, n)}" for n in _SHAPE)
                          + "); give the run the same " + ", ".join(map(flag, ("g_widths", "g_extra_convs", "local_dim", "global_dim"))))
    # A file with plane waves into a run with other waves (or none) would lose them silently,
    # and the texture with them; a file without waves may start a run with some (zero weights).
    if theirs.periodic_dim and mine.periodic_dim != theirs.periodic_dim:
        raise ConfigError(f"{flag('init_from')}: {path} draws {theirs.periodic_dim} plane waves; give the run "
                          f"{flag('periodic_dim')} {theirs.periodic_dim} (it has {mine.periodic_dim}) to keep them")
    own = g.state_dict()
    own.update({k: v for k, v in source.state_dict().items() if k in own and own[k].shape == v.shape})
    if colour_start:
        for name in ("to_output.weight", "to_output.bias"):
            own[name][:COLOUR] = source.state_dict()[name]
    g.load_state_dict(own)


@torch.no_grad()
def from_run_folder(g: nn.Module, d: nn.Module, run: Path) -> None:
    """Copies a run's last checkpoint (its raw G and its D) into a new run's networks, which must
    have the same shapes but for the colour → full-material channels."""
    try:
        payload = load_checkpoint(run / CHECKPOINT_NAME)
    except CheckpointError as exc:
        raise ConfigError(f"{flag('init_from')}: {exc}") from None
    # G's output channels are its first dim (output rows); D's input channels its first conv's second.
    g.load_state_dict(_widened(g.state_dict(), saved_generator(payload, use_ema=False), 0, run, "generator"))
    own_d, their_d = d.state_dict(), saved_discriminator(payload)
    if _two_scale(own_d) and not _two_scale(their_d):  # one D → both branches
        their_d = {f"{branch}{key}": value for branch in (DETAIL, CONTEXT) for key, value in their_d.items()}
    d.load_state_dict(_widened(own_d, their_d, 1, run, "discriminator"))


DETAIL, CONTEXT = "detail.", "context."  # TwoScaleDiscriminator's branches, as its state dict names them


def _two_scale(state: dict) -> bool:
    """Whether a discriminator's state dict is a TwoScaleDiscriminator's."""
    return any(key.startswith(CONTEXT) for key in state)


def _widened(own: dict, theirs: dict, channel_dim: int, run: Path, name: str) -> dict:
    """`theirs` in the shapes of `own`: a tensor whose `channel_dim` holds colour in `theirs` and
    more channels in `own` gets the colour slice; the rest keeps `own`'s values (G: its fresh
    output rows) or, for a D's input weights, zero. Plane waves a run without them lacks keep
    `own`'s zero weights (the texture as it was). Anything else that differs is refused."""
    missing = sorted(k for k in own.keys() - theirs.keys() if not is_wave_parameter(k))
    dropped = sorted(theirs.keys() - own.keys())  # e.g. its plane waves, which this run would lose
    wrong = [k for k in own.keys() & theirs.keys() if own[k].shape != theirs[k].shape
             and not _widens_colour(theirs[k].shape, own[k].shape, channel_dim)]
    if missing or dropped or wrong:
        listed = ", ".join((missing + dropped + sorted(wrong))[:4])
        raise ConfigError(f"{flag('init_from')}: the {name} of the run {run} has another architecture ({listed}); "
                          f"start the run with the options that run was trained with (its config.json)")
    out = {}
    for key, value in own.items():
        source = theirs.get(key)
        if source is None:  # a plane wave's parameter
            out[key] = value
            continue
        if value.shape == source.shape:
            out[key] = source
            continue
        widened = value.clone() if channel_dim == 0 else torch.zeros_like(value)
        widened.narrow(channel_dim, 0, COLOUR).copy_(source)
        out[key] = widened
    return out


def _widens_colour(theirs: torch.Size, mine: torch.Size, channel_dim: int) -> bool:
    """Whether `mine` is `theirs` with more than colour's channels along `channel_dim`."""
    return (len(theirs) == len(mine) > channel_dim and theirs[channel_dim] == COLOUR < mine[channel_dim]
            and all(a == b for i, (a, b) in enumerate(zip(theirs, mine)) if i != channel_dim))
