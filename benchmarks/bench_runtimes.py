"""The PyTorch and the NumPy runtime side by side, in the same run on the same machine.

    .venv/bin/python benchmarks/bench_runtimes.py [--model FILE] [--repeats N] [--json]

For each runtime: seconds for 1024² and 4096² textures (median of warm runs), the achieved
GFLOP/s and that as a fraction of the same library's plain float32 matmul (2048²), and the peak
memory (RSS) of a fresh process making one 4096² texture; the NumPy process cannot import torch.
Targets (issue 12, 2-core machine): NumPy 1024² ≤ 1.5× PyTorch and ≤ 0.8 s; 4096² ≤ 1.5× PyTorch
with peak memory ≤ 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.bench_synthesis import seconds  # noqa: E402
from blender_ganart.core.architecture import flops_per_output_pixel  # noqa: E402
from blender_ganart.core.model_reader import read_model  # noqa: E402
from blender_ganart.core.synthesis import SynthesisOptions, synthesize  # noqa: E402

BUNDLED = sorted((ROOT / "blender_ganart" / "models").glob("*.ganart.pt"))

_PEAK_CHILD = """
import resource, sys, time
if {runtime!r} == "numpy":
    sys.modules["torch"] = None  # as in a Blender without PyTorch
sys.path.insert(0, {root!r})
from blender_ganart.core.model_reader import read_model
from blender_ganart.core.synthesis import SynthesisOptions, synthesize
model = read_model({model!r})
synthesize(model, SynthesisOptions(1, 256, 256), runtime={runtime!r})
start = time.perf_counter()
synthesize(model, SynthesisOptions(1, {size}, {size}), runtime={runtime!r})
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def peak_memory(model: Path, runtime: str, size: int) -> tuple[float, int]:
    """(seconds, peak RSS bytes) of a fresh process that makes one size² texture."""
    code = _PEAK_CHILD.format(root=str(ROOT), model=str(model), size=size, runtime=runtime)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def matmul_gflops(runtime: str, n: int = 2048, repeats: int = 5) -> float:
    if runtime == "numpy":
        a, b = (np.random.default_rng(0).standard_normal((n, n), dtype=np.float32) for _ in range(2))
        return 2 * n**3 / seconds(lambda: a @ b, repeats) / 1e9
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / seconds(lambda: a @ b, repeats) / 1e9


def measure(model, path: Path, runtime: str, repeats: int) -> dict:
    flops = flops_per_output_pixel(model.config)
    t1k = seconds(lambda: synthesize(model, SynthesisOptions(1, 1024, 1024), runtime=runtime), repeats)
    t4k = seconds(lambda: synthesize(model, SynthesisOptions(1, 4096, 4096), runtime=runtime), max(1, repeats // 3))
    fresh, peak = peak_memory(path, runtime, 4096)
    achieved = flops * 4096 * 4096 / t4k / 1e9
    matmul = matmul_gflops(runtime)
    return {"seconds_1024": round(t1k, 3), "seconds_4096": round(t4k, 3),
            "seconds_4096_fresh_process": round(fresh, 3), "peak_rss_4096_gib": round(peak / 2**30, 3),
            "achieved_gflops": round(achieved, 1), "matmul_gflops": round(matmul, 1),
            "fraction_of_matmul": round(achieved / matmul, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=BUNDLED[0] if BUNDLED else None,
                        help="a .ganart.pt file (default: the first bundled model)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    args = parser.parse_args()
    model = read_model(args.model)
    started = time.strftime("%Y-%m-%d %H:%M")
    results = {name: measure(model, args.model, name, args.repeats) for name in ("pytorch", "numpy")}
    ratio = {k: round(results["numpy"][k] / results["pytorch"][k], 2) for k in ("seconds_1024", "seconds_4096")}
    summary = {"model": model.card.name, "started": started, "torch_threads": torch.get_num_threads(),
               "numpy": np.__version__, "torch": torch.__version__, "numpy_over_pytorch": ratio, **results}
    if args.json:
        print(json.dumps(summary))
        return
    print(f"model {model.card.name}; NumPy {np.__version__}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads); {started}")
    print(f"{'':28}{'PyTorch':>10}{'NumPy':>10}   NumPy/PyTorch")
    rows = [("1024x1024 (s)", "seconds_1024"), ("4096x4096 (s)", "seconds_4096"),
            ("4096x4096 fresh process (s)", "seconds_4096_fresh_process"),
            ("peak RSS 4096^2 (GiB)", "peak_rss_4096_gib"), ("achieved GFLOP/s", "achieved_gflops"),
            ("plain matmul GFLOP/s", "matmul_gflops"), ("fraction of matmul", "fraction_of_matmul")]
    for label, key in rows:
        a, b = results["pytorch"][key], results["numpy"][key]
        print(f"{label:28}{a:>10}{b:>10}   {b / a:.2f}")
    print("targets: NumPy 1024^2 <= 1.5x PyTorch and <= 0.8 s; 4096^2 <= 1.5x PyTorch; peak <= 1.5 GB")


if __name__ == "__main__":
    main()
