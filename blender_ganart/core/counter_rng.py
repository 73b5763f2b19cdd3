"""Random numbers as a pure function of (key, row, column): the same values in every process, on
every device and in both runtimes, and for any window of a plane.

A framework's RNG draws a stream: its n-th number depends on how many were drawn before, so a
texture's noise would depend on the order tiles were made in, and torch and NumPy would need the
same generator. A counter-based generator has no stream: each value is SplitMix64's finaliser of
the key plus the value's position times the golden-ratio increment (Steele et al., 2014), computed
with NumPy's wrapping uint64 arithmetic. NumPy only: the add-on's NumPy runtime and the PyTorch
path both draw from here.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_SQRT3 = np.float32(np.sqrt(3.0))


def hashed_bits(key: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(len(rows), len(cols)) uint64: independent random bits for each (row, column) of a plane.

    Rows and columns are absolute integer coordinates and may be negative (two's complement to
    32 bits each); the key selects an independent plane.
    """
    r = (np.asarray(rows, dtype=np.int64).astype(np.uint64) << np.uint64(32))[:, None]
    c = (np.asarray(cols, dtype=np.int64).astype(np.uint64) & _LOW32)[None, :]
    z = r | c
    z *= _GOLDEN
    z += np.uint64(key & 0xFFFFFFFFFFFFFFFF)
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


def uniform_noise(key: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """float32 noise, uniform on [-√3, √3) (mean 0, variance 1), exactly the same on every machine.

    24 random bits make a float32 exactly, and the scaling is one rounding of float32 products, so
    no maths library (whose last bit varies between builds) is involved.
    """
    bits = hashed_bits(key, rows, cols) >> np.uint64(40)
    out = bits.astype(np.float32)
    out *= np.float32(2.0**-23) * _SQRT3
    out -= _SQRT3
    return out


def normal_noise(key: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """float32 standard normal noise by the Box–Muller transform of the two 32-bit halves."""
    bits = hashed_bits(key, rows, cols)
    u1 = ((bits >> np.uint64(32)).astype(np.float64) + 0.5) * 2.0**-32  # in (0, 1): log is finite
    u2 = (bits & _LOW32).astype(np.float64) * 2.0**-32
    return (np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)).astype(np.float32)
