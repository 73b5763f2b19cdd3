"""Plane waves held level (`--periodic-axis rows`): wave vectors down the image only.

Brick courses are laid level. With free wave vectors, a Bricks trial from the 0.8 run (session
14) used its waves, but at slants: the seed's global code sets each wave's direction, and a 64 px
discriminator cannot tell a course that drifts a few pixels over 256 px from a level one. Held to
k = (rows, 0), every wave is a set of level stripes across the whole texture, so a course tied to
one stays level however far the texture reaches.

The hold lives in the weights, not the model file's format: the column components of the learned
map from the global code to the wave vectors (`waves.weight` and `waves.bias` rows 1, 3, 5, …)
are zero and their gradients are masked, so Adam never moves them (a zero gradient from the first
step leaves its moments at zero). Every add-on that reads plane waves computes k's column part as
exactly 0 from such a file: nothing downstream needs to know.
"""

from __future__ import annotations

import torch
from torch import nn


def column_rows(waves: nn.Linear) -> slice:
    """The output rows of the code → wave vector map that give the column components:
    the map's (2P) outputs are viewed as (P, 2) (rows, columns) pairs."""
    return slice(1, waves.out_features, 2)


@torch.no_grad()
def hold_level(g: nn.Module) -> None:
    """Zeroes the column components of `g`'s wave map and keeps them at zero while it trains.
    Safe to call again (after a warm start overwrote the weights): the masks are set once."""
    waves = getattr(g, "waves", None)
    if waves is None:
        raise ValueError("level waves need a generator with plane waves")
    columns = column_rows(waves)
    for parameter in (waves.weight, waves.bias):
        parameter[columns] = 0.0
        if not getattr(parameter, "_held_level", False):
            mask = torch.ones_like(parameter)
            mask[columns] = 0.0
            parameter.register_hook(lambda grad, mask=mask: grad * mask.to(grad.device))
            parameter._held_level = True
