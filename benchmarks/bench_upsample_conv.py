"""What training the generator through the fused upsampling saves: one generator step (forward and
backward of a batch of fakes, as the trainer makes them) with each ×2 upsampling and its conv run
as `network.upsample_conv` (one low-resolution phase conv) against the definition it computes,
`circular_conv(upsample2(x))`, taking turns in one process.

    .venv/bin/python benchmarks/bench_upsample_conv.py [--repeats 5] [--threads 1] [--batch 16]

Prints seconds per step (median and best) for each and their ratio. The trainer runs one thread
per run on the 2-core machine, hence the default.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from blender_ganart.core import network  # noqa: E402
from trainer.archs import build_arch  # noqa: E402
from trainer.config import TrainConfig, resolve  # noqa: E402


def unfused(block, x: torch.Tensor) -> torch.Tensor:
    """A generator block's convolve by the definition: upsample, then conv (then batch norm, in
    the trainer's batch-norm blocks)."""
    if block.upsample is not None:
        x = network.upsample2(x, block.upsample)
    y = network.circular_conv(x, block.conv)
    return block.bn(y) if hasattr(block, "bn") else y


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    arch = build_arch(resolve(TrainConfig()))  # the default recipe: 64 px crops from a 3-cell field, batch norm
    g = arch.build_generator().train()
    block_type = type(g.levels[1][0])
    fused = block_type.convolve

    def step() -> float:
        start = time.perf_counter()
        arch.fake_batch(g, arch.sample_latents(args.batch)).square().mean().backward()
        g.zero_grad(set_to_none=True)
        return time.perf_counter() - start

    times: dict[str, list[float]] = {"fused (upsample_conv)": [], "upsample2 + circular_conv": []}
    for _ in range(args.repeats + 1):  # the first round warms both up
        for name, convolve in zip(times, (fused, unfused)):
            block_type.convolve = convolve
            times[name].append(step())
    block_type.convolve = fused
    print(f"generator step, batch {args.batch}, {args.threads} thread(s), torch {torch.__version__}")
    base = statistics.median(times["upsample2 + circular_conv"][1:])
    for name, values in times.items():
        median = statistics.median(values[1:])
        print(f"  {name:28s} median {median:.3f} s  best {min(values[1:]):.3f} s  ratio {median / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
