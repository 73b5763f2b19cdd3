"""Training benchmark: the texture generator vs the DCGAN preset on a real texture set, each with
the same wall-clock budget, in one run.

Reports images/s, the SWD (64 px crops) of each against the training images, the real-vs-real
SWD floor, colour distances, and the ratio SWD(texture) / SWD(DCGAN); the project's target is a
ratio of at most 1/3. Each arch trains with its own preset recipe (`trainer.config.PRESETS`).

    .venv/bin/python benchmarks/bench_training.py --data data/metal --minutes 10

Takes 2 × --minutes plus a minute or two of evaluation; run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from trainer.config import DataOptions, ModelOptions, RunOptions, TrainConfig  # noqa: E402
from trainer.data import load_image_folder  # noqa: E402
from trainer.evaluate import evaluate_run  # noqa: E402
from trainer.loop import train  # noqa: E402
from trainer.runs import load_run  # noqa: E402

ARCHS = ("texture", "dcgan")
TARGET_RATIO = 1 / 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT / "data" / "metal"), help="texture folder (default data/metal)")
    parser.add_argument("--minutes", type=float, default=10.0, help="training time per architecture")
    parser.add_argument("--crop-size", type=int, default=64)
    parser.add_argument("--images", type=int, default=256, help="crops per SWD evaluation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    parser.add_argument("--out", default="", help="folder for the two runs (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="ganart_bench_"))
    out.mkdir(parents=True, exist_ok=True)
    images = load_image_folder(args.data, args.crop_size, 2048, warn=lambda m: print(f"warning: {m}", file=sys.stderr))
    print(f"data: {images.describe()} from {args.data}; {args.minutes:g} min per arch; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; runs in {out}", flush=True)

    rows = {}
    for arch in ARCHS:
        run_dir = out / arch
        config = TrainConfig(
            data=DataOptions(data=str(Path(args.data).resolve()), crop_size=args.crop_size),
            model=ModelOptions(arch=arch),
            run=RunOptions(out=str(run_dir), steps=10**9, max_minutes=args.minutes, seed=args.seed,
                           checkpoint_every=1000, sample_every=0, metrics_every=0, metrics_images=64,
                           log_every=50, device="cpu", threads=args.threads),
        )
        print(f"\n== {arch}: training for {args.minutes:g} min", flush=True)
        result = train(config, command=" ".join(["benchmarks/bench_training.py", *(argv or sys.argv[1:])]))
        evaluation = evaluate_run(load_run(run_dir), images, args.images, args.seed, "cpu")
        rows[arch] = {"steps": result.step, "images_per_s": result.images_per_second, "swd": evaluation.swd,
                      "swd_levels": evaluation.swd_levels, "colour": evaluation.colour,
                      "swd_floor": evaluation.swd_floor, "colour_floor": evaluation.colour_floor,
                      "samples": str(run_dir / "samples" / "final.png")}

    floor = rows[ARCHS[0]]["swd_floor"]
    print(f"\n{args.images} generated vs {args.images} real crops of {args.crop_size} px; "
          f"real-vs-real SWD floor {floor:.2f}, colour floor {rows[ARCHS[0]]['colour_floor']:.2f}")
    print(f"{'arch':8} {'steps':>7} {'img/s':>7} {'SWD':>8} {'SWD/floor':>10} {'colour':>7}")
    for arch, r in rows.items():
        print(f"{arch:8} {r['steps']:7d} {r['images_per_s']:7.1f} {r['swd']:8.2f} {r['swd'] / floor:10.2f} {r['colour']:7.2f}")
    ratio = rows["texture"]["swd"] / rows["dcgan"]["swd"]
    speed = rows["texture"]["images_per_s"] / rows["dcgan"]["images_per_s"]
    verdict = "meets" if ratio <= TARGET_RATIO else "misses"
    print(f"SWD texture / DCGAN = {ratio:.3f} ({verdict} the target ≤ {TARGET_RATIO:.3f}); "
          f"images/s texture / DCGAN = {speed:.2f}")
    (out / "bench_training.json").write_text(json.dumps({"args": vars(args), "results": rows, "swd_ratio": ratio}, indent=2))
    print(f"details: {out / 'bench_training.json'}; sample grids: {out}/*/samples/final.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
