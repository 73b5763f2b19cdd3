"""Does one seed give one texture in every process, even while other processes load the CPU?

Runs a child process N times, each making the same texture once (its first generation: the one a
fresh Blender or a headless script makes) and printing its SHA-256, while `--load` other
processes multiply matrices on every core. Prints how many children drew each digest; exits 1 if
there was more than one. A flake that shows only under contention and only on a process's first
call (PyTorch's CPU tanh through MKL's vector maths did, in about 1 run in 40: network.output_tanh)
needs hundreds of runs to tell from a fix, so this is a script, and the test
(tests/test_core_synthesis.py) runs a few children the same way.

    python scripts/determinism_under_load.py --runs 200 --load 2
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The texture: the tests' tiny generator (weights from torch.manual_seed(7)), or a model file.
CHILD = """
import hashlib, sys
sys.path.insert(0, {root!r})
from blender_ganart.core.synthesis import SynthesisOptions, synthesize
model = {model!r}
if model:
    from blender_ganart.core.model_file import load_model
    g = load_model(model)
else:
    import torch
    from blender_ganart.core.network import Generator, GeneratorConfig
    torch.manual_seed(7)
    g = Generator(GeneratorConfig(widths=(16, 8, 8), extra_convs=(0, 0, 0))).eval()
texture = synthesize(g, SynthesisOptions({seed!r}, {width}, {height}), runtime={runtime!r})
print(hashlib.sha256(texture.tobytes()).hexdigest())
"""

# Both cores busy with float32 matrix products for as long as the children run.
LOAD = """
import torch
a = torch.randn(1024, 1024)
while True:
    a @ a
"""


def child_program(root: Path = ROOT, seed: int | str = 4294967295, width: int = 80, height: int = 48,
                  model: str = "", runtime: str = "auto") -> str:
    return CHILD.format(root=str(root), seed=seed, width=width, height=height, model=model, runtime=runtime)


def first_texture_digests(runs: int, load: int, program: str, hash_seeds=("1",)) -> collections.Counter:
    """Digest → how many of `runs` children printed it, with `load` matmul processes running meanwhile.

    hash_seeds: PYTHONHASHSEED values the children cycle through (string hashing differs per process
    and must not matter)."""
    loaders = [subprocess.Popen([sys.executable, "-c", LOAD], stdout=subprocess.DEVNULL) for _ in range(load)]
    try:
        counts = collections.Counter()
        for i in range(runs):
            env = {"PYTHONHASHSEED": hash_seeds[i % len(hash_seeds)], "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, env=env)
            counts[out.stdout.strip()] += 1
        return counts
    finally:
        for p in loaders:
            p.kill()
            p.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="child processes, one after another")
    parser.add_argument("--load", type=int, default=2, help="matmul processes running meanwhile")
    parser.add_argument("--model", default="", help="a .ganart.pt file (default: the tests' tiny generator)")
    parser.add_argument("--size", type=int, nargs=2, default=(80, 48), metavar=("WIDTH", "HEIGHT"))
    parser.add_argument("--seed", default="4294967295")
    parser.add_argument("--runtime", choices=("auto", "pytorch", "numpy"), default="auto")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose blender_ganart the children import")
    args = parser.parse_args(argv)
    seed = int(args.seed) if args.seed.isdigit() else args.seed
    model = str(Path(args.model).resolve()) if args.model else ""
    program = child_program(args.root.resolve(), seed, *args.size, model=model, runtime=args.runtime)
    started = time.perf_counter()
    counts = first_texture_digests(args.runs, args.load, program)
    print(f"{args.runs} children ({time.perf_counter() - started:.0f} s), {args.load} load processes, "
          f"{args.root.resolve()}: {len(counts)} digest(s)")
    for digest, n in counts.most_common():
        print(f"  {n:4d} × {digest[:16]}")
    return 0 if len(counts) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
