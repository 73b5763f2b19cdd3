"""What the 0.2 generator's defences against the cell lattice cost: the default architecture
(bilinear upsampling + pixel noise) against the 0.1 one (nearest, no noise) and bilinear alone,
side by side in one process (random weights: the cost does not depend on them).

    .venv/bin/python benchmarks/bench_generator_versions.py [--repeats 4]

Prints seconds per texture (best of the repeats) and each as a ratio of the 0.1 architecture.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from blender_ganart.core.network import Generator, GeneratorConfig  # noqa: E402
from blender_ganart.core.synthesis import SynthesisOptions, synthesize  # noqa: E402

VERSIONS = {
    "0.2 (bilinear + noise)": GeneratorConfig(),
    "bilinear, no noise": GeneratorConfig(noise=False),
    "0.1 (nearest, no noise)": GeneratorConfig(upsample="nearest", noise=False),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=4, help="runs per size and version (4096² runs once)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    generators = {name: Generator(config).eval() for name, config in VERSIONS.items()}
    for size, repeats in ((1024, args.repeats), (4096, 1)):
        best = {name: float("inf") for name in generators}
        for _ in range(repeats):  # interleaved, so a noisy host slows all alike
            for name, g in generators.items():
                started = time.perf_counter()
                synthesize(g, SynthesisOptions(1, size, size))
                best[name] = min(best[name], time.perf_counter() - started)
        base = best["0.1 (nearest, no noise)"]
        print(f"{size}x{size}: " + "; ".join(f"{n} {s:.3f} s ({s / base:.2f}x)" for n, s in best.items()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
