"""How fast the generator core makes textures, and how far that is from the machine's limit.

    .venv/bin/python benchmarks/bench_synthesis.py

Prints, for the default architecture on this machine's CPU (or `--device cuda`): seconds for 1024² and 4096² textures,
peak memory of a fresh process making a 4096² texture, FLOPs per output megapixel, the achieved
GFLOP/s, and that as a fraction of a plain float32 matmul's GFLOP/s measured in the same run.
Targets (issue 2, 2-core machine): 1024² ≤ 0.5 s, 4096² ≤ 8 s with peak memory ≤ 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from blender_ganart.core.devices import resolve_device  # noqa: E402
from blender_ganart.core.model_catalog import BUNDLED_DIR, model_files  # noqa: E402
from blender_ganart.core.model_file import load_model  # noqa: E402
from blender_ganart.core.network import Generator, GeneratorConfig  # noqa: E402
from blender_ganart.core.synthesis import SynthesisOptions, synthesize  # noqa: E402


def default_model(path: str | None):
    """A bundled model if one is given or present, else the default architecture with random
    weights: the compute, and so the timing, does not depend on the weights' values."""
    bundled = model_files(BUNDLED_DIR)  # the add-on's order: the first is its default model
    if path or bundled:
        model = load_model(path or bundled[0])
        return model.generator, model.card.name
    torch.manual_seed(0)
    return Generator(GeneratorConfig()).eval(), "default architecture, random weights"


def seconds(fn, repeats: int) -> float:
    fn()  # warm-up: oneDNN builds its kernels for each new shape once
    return statistics.median(_timed(fn) for _ in range(repeats))


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 5) -> float:
    """float32 matmul rate on the device; on a GPU with TF32 off, the same arithmetic the
    generator's float32 convolutions ask for."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    return 2 * n**3 / seconds(lambda: (a @ b, sync()), repeats) / 1e9


_PEAK_CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from benchmarks.peak_memory import own_peak_rss
sys.argv = ["x"]
from benchmarks.bench_synthesis import default_model
from blender_ganart.core.synthesis import SynthesisOptions, synthesize
generator, _ = default_model({model!r})
synthesize(generator, SynthesisOptions(1, 256, 256), device={device!r})
start = time.perf_counter()
synthesize(generator, SynthesisOptions(1, {size}, {size}), device={device!r})
elapsed = time.perf_counter() - start
print(elapsed, own_peak_rss())
"""


def peak_memory(model: str | None, size: int, device: str) -> tuple[float, int]:
    """(seconds, peak RSS bytes) of a fresh process that makes one size² texture."""
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_CHILD.format(root=str(ROOT), model=model, size=size, device=device)],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    return float(out[0]), int(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .ganart.pt file (default: first bundled, else random weights)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    parser.add_argument("--device", default="cpu", help="cpu (what the targets are for), cuda or mps")
    args = parser.parse_args()
    device = resolve_device(args.device)

    generator, name = default_model(args.model)
    flops_per_pixel = generator.flops_per_output_pixel()
    t1k = seconds(lambda: synthesize(generator, SynthesisOptions(1, 1024, 1024), device=device), args.repeats)
    t4k = seconds(lambda: synthesize(generator, SynthesisOptions(1, 4096, 4096), device=device),
                  max(1, args.repeats // 3))
    peak_t4k, peak_bytes = peak_memory(args.model, 4096, str(device))
    achieved = flops_per_pixel * 4096 * 4096 / t4k / 1e9
    peak_matmul = matmul_gflops(device)
    result = {
        "model": name,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "seconds_1024": round(t1k, 3),
        "seconds_4096": round(t4k, 3),
        "seconds_4096_fresh_process": round(peak_t4k, 3),
        "peak_rss_4096_gib": round(peak_bytes / 2**30, 3),
        "mflop_per_output_megapixel": round(flops_per_pixel, 0),
        "achieved_gflops": round(achieved, 1),
        "matmul_gflops": round(peak_matmul, 1),
        "fraction_of_matmul": round(achieved / peak_matmul, 3),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"model: {name}  (device {device}, torch threads: {result['threads']})")
    print(f"1024x1024           {t1k:7.3f} s   (target <= 0.5 s)")
    print(f"4096x4096           {t4k:7.3f} s   (target <= 8 s; fresh process {peak_t4k:.3f} s)")
    print(f"peak RSS, 4096^2    {peak_bytes / 2**30:7.3f} GiB (target <= 1.5 GB; whole process incl. torch)")
    print(f"GFLOP per output MP {flops_per_pixel / 1e3:7.1f}")
    print(f"achieved            {achieved:7.1f} GFLOP/s")
    print(f"plain matmul 2048^2 {peak_matmul:7.1f} GFLOP/s")
    print(f"fraction of matmul  {achieved / peak_matmul:7.3f}")


if __name__ == "__main__":
    main()
