"""Whether a model's straight lines sit on its latent cells: lines locked to the cell grid are a
lattice even where a texture's own lines are regular.

    .venv/bin/python scripts/cell_locked_lines.py MODEL.ganart.pt [MODEL ...] [--seeds 16]

A spectral lattice score cannot tell evenly spaced planks or brick courses from a grid: both peak
at the cell's period when their spacing is near it. What tells them apart is where the lines
fall. Free lines start anywhere, so across seeds the phase of their period is random; lines
locked to the cell start at the same rows in every seed. For each period the cell divides (32,
16 and 32/3 px at the default 32 px cell), along rows and along columns, this prints in how many
seeds the brightness profile peaks there (5× its neighbours or more) and the coherence of those
seeds' phases (|mean of unit phasors|: 1 = the same rows every time; n random phases give about
1/√n).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blender_ganart.core.model_file import load_model  # noqa: E402
from blender_ganart.core.synthesis import SynthesisOptions, synthesize  # noqa: E402

SIZE = 512
PEAK = 5.0  # a period's power over its neighbours' that counts as a line spacing


def period_peaks(profile: np.ndarray, periods: list[float]) -> list[tuple[float, complex]]:
    """(power over the mean of the bins 2-4 away, Fourier coefficient) of a profile at each period."""
    spectrum = np.fft.rfft(profile - profile.mean())
    power = np.abs(spectrum) ** 2
    found = []
    for period in periods:
        b = round(len(profile) / period)
        around = np.r_[power[b - 4 : b - 1], power[b + 2 : b + 5]].mean()
        found.append((float(power[b] / max(around, 1e-12)), complex(spectrum[b])))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--seeds", type=int, default=16, help="textures of seeds 0..N-1, 512 px, not tileable")
    args = parser.parse_args(argv)
    for path in args.models:
        model = load_model(path)
        cell = model.config.upsampling
        periods = [cell, cell / 2, cell / 3]
        found = {axis: [] for axis in ("rows", "columns")}
        for seed in range(args.seeds):
            texture = synthesize(model, SynthesisOptions(seed, SIZE, SIZE, tileable=False))
            grey = np.asarray(texture)[..., :3].mean(axis=2)
            found["rows"].append(period_peaks(grey.mean(axis=1), periods))  # level lines: brightness per row
            found["columns"].append(period_peaks(grey.mean(axis=0), periods))
        print(f"== {path.name}: {args.seeds} seeds, {SIZE} px, cell {cell} px")
        for axis, per_seed in found.items():
            for index, period in enumerate(periods):
                seeds = [seed for seed, found_at in enumerate(per_seed) if found_at[index][0] >= PEAK]
                peaks = [per_seed[seed][index] for seed in seeds]
                coherence = abs(np.mean([c / abs(c) for _, c in peaks])) if peaks else float("nan")
                print(f"lines along {axis:7s} every {period:5.2f} px: a peak in {len(peaks):2d} seeds, phase "
                      f"coherence {coherence:.2f} (random: about {1 / np.sqrt(max(len(peaks), 1)):.2f})"
                      f"{'; seeds ' + ' '.join(map(str, seeds)) if seeds else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
