"""Pixel noise held at zero on chosen levels (`--g-quiet-levels`).

A generator's per-level noise is one map per level, added to every channel of the level with a
learned strength each (core/network.py), then mixed by PixelNorm and the output conv. At the
full-resolution level that one map feeds colour grain and relief alike: in Ground (material) 1.6
it turned the learned normal maps into speckle, pink and blue pixels where the data's normals are
clean surfaces. With its strengths set to zero and nothing retrained, the normal maps' SWD at the
finest pyramid level fell from 85.0 to 45.5 (floor 16.3; `scripts/normal_map_report.py --data
data/ground-maps --model FILE --without-noise 5`). A run that holds them at zero makes the
generator build that level's detail from the features above it; Ground (material) 1.8 was
trained so, and drew some of that fine detail back (finest level 81.0; docs/model_history.md).

Like level_waves.py the hold lives in the weights, not the file's format: the strengths are
zero and their gradients masked, so Adam never moves them (a zero gradient from the first step
leaves its moments at zero), and every add-on reads the file as a generator whose noise on those
levels adds nothing.
"""

from __future__ import annotations

import torch
from torch import nn


def noise_strengths(g: nn.Module, level: int) -> nn.Parameter:
    """The per-channel strength of `level`'s pixel noise (the first block of the level)."""
    block = g.levels[level][0]
    strength = getattr(block, "noise_weight", None)
    if strength is None:
        raise ValueError(f"level {level} of this generator has no pixel noise to hold at zero")
    return strength


@torch.no_grad()
def hold_quiet(g: nn.Module, levels: tuple[int, ...]) -> None:
    """Zeroes the noise strengths of `levels` and keeps them at zero while `g` trains. Safe to
    call again (after a warm start overwrote the weights): each gradient mask is set once."""
    for level in levels:
        strength = noise_strengths(g, level)
        strength.zero_()
        if not getattr(strength, "_held_quiet", False):
            strength.register_hook(torch.zeros_like)
            strength._held_quiet = True
