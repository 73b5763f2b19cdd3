"""Compare training recipes side by side: each trains for the same number of steps (several at once,
as separate processes), then each is evaluated the same way (SWD and colour distance of 64 px crops
against its training images, next to the real-vs-real floor).

A fixed step count, not a fixed time, makes recipes comparable on a shared GPU, where processes
slow each other down; the table also gives each run's images/s so the cost of a recipe is visible.

    .venv/bin/python benchmarks/compare_recipes.py --data data/metal --steps 2000 --jobs 2 \\
        base="" hinge="--loss hinge" wide-d="--d-width 128"

A recipe's flags may set --steps or --max-minutes to override the common values. Prints a table
last and writes compare_recipes.json in --out.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_recipe(name: str, flags: list[str], args: argparse.Namespace, out: Path) -> dict:
    run_dir = out / name
    with (out / f"{name}.log").open("w") as log:
        return _train_and_evaluate(name, flags, args, run_dir, log)


def _train_and_evaluate(name: str, flags: list[str], args: argparse.Namespace, run_dir: Path, log) -> dict:
    train = [sys.executable, "-m", "trainer", "train", "--data", args.data, "--out", str(run_dir),
             "--steps", str(args.steps), "--seed", str(args.seed), "--device", args.device,
             "--threads", str(args.threads), "--sample-every", "0", "--metrics-every", str(args.metrics_every),
             "--checkpoint-every", "1000000", "--log-every", "50", *flags]
    started = time.perf_counter()
    code = subprocess.call(train, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    train_s = time.perf_counter() - started
    row = {"name": name, "flags": shlex.join(flags), "train_rc": code, "train_s": round(train_s, 1)}
    if code != 0:
        return row
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    progress = [line for line in lines if "images_per_s" in line]
    row["steps"] = progress[-1]["step"] if progress else 0
    row["images_per_s"] = progress[-1]["images_per_s"] if progress else 0.0
    row["swd_curve"] = [(line["step"], line["swd"]) for line in lines if "swd" in line]
    evaluate = [sys.executable, "-m", "trainer", "eval", str(run_dir), "--images", str(args.images),
                "--crop-size", str(args.eval_crop), "--device", args.device, "--json"]
    result = subprocess.run(evaluate, cwd=ROOT, capture_output=True, text=True)
    log.write(result.stderr)
    if result.returncode != 0:
        row["eval_rc"] = result.returncode
        return row
    row.update(json.loads(result.stdout.strip().splitlines()[-1]))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipes", nargs="+", help='NAME="--flag value …" (an empty string is the default recipe)')
    parser.add_argument("--data", required=True, help="texture folder")
    parser.add_argument("--steps", type=int, default=2000, help="generator steps per recipe")
    parser.add_argument("--jobs", type=int, default=1, help="recipes trained at once")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per process")
    parser.add_argument("--images", type=int, default=256, help="crops per SWD evaluation")
    parser.add_argument("--eval-crop", type=int, default=64, help="crop size of the evaluation")
    parser.add_argument("--metrics-every", type=int, default=0, help="SWD during training every N steps (0 = end only)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="", help="folder for the runs (default: a temporary folder)")
    args = parser.parse_args(argv)
    args.data = str(Path(args.data).resolve())
    out = Path(args.out).resolve() if args.out else Path(tempfile.mkdtemp(prefix="ganart_recipes_"))
    out.mkdir(parents=True, exist_ok=True)
    recipes = []
    for spec in args.recipes:
        name, sep, flags = spec.partition("=")
        if not sep or not name.replace("-", "").replace("_", "").isalnum():
            parser.error(f"recipe {spec!r}: write NAME=\"--flags\" with a NAME of letters, digits, - and _")
        recipes.append((name, shlex.split(flags)))
    print(f"{len(recipes)} recipes, {args.steps} steps each, {args.jobs} at once on {args.device}; runs in {out}", flush=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_recipe, name, flags, args, out) for name, flags in recipes]
        for future in as_completed(futures):  # report each recipe as soon as it is done
            print(json.dumps(future.result()), flush=True)
        rows = [future.result() for future in futures]  # the table keeps the order given
    (out / "compare_recipes.json").write_text(json.dumps({"args": vars(args), "results": rows}, indent=2))
    print(f"\n{args.images} generated vs real crops per scale (trainer/quality.py's report; ratios over "
          f"the real-vs-real floor)")
    print(f"{'recipe':16} {'steps':>6} {'img/s':>7} {'full':>6} {'4x down':>8} {'colour':>7} {'lattice':>8}  flags")
    for r in rows:
        if "swd_full" not in r:
            print(f"{r['name']:16} failed (train rc {r['train_rc']}, eval rc {r.get('eval_rc')}); see {out / r['name']}.log")
            continue
        coarse = "n/a" if r["coarse_ratio"] is None else f"{r['coarse_ratio']:.2f}"
        lattice = "n/a" if r["lattice"] is None else f"{r['lattice']:.2f}"
        print(f"{r['name']:16} {r['steps']:6d} {r['images_per_s']:7.1f} {r['full_ratio']:6.2f} {coarse:>8} "
              f"{r['colour']:7.2f} {lattice:>8}  {r['flags']}")
    return 0 if all("swd_full" in r for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
