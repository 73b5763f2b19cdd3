"""How far a run's keep-best can be trusted: the in-run measure (trainer/run_measure.py) of the
generator a run kept and of its last one, on the latents the run ranked its steps on and on other
draws of latents, beside the floors the quality report divides by.

A run ranks its steps on one fixed set of latents against one draw of real crops (RUN_DRAWS;
more with --metrics-draws), so the step it keeps is the best of some thirty evaluations on those
latents: part of its lead can belong to them, not to the generator, and a floor drawn once can sit
far from the report's mean over eight draws, which weighs the two scales unevenly in the sum
keep-best ranks by. Where the kept generator's figures on other latents stand well above those
on the run's own, its rank was luck; `trainer eval RUN` (or `--last`) gives the report's verdict
(docs/model_history.md, Ground (material)'s 65-minute trial).

    .venv/bin/python scripts/keep_best_spread.py runs/s29/bundled-ground-maps --draws 2
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer.map_sets import load_training_images  # noqa: E402
from trainer.quality import COARSE, REPORT_CROP, real_scales  # noqa: E402
from trainer.run_measure import EVAL_SEED, RunMeasure  # noqa: E402
from trainer.runs import LoadedRun, load_run  # noqa: E402

RATIOS = ("full_ratio", "coarse_ratio", "normal_ratio")


@dataclass
class SpreadRow:
    generator: str  # "kept (step N)" or "last (step N)"
    latents: str  # "the run's" or "draw K"
    ratios: dict[str, float]  # those of RATIOS the run measures


def latent_seeds(draws: int) -> list[int]:
    """The run's own latents first, then other draws' (each call of the measure takes its seed
    and the next one, so other draws step by two)."""
    return [EVAL_SEED] + [EVAL_SEED + 2 * k for k in range(1, draws + 1)]


def spread(run_dir: Path, draws: int = 2, device: str = "cpu") -> tuple[list[SpreadRow], dict[str, float]]:
    """The rows above for the kept and the last generator, and the floors: the run's (over its
    --metrics-draws draws of real crops, one by default) and the report's (the mean over its eight)."""
    last = load_run(run_dir)
    c = last.config
    images = load_training_images(c.data.data, c.map_list(), c.data.crop_size, c.data.max_side,
                                  warn=lambda m: None, orient=c.data.orient)
    measure = RunMeasure(last.arch, images, c.run.metrics_images, c.data.flips, c.data.rot90,
                         c.run.facing_at_least, c.run.metrics_draws)
    kept = load_run(run_dir, best=True)
    generators: list[tuple[str, LoadedRun]] = [(f"kept (step {kept.step})", kept)] if "best" in kept.info else []
    generators.append((f"last (step {last.step})", last))
    rows = []
    for name, run in generators:
        for k, seed in enumerate(latent_seeds(draws)):
            record = measure(run.generator, torch.device(device), latents_seed=seed)
            rows.append(SpreadRow(name, "the run's" if k == 0 else f"draw {k}",
                                  {key: record[key] for key in RATIOS if key in record}))
    full_crop = min(REPORT_CROP, c.data.crop_size)
    report = real_scales(images, full_crop, c.run.metrics_images, flips=c.data.flips, rot90=c.data.rot90,
                         coarse=last.arch.makes_crops_of(COARSE * full_crop))
    floors = {"run full": measure.scales.full_floor, "report full": report.full_floor}
    if report.coarse_floor is not None:
        floors.update({"run 4x": measure.scales.coarse_floor, "report 4x": report.coarse_floor})
    return rows, floors


def format_rows(rows: list[SpreadRow], floors: dict[str, float]) -> str:
    keys = [key for key in RATIOS if any(key in row.ratios for row in rows)]
    heads = {"full_ratio": "full", "coarse_ratio": "4x down", "normal_ratio": "normals"}
    lines = [f"{'generator':<20} {'latents':<10} " + " ".join(f"{heads[k]:>8}" for k in keys)]
    for row in rows:
        lines.append(f"{row.generator:<20} {row.latents:<10} " + " ".join(f"{row.ratios[k]:8.2f}" for k in keys))
    lines.append("SWD ×10³ floors: " + ", ".join(f"{name} {value:.2f}" for name, value in floors.items())
                 + " (the run's: over its --metrics-draws draws of real crops, one unless asked; the report's:"
                 " the mean over its eight)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a run folder (its checkpoint, and best.pt if it kept one)")
    parser.add_argument("--draws", type=int, default=2, help="other draws of latents beside the run's own")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if args.draws < 0:
        parser.error("--draws must be 0 or more")
    print(format_rows(*spread(args.run, args.draws, args.device)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
