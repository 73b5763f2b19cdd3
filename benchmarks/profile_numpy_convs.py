"""Where the NumPy runtime's time goes: each conv's matrix products, activation and write-out.

    .venv/bin/python benchmarks/profile_numpy_convs.py [--model FILE] [--size 1024] [--repeats 3] [--hot]

Times the steps of every conv (numpy_runtime.Conv) over warm runs by wrapping its methods, and
prints the products' GFLOP/s beside a plain float32 matmul of the same library: a conv whose
products run far below it is limited by its layout (im2col copies, a short K), not by BLAS. The
wrappers cost a few microseconds per band, nothing beside the steps they time.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench_runtimes import matmul_gflops  # noqa: E402  (same folder)
from blender_ganart.core import numpy_runtime  # noqa: E402
from blender_ganart.core.model_file import load_model  # noqa: E402
from blender_ganart.core.synthesis import SynthesisOptions, synthesize  # noqa: E402

STEPS = ("_products", "_activate", "_write")
MATMUL_SIDE = 2048  # as bench_runtimes.py


def product_flops(conv: numpy_runtime.Conv, rows: int, line: int) -> float:
    """Multiply-adds ×2 of one band's product, in the layout the conv uses."""
    n = rows * line
    if conv.gather:
        return 2.0 * conv.matrix.shape[0] * conv.matrix.shape[1] * n
    return 2.0 * conv.matrix.shape[0] * conv.matrix.shape[1] * (n + 2 * line + 2)


def instrument(seconds: dict, flops: dict, hot: bool = False) -> None:
    """hot: run each band's products a second time at once (same inputs, same result) and time
    that too, as "again": a step much faster then was slowed by what ran around it (cold caches,
    BLAS threads waking), not by its own shape."""
    for step in STEPS:
        original = getattr(numpy_runtime.Conv, step)

        def timed(self, *args, _original=original, _step=step):
            start = time.perf_counter()
            result = _original(self, *args)
            seconds[self.spec.name, _step] += time.perf_counter() - start
            if hot and _step == "_products":
                start = time.perf_counter()
                result = _original(self, *args)
                seconds[self.spec.name, "again"] += time.perf_counter() - start
            if _step == "_products":  # (flat, top, rows, line, ...)
                flops[self.spec.name] += product_flops(self, args[2], args[3])
            return result

        setattr(numpy_runtime.Conv, step, timed)


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "blender_ganart" / "models" / "bricks.ganart.pt")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hot", action="store_true",
                        help="also time each band's products run again at once (the 'again' column; the wall "
                             "times then include both)")
    args = parser.parse_args(argv)
    model = load_model(args.model)
    options = SynthesisOptions(7, args.size, args.size)
    synthesize(model, options, runtime="numpy")  # warm: reads the weights, builds the convs
    seconds, flops = defaultdict(float), defaultdict(float)
    instrument(seconds, flops, args.hot)
    walls = [_time(lambda: synthesize(model, options, runtime="numpy")) for _ in range(args.repeats)]
    matmul = matmul_gflops("numpy", MATMUL_SIDE)
    matmul()
    peak = 2 * MATMUL_SIDE**3 / min(_time(matmul) for _ in range(3)) / 1e9
    r = args.repeats
    print(f"{args.model.name}, {args.size}²: wall median {np.median(walls):.3f} s, best {min(walls):.3f} s; "
          f"plain matmul {MATMUL_SIDE}² {peak:.0f} GFLOP/s")
    again = f" {'again':>9s}" if args.hot else ""
    print(f"{'conv':14s} {'products':>9s} {'GFLOP/s':>8s} {'of matmul':>9s} {'activate':>9s} {'write':>9s}{again}"
          "  (ms per texture)")
    names = sorted({name for name, _ in seconds}, key=lambda n: (n == "to_output", n))
    total = defaultdict(float)
    for name in names:
        ms = {step: seconds[name, step] / r * 1000 for step in STEPS}
        rate = flops[name] / r / (ms["_products"] / 1000) / 1e9
        for step in STEPS:
            total[step] += ms[step]
        ms["again"] = seconds[name, "again"] / r * 1000
        total["again"] += ms["again"]
        again = f" {ms['again']:9.1f}" if args.hot else ""
        print(f"{name:14s} {ms['_products']:9.1f} {rate:8.0f} {rate / peak:9.2f} {ms['_activate']:9.1f} {ms['_write']:9.1f}{again}")
    again = f" {total['again']:9.1f}" if args.hot else ""
    print(f"{'all convs':14s} {total['_products']:9.1f} {'':8s} {'':9s} {total['_activate']:9.1f} {total['_write']:9.1f}{again}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
