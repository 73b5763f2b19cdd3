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

from pathlib import Path

import torch
from torch import nn

from blender_ganart.core.model_file import load_model, save_model

from .errors import ConfigError


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


def quiet_model_file(source: str | Path, out: str | Path, levels: tuple[int, ...]) -> Path:
    """`python -m trainer quiet`: a copy of a model file with `levels`' noise strengths at zero and
    every other weight as it was (float16 in, float16 out: the same values), the card's command
    telling what was done. What `--g-quiet-levels` trains toward, without training, to see what a
    level's noise does: on Rock (material) 1.7 it took the normal maps' finest-level SWD from 53.5 to
    27.0 (floor 19.4) but the colour from 2.05 / 2.22 to 2.85 / 2.99 x floor (colour distance 10.6 ->
    12.9, `scripts/model_report.py`): the colour leans on that noise, so the hold belongs in training."""
    loaded = load_model(source)
    with torch.no_grad():
        for level in levels:
            try:
                noise_strengths(loaded.generator, level).zero_()
            except (ValueError, IndexError):
                raise ConfigError(f"{source} has no pixel noise on level {level} (its levels with noise: "
                                  f"{', '.join(map(str, noisy_levels(loaded.generator)))})") from None
    card = loaded.card
    card.training_command += f" ; then level {','.join(map(str, levels))}'s pixel noise set to zero (python -m trainer quiet)"
    save_model(out, loaded.generator, card, half=True)
    return Path(out)


def noisy_levels(g: nn.Module) -> list[int]:
    return [i for i, level in enumerate(g.levels) if getattr(level[0], "noise_weight", None) is not None]
