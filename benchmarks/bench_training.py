"""Training benchmark: the default recipe (texture generator) vs the DCGAN preset on a real texture
set, each with the same wall-clock budget, in one run.

Both are judged by the quality report (trainer/quality.py) against the data at its own
resolution: images/s, SWD at full texel density and (texture only: DCGAN makes 64 px images) at
4× downscale, each over its real-vs-real floor, colour distance, lattice score beside the data's.
The project's target for the default recipe in 30 CPU minutes on ~100 images: both SWD ratios
≤ 2.5 and a lattice score within 1.5× of the data's. Each arch trains with its own preset.

    .venv/bin/python benchmarks/bench_training.py --data data/metal --minutes 30

`--init-from MODEL` starts the texture generator from a model file (e.g. a bundled model of
another family) instead of random weights; `--archs texture` skips the DCGAN run.
`--keep-best N` has the texture run measure itself every N steps and keep its best generator
(`train --keep-best`); the benchmark then reports both the kept generator (what `export` writes,
judged on the target) and the last one, so one run shows what keeping the best is worth. The
run ranks by fixed crops of its own (trainer/run_measure.py); the report draws others (--seed).

Takes 2 × --minutes plus a few minutes of evaluation; run it on a quiet machine.
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
TARGET_SWD_RATIO = 2.5  # at both scales, over the real-vs-real floor
TARGET_LATTICE_RATIO = 1.5  # over the data's own lattice score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT / "data" / "metal"), help="texture folder (default data/metal)")
    parser.add_argument("--minutes", type=float, default=10.0, help="training time per architecture")
    parser.add_argument("--crop-size", type=int, default=64)
    parser.add_argument("--images", type=int, default=128, help="crops per SWD evaluation (128, as model_report.py)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    parser.add_argument("--out", default="", help="folder for the two runs (default: a temporary folder)")
    parser.add_argument("--init-from", default="", help="texture arch: start its generator from this model file")
    parser.add_argument("--archs", default=",".join(ARCHS), help="which to train, comma-separated (default both)")
    parser.add_argument("--keep-best", type=int, default=0, metavar="N",
                        help="texture arch: measure every N steps and keep the best (0 = off, the default recipe)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="ganart_bench_"))
    out.mkdir(parents=True, exist_ok=True)
    images = load_image_folder(args.data, args.crop_size, warn=lambda m: print(f"warning: {m}", file=sys.stderr))
    print(f"data: {images.describe()} from {args.data}; {args.minutes:g} min per arch; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; runs in {out}", flush=True)

    archs = [a for a in args.archs.split(",") if a]
    if not set(archs) <= set(ARCHS) or "texture" not in archs:
        parser.error(f"--archs: texture and optionally dcgan, from {', '.join(ARCHS)}")
    rows = {}
    for arch in archs:
        run_dir = out / arch
        keep_best = args.keep_best > 0 and arch == "texture"
        config = TrainConfig(
            data=DataOptions(data=str(Path(args.data).resolve()), crop_size=args.crop_size),
            model=ModelOptions(arch=arch, init_from=args.init_from if arch == "texture" else ""),
            run=RunOptions(out=str(run_dir), steps=10**9, max_minutes=args.minutes, seed=args.seed,
                           checkpoint_every=1000, sample_every=0, metrics_every=args.keep_best if keep_best else 0,
                           metrics_images=128 if keep_best else 64, keep_best=keep_best,
                           log_every=50, device="cpu", threads=args.threads),
        )
        print(f"\n== {arch}: training for {args.minutes:g} min", flush=True)
        result = train(config, command=" ".join(["benchmarks/bench_training.py", *(argv or sys.argv[1:])]))
        if result.stopped_by not in ("time", "done"):  # SIGTERM or SIGINT: the run was cut short, not timed out
            print(f"{arch}: stopped by {result.stopped_by} at step {result.step}; not judged", flush=True)
            break
        for name, best in ([(f"{arch} kept", True), (f"{arch} last", False)] if keep_best else [(arch, False)]):
            if not best and keep_best and rows[f"{arch} kept"]["kept_step"] == result.step:
                # The run kept its last step: the same generator, judged the same way, is not judged again.
                rows[name] = {k: v for k, v in rows[f"{arch} kept"].items() if k != "kept_step"}
                print(f"{name}: the kept generator (step {result.step})", flush=True)
                continue
            run = load_run(run_dir, best=best)
            report = evaluate_run(run, images, args.images, args.seed, "cpu")
            rows[name] = {"steps": result.step, "images_per_s": result.images_per_second, **report.as_dict(),
                          "samples": str(run_dir / "samples" / "final.png")}
            if best:
                rows[name]["kept_step"] = run.step
            print(f"{name} (step {run.step}):\n{report.table()}", flush=True)

    if not rows:  # the texture run was stopped before its time: nothing to judge
        return 1
    print(f"\n{args.images} generated vs {args.images} real crops per scale (full: {args.crop_size} px; "
          f"4x down: {4 * args.crop_size} px crops box-downscaled)")
    print(f"{'arch':12} {'steps':>7} {'img/s':>7} {'SWD full/floor':>15} {'4x down/floor':>14} {'colour':>7} "
          f"{'lattice':>8} {'(data)':>7}")
    for arch, r in rows.items():
        coarse = "n/a" if r["coarse_ratio"] is None else f"{r['coarse_ratio']:.2f}"
        lattice = "n/a" if r["lattice"] is None else f"{r['lattice']:.2f}"
        data_lattice = "n/a" if r["lattice_real"] is None else f"{r['lattice_real']:.2f}"
        steps = f"{r['kept_step']}/{r['steps']}" if "kept_step" in r else str(r["steps"])
        print(f"{arch:12} {steps:>7} {r['images_per_s']:7.1f} {r['full_ratio']:15.2f} {coarse:>14} "
              f"{r['colour']:7.2f} {lattice:>8} {data_lattice:>7}")
    t = rows["texture kept" if "texture kept" in rows else "texture"]
    met = (t["full_ratio"] <= TARGET_SWD_RATIO and (t["coarse_ratio"] or float("inf")) <= TARGET_SWD_RATIO
           and t["lattice"] is not None and t["lattice"] <= TARGET_LATTICE_RATIO * t["lattice_real"])
    speed = (f"; images/s texture / DCGAN = {t['images_per_s'] / rows['dcgan']['images_per_s']:.2f}"
             if "dcgan" in rows else "")
    recipe = f"the recipe from {args.init_from}" if args.init_from else "default recipe"
    recipe += f" (its kept generator, measured every {args.keep_best} steps)" if args.keep_best else ""
    print(f"{recipe} {'meets' if met else 'misses'} the target (SWD ≤ {TARGET_SWD_RATIO}× floor at both "
          f"scales, lattice ≤ {TARGET_LATTICE_RATIO}× the data's){speed}")
    (out / "bench_training.json").write_text(json.dumps({"args": vars(args), "results": rows, "target_met": met},
                                                        indent=2))
    sheet = side_by_side([Path(r["samples"]) for r in rows.values()], out / "samples_side_by_side.jpg")
    print(f"details: {out / 'bench_training.json'}; sample grids: {out}/*/samples/final.png, together: {sheet}")
    return 0


def side_by_side(grids: list[Path], target: Path) -> Path:
    """The archs' last sample grids in one picture, each at 1:1 (a texture grid's tiles are larger
    than DCGAN's 64 px ones, and resampling either would hide what each draws at its own scale)."""
    from PIL import Image

    images = [Image.open(path).convert("RGB") for path in dict.fromkeys(grids)]  # kept and last: one grid
    gap = 16
    sheet = Image.new("RGB", (sum(im.width for im in images) + gap * (len(images) - 1),
                              max(im.height for im in images)), "white")
    x = 0
    for image in images:
        sheet.paste(image, (x, 0))
        x += image.width + gap
    sheet.save(target, quality=92)
    return target


if __name__ == "__main__":
    raise SystemExit(main())
