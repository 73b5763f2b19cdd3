"""How far the quality report's real-vs-real floors move with the draw of real crops.

Every ratio the report prints (trainer/quality.py) is a generator's SWD over a floor: the SWD
between two draws of real crops. On a set of mixed sub-styles (metal: plate, rust, paint, panels)
128 crops of 256 px are a small sample of the 4× structure: one draw gave metal a 4× floor of
34.1 and another 73.9. So the report averages both the floors and the generator's SWDs over
REPORT_DRAWS draws; this prints each draw's floors (draw k is draw k of the report's) and their
mean, the floor the report divides by, so the uncertainty left in a ratio is measured rather
than guessed.

    .venv/bin/python benchmarks/floor_spread.py --data data/metal --draws 8
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from trainer.map_sets import load_training_images  # noqa: E402
from trainer.quality import REPORT_CROP, REPORT_DRAWS, real_scales  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT / "data" / "metal"), help="texture folder (default data/metal)")
    parser.add_argument("--draws", type=int, default=REPORT_DRAWS,
                        help=f"draws of real crops (default {REPORT_DRAWS}, as many as the report averages)")
    parser.add_argument("--crops", type=int, default=128, help="crops per side of each floor (128, as model_report.py)")
    parser.add_argument("--crop", type=int, default=REPORT_CROP)
    parser.add_argument("--no-rot90", action="store_true", help="as the report does for directional families (wood, bricks)")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    images = load_training_images(args.data, ("colour",), args.crop)  # as model_report.py reads a colour model's data
    print(f"data: {images.describe()} from {args.data}; {args.crops} vs {args.crops} crops per floor")
    print(f"{'draw':>11} {'full floor':>11} {'4x floor':>9} {'colour floor':>13}")
    scales = real_scales(images, args.crop, args.crops, rot90=not args.no_rot90, draws=args.draws)
    full, coarse = list(scales.full_floors), list(scales.coarse_floors)
    for draw, (full_floor, colour_floor) in enumerate(zip(full, scales.colour_floors)):
        coarse_text = f"{coarse[draw]:.1f}" if coarse else "n/a"
        print(f"{draw:11d} {full_floor:11.1f} {coarse_text:>9} {colour_floor:13.2f}")
    for name, values in (("full density", full), ("4x downscale", coarse)):
        if values:
            mean = statistics.mean(values)
            error = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else float("nan")
            print(f"{name}: mean {mean:.1f} (standard error {error:.1f}, {100 * error / mean:.0f} %), median "
                  f"{statistics.median(values):.1f}, {min(values):.1f}-{max(values):.1f}, largest / smallest "
                  f"{max(values) / min(values):.2f}; draw 0 alone (the report's floor before it averaged) "
                  f"{values[0] / mean:.2f}x the mean")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
