"""Seeds a user types → 64-bit integers that mean the same thing in every process and on every device.

Python's `hash()` of a string changes per process (hash randomisation), so text seeds go through
SHA-256 instead. Integer seeds are used as they are, so "42" typed as a number or as text differ
only if the user writes something that is not an integer.
"""

from __future__ import annotations

import hashlib
import numbers

from .errors import SynthesisOptionsError

SEED_MAX = 2**64 - 1
_MASK = 2**64 - 1


def parse_seed(seed: int | str) -> int:
    """Any integer in [0, 2⁶⁴) (NumPy's too) or any text → the canonical 64-bit seed.

    Only ASCII digits read as a number: "²" or "①" pass `str.isdigit()` but not `int()`, so
    they are text like any other and hash to a seed.
    """
    if isinstance(seed, bool):
        raise TypeError("a seed is an integer or a text, not a bool")
    if isinstance(seed, numbers.Integral):
        if not 0 <= seed <= SEED_MAX:
            raise ValueError(f"an integer seed must be between 0 and {SEED_MAX}, got {seed}")
        return int(seed)
    if isinstance(seed, str):
        text = seed.strip()
        if text.isascii() and text.isdigit() and int(text) <= SEED_MAX:
            return int(text)
        digest = hashlib.sha256(seed.encode("utf-8", errors="surrogatepass")).digest()
        return int.from_bytes(digest[:8], "little")
    raise TypeError(f"a seed is an integer or a text, got {type(seed).__name__}")


def user_seed(seed: object) -> int:
    """parse_seed for what a user or script typed: a bad seed is one SynthesisOptionsError line."""
    try:
        return parse_seed(seed)
    except (TypeError, ValueError) as exc:
        raise SynthesisOptionsError(f"Seed: {exc}.") from None


def mix(*values: int) -> int:
    """A stable 64-bit mix of integers (SplitMix64 finaliser over a running state).

    Used to derive independent streams (the global code, each chunk of local noise) from one
    user seed without the streams overlapping.
    """
    state = 0x9E3779B97F4A7C15
    for value in values:
        state = (state ^ (value & _MASK)) & _MASK
        state = (state + 0x9E3779B97F4A7C15) & _MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        state = z ^ (z >> 31)
    return state
