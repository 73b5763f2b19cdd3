"""How much a model uses its plane waves (blender_ganart/core/periodic.py): the size of each wave
parameter, beside the features PixelNorm holds near 1.

    .venv/bin/python scripts/wave_weights.py MODEL.ganart.pt [MODEL ...]

A wave whose per-channel weights stay near zero changes nothing in the texture: the waves start
at zero, so this is how to tell whether a run learned to use them. No torch needed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blender_ganart.core.model_reader import read_model  # noqa: E402
from blender_ganart.core.periodic import is_wave_parameter  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in args.models:
        model = read_model(path)
        waves = {name: w for name, w in model.weights.items() if is_wave_parameter(name)}
        print(f"== {path.name}: {model.config.periodic_dim} plane waves")
        for name, w in waves.items():
            print(f"{name:32s} shape {str(w.shape):10s} mean |w| {np.abs(w).mean():.4f}  max |w| {np.abs(w).max():.4f}")
        if waves:
            k = waves["waves.bias"].reshape(-1, 2)
            print("wave vectors of the average code (rows, columns; cycles per 32 px cell):",
                  ", ".join(f"({r:+.2f}, {c:+.2f})" for r, c in k))
    return 0


if __name__ == "__main__":
    sys.exit(main())
