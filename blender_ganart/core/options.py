"""What decides a texture's pixels besides the model, as one validated dataclass, and every limit
on those options stated once.

The panel, the Generate operator (their Blender properties take their min/max from here), the
headless API, the trainer's samples and scripts all build a `SynthesisOptions`; building it is the
one check: a bad seed, size or amount raises one SynthesisOptionsError line, and an instance that
exists is valid, with plain Python types (the seed already a 64-bit integer). No NumPy here: the
add-on imports these limits when it registers, before anything has checked the environment.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from .errors import SynthesisOptionsError
from .seeds import user_seed

MIN_SIZE = 16  # pixels, each side
MAX_SIZE = 8192
MAX_AMOUNT = 4.0  # detail variation and truncation run from 0 to this
MAX_VARIATIONS = 16  # textures per press of Generate, from consecutive seeds


@dataclass(frozen=True)
class SynthesisOptions:
    """Everything besides the model that decides a texture's pixels (the device does not).

    seed: any integer 0 to 2⁶⁴−1 (NumPy's too) or any text (seeds.user_seed); stored as the int.
    width, height: pixels, MIN_SIZE to MAX_SIZE; any integer type, never a bool or a float.
    variation: scale of the local noise (0 = uniform detail, 1 = as trained), 0 to MAX_AMOUNT.
    truncation: pull of the global code toward the average texture (1 = none), 0 to MAX_AMOUNT.
    """

    seed: int = 0
    width: int = 1024
    height: int = 1024
    tileable: bool = True
    variation: float = 1.0
    truncation: float = 1.0

    def __post_init__(self) -> None:
        for name, value in (("seed", user_seed(self.seed)), ("width", _size("Width", self.width)),
                            ("height", _size("Height", self.height)), ("tileable", bool(self.tileable)),
                            ("variation", _amount("variation", self.variation)),
                            ("truncation", _amount("truncation", self.truncation))):
            object.__setattr__(self, name, value)  # frozen: the normalised value replaces the given one


def _size(label: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SynthesisOptionsError(f"{label} must be a whole number of pixels, got {value!r}.")
    if not MIN_SIZE <= value <= MAX_SIZE:
        raise SynthesisOptionsError(f"{label} {value} px is out of range: choose {MIN_SIZE} to {MAX_SIZE} pixels.")
    return int(value)


def _amount(name: str, value) -> float:
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise SynthesisOptionsError(f"{name} must be a number between 0 and {MAX_AMOUNT:g}, got {value!r}") from None
    if not math.isfinite(amount) or not 0.0 <= amount <= MAX_AMOUNT:
        raise SynthesisOptionsError(f"{name} must be between 0 and {MAX_AMOUNT:g}, got {value}")
    return amount
