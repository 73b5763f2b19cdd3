"""The PyTorch and the NumPy runtime side by side, in the same run on the same machine.

    .venv/bin/python benchmarks/bench_runtimes.py [--model FILE] [--repeats N] [--json]

For each runtime: seconds for 1024² and 4096² textures (median and best of warm runs, the two
runtimes taking turns), the achieved GFLOP/s and that as a fraction of the same library's plain
float32 matmul (2048²), and the peak memory of a fresh process making one 4096² texture (its own
VmHWM: see peak_memory.py); the NumPy process cannot import torch. The host's load average is
printed with the figures: on a shared machine they move with it.
Targets (issue 12, 2-core machine): NumPy 1024² ≤ 1.5× PyTorch and ≤ 0.8 s; 4096² ≤ 1.5× PyTorch
with peak memory ≤ 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from blender_ganart.core.architecture import flops_per_output_pixel  # noqa: E402
from blender_ganart.core.model_catalog import BUNDLED_DIR, model_files  # noqa: E402
from blender_ganart.core.model_reader import read_model  # noqa: E402
from blender_ganart.core.synthesis import SynthesisOptions, synthesize  # noqa: E402

RUNTIMES = ("pytorch", "numpy")
BUNDLED = model_files(BUNDLED_DIR)  # the add-on's order: the first is its default model

_PEAK_CHILD = """
import sys, time
if {runtime!r} == "numpy":
    sys.modules["torch"] = None  # as in a Blender without PyTorch
sys.path.insert(0, {root!r})
from benchmarks.peak_memory import own_peak_rss
from blender_ganart.core.model_reader import read_model
from blender_ganart.core.synthesis import SynthesisOptions, synthesize
model = read_model({model!r})
synthesize(model, SynthesisOptions(1, 256, 256), runtime={runtime!r})
start = time.perf_counter()
synthesize(model, SynthesisOptions(1, {size}, {size}), runtime={runtime!r})
print(time.perf_counter() - start, own_peak_rss())
"""


def peak_memory(model: Path, runtime: str, size: int) -> tuple[float, int]:
    """(seconds, peak RSS bytes) of a fresh process that makes one size² texture."""
    code = _PEAK_CHILD.format(root=str(ROOT), model=str(model), size=size, runtime=runtime)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def matmul_gflops(runtime: str, n: int = 2048) -> Callable[[], object]:
    """A plain float32 n×n matmul in that runtime's library (what 'fraction of matmul' divides by)."""
    if runtime == "numpy":
        a, b = (np.random.default_rng(0).standard_normal((n, n), dtype=np.float32) for _ in range(2))
        return lambda: a @ b
    a, b = torch.randn(n, n), torch.randn(n, n)
    return lambda: a @ b


def interleaved(jobs: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds of each job, run in turns (A B A B …) after one warm-up each, so a host
    whose load changes from minute to minute slows both runtimes alike. CPU seconds (all threads
    of this process, spin-waiting included) move less with the load than wall seconds."""
    for job in jobs.values():
        job()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in jobs}
    for _ in range(repeats):
        for name, job in jobs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            job()
            times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    return times


def measure(model, path: Path, repeats: int) -> dict:
    """Both runtimes' figures; medians of interleaved runs, and the best run beside each."""
    flops = flops_per_output_pixel(model.config)
    results = {name: {} for name in RUNTIMES}
    for size, runs in ((1024, repeats), (4096, max(1, repeats // 3))):
        times = interleaved({name: (lambda name=name: synthesize(model, SynthesisOptions(1, size, size), runtime=name))
                             for name in RUNTIMES}, runs)
        for name, pairs in times.items():
            values = [wall for wall, _ in pairs]
            median = statistics.median(values)
            results[name][f"seconds_{size}"] = round(median, 3)
            results[name][f"best_seconds_{size}"] = round(min(values), 3)
            results[name][f"cpu_seconds_{size}"] = round(statistics.median(cpu for _, cpu in pairs), 3)
            results[name][f"achieved_gflops_{size}"] = round(flops * size * size / median / 1e9, 1)
    n = 2048
    for name, values in interleaved({name: matmul_gflops(name, n) for name in RUNTIMES}, 5).items():
        results[name]["matmul_gflops"] = round(2 * n**3 / statistics.median(wall for wall, _ in values) / 1e9, 1)
    for name in RUNTIMES:
        fresh, peak = peak_memory(path, name, 4096)
        results[name]["seconds_4096_fresh_process"] = round(fresh, 3)
        results[name]["peak_rss_4096_gib"] = round(peak / 2**30, 3)
        for size in (1024, 4096):
            results[name][f"fraction_of_matmul_{size}"] = round(
                results[name][f"achieved_gflops_{size}"] / results[name]["matmul_gflops"], 3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=BUNDLED[0] if BUNDLED else None,
                        help="a .ganart.pt file (default: the first bundled model)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    args = parser.parse_args()
    model = read_model(args.model)
    started, load_before = time.strftime("%Y-%m-%d %H:%M"), os.getloadavg()[0]
    results = measure(model, args.model, args.repeats)
    ratio = {k: round(results["numpy"][k] / results["pytorch"][k], 2) for k in ("seconds_1024", "seconds_4096")}
    summary = {"model": model.card.name, "started": started, "torch_threads": torch.get_num_threads(),
               "numpy": np.__version__, "torch": torch.__version__, "cpus": os.cpu_count(),
               "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
               "numpy_over_pytorch": ratio, **results}
    if args.json:
        print(json.dumps(summary))
        return
    print(f"model {model.card.name}; NumPy {np.__version__}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads); {os.cpu_count()} CPUs; {started}; "
          f"load average {summary['load_average'][0]} before, {summary['load_average'][1]} after")
    print(f"{'':32}{'PyTorch':>10}{'NumPy':>10}   NumPy/PyTorch")
    rows = [("1024x1024 (s, median)", "seconds_1024"), ("1024x1024 (s, best)", "best_seconds_1024"),
            ("1024x1024 (CPU s, median)", "cpu_seconds_1024"),
            ("4096x4096 (s, median)", "seconds_4096"), ("4096x4096 (s, best)", "best_seconds_4096"),
            ("4096x4096 (CPU s, median)", "cpu_seconds_4096"),
            ("4096x4096 fresh process (s)", "seconds_4096_fresh_process"),
            ("peak RSS 4096^2, own (GiB)", "peak_rss_4096_gib"),
            ("achieved GFLOP/s 1024^2", "achieved_gflops_1024"), ("achieved GFLOP/s 4096^2", "achieved_gflops_4096"),
            ("plain matmul 2048^2 GFLOP/s", "matmul_gflops"),
            ("fraction of matmul 1024^2", "fraction_of_matmul_1024"),
            ("fraction of matmul 4096^2", "fraction_of_matmul_4096")]
    for label, key in rows:
        a, b = results["pytorch"][key], results["numpy"][key]
        print(f"{label:32}{a:>10}{b:>10}   {b / a:.2f}")
    print("targets: NumPy 1024^2 <= 1.5x PyTorch and <= 0.8 s; 4096^2 <= 1.5x PyTorch; peak <= 1.5 GB")

if __name__ == "__main__":
    main()
