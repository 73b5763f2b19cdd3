"""Does a run's in-run measure order generators as the quality report does?

`train --keep-best` keeps the step its own evaluation rates best, so that evaluation must agree
with the report the models are judged by (trainer/quality.py: SWD over its floor at full texel
density and at the 4× structure scale, 16 seeds' 512 px textures). This judges model files of one
family both ways, on the same data:
- report: scripts/model_report.py's two ratios (--crops per scale, 64 px crops);
- in-run, as a run with --crop-size CROP measures every --metrics-every steps
  (trainer/run_measure.py): the plain "swd" (a mean over the Laplacian levels of CROP px crops,
  what --keep-best ranked by before) and the two ratios it ranks by now;
and counts the pairs of models each in-run measure orders as the report's sum of ratios does.

    .venv/bin/python benchmarks/keep_best_measure.py --data data/rock \\
        blender_ganart/models/rock.ganart.pt runs/gpu4/a/rock.ganart.pt runs/gpu4/b/rock.ganart.pt
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blender_ganart.core.model_file import load_model  # noqa: E402
from blender_ganart.core.synthesis import SynthesisOptions, synthesize  # noqa: E402
from trainer.map_sets import load_training_images  # noqa: E402
from trainer.quality import texture_quality  # noqa: E402
from trainer.run_measure import RunMeasure  # noqa: E402
from trainer.runs import load_model_as_run  # noqa: E402


def judge(path: Path, data: Path, crop: int, crops: int) -> dict:
    model = load_model(path)
    rot90 = "--no-rot90" not in model.card.training_command
    images = load_training_images(data, model.card.maps, 64).colour_only()

    def make_texture(seed: int, size: int, tileable: bool):
        return synthesize(model, SynthesisOptions(seed, size, size, tileable=tileable))

    report = texture_quality(images, make_texture, crop=64, count=crops, cell=model.config.upsampling, rot90=rot90)
    run = load_model_as_run(path, crop_size=crop)
    # As a run with this crop reads its data: images smaller than the crop upscaled to fit it.
    run_images = load_training_images(data, model.card.maps, crop).colour_only()
    record = RunMeasure(run.arch, run_images, crops, rot90=rot90)(run.generator, torch.device("cpu"))
    return {"report_full": report.full_ratio, "report_coarse": report.coarse_ratio,
            "report": report.full_ratio + report.coarse_ratio, "swd": record["swd"],
            "full_ratio": record["full_ratio"], "coarse_ratio": record["coarse_ratio"],
            "ratios": record["full_ratio"] + record["coarse_ratio"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path, help="model files of one family")
    parser.add_argument("--data", type=Path, required=True, help="their training images")
    parser.add_argument("--crop", type=int, default=256, help="the runs' --crop-size (the GPU recipe's: 256)")
    parser.add_argument("--crops", type=int, default=128, help="crops per set and scale (both measures)")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    rows = {}
    for path in args.models:
        rows[str(path)] = judge(path, args.data, args.crop, args.crops)
        r = rows[str(path)]
        print(f"{path}: report {r['report_full']:.2f} / {r['report_coarse']:.2f}; in-run swd {r['swd']:.2f}, "
              f"ratios {r['full_ratio']:.2f} / {r['coarse_ratio']:.2f}", flush=True)
    print(f"\n{'model':44s} {'report full':>11s} {'4x':>5s} {'sum':>5s} | {'in-run swd':>10s} {'full':>5s} {'4x':>5s} {'sum':>5s}")
    for name, r in rows.items():
        print(f"{name[-44:]:44s} {r['report_full']:11.2f} {r['report_coarse']:5.2f} {r['report']:5.2f} | "
              f"{r['swd']:10.2f} {r['full_ratio']:5.2f} {r['coarse_ratio']:5.2f} {r['ratios']:5.2f}")
    pairs = list(itertools.combinations(rows.values(), 2))
    for measure in ("swd", "ratios"):
        same = sum((a[measure] < b[measure]) == (a["report"] < b["report"]) for a, b in pairs)
        print(f"pairs the in-run {measure!r} orders as the report's sum does: {same} of {len(pairs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
