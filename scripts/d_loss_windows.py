"""How far ahead a run's discriminator is, window by window: the mean, lowest and highest of the D
loss its metrics.jsonl logged, and the adaptive augmentation's p where the run had one.

The logistic D loss sits at 2 ln 2 ≈ 1.386 when D cannot tell the crops apart and falls towards 0
as it wins. Set beside each other, runs that differ in one thing show which input gives D its lead:
on Ground (material)'s 17 sets, colour alone held D near 1.3 for 1000 steps where colour with
normals let it fall to 0.25 (docs/model_history.md).

    .venv/bin/python scripts/d_loss_windows.py runs/s31/ground-colour-only runs/s31/ground-normal-only --window 500
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

BALANCED = 2 * math.log(2)


def loss_records(run: Path) -> list[dict]:
    """The run's training lines (those with a D loss), in step order."""
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [record for record in map(json.loads, lines) if "d_loss" in record]


def windows(records: list[dict], window: int, up_to: int) -> list[tuple[int, int, list[dict]]]:
    """(first step, last step, records) for steps 1..window, window+1..2·window, … up to `up_to`."""
    out = []
    for start in range(0, up_to, window):
        inside = [r for r in records if start < r["step"] <= min(start + window, up_to)]
        if inside:
            out.append((inside[0]["step"], inside[-1]["step"], inside))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (each with its metrics.jsonl)")
    parser.add_argument("--window", type=int, default=500, help="steps per window")
    parser.add_argument("--up-to", type=int, default=0, help="last step to read (0: every step logged)")
    args = parser.parse_args(argv)
    print(f"logged D loss per window (balanced: 2 ln 2 = {BALANCED:.3f})")
    print(f"{'run':40s} {'steps':>11s} {'mean':>7s} {'lowest':>7s} {'highest':>7s} {'augment p':>9s}")
    for run in args.runs:
        records = loss_records(run)
        up_to = args.up_to or (records[-1]["step"] if records else 0)
        for first, last, inside in windows(records, args.window, up_to):
            losses = [r["d_loss"] for r in inside]
            p = f"{inside[-1]['augment_p']:.2f}" if "augment_p" in inside[-1] else ""
            print(f"{str(run):40s} {f'{first}-{last}':>11s} {sum(losses) / len(losses):7.3f} {min(losses):7.3f} "
                  f"{max(losses):7.3f} {p:>9s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
