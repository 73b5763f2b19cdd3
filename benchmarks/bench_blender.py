"""How fast the Blender side is, with the real bpy module (background mode).

1. Writing a 4096×4096 float32 texture into a Blender image (layout + foreach_set), target ≤ 0.5 s;
   packing it (PNG encoding) is timed separately.
2. The whole Generate of a 1024×1024 texture with the default architecture (bpy.ops.ganart.generate:
   checks, synthesis, writing, packing, node wiring), target ≤ 1 s. Uses the first bundled model
   when there is one, else a randomly initialised default-architecture model (same cost).

    .venv/bin/python benchmarks/bench_blender.py [--repeats 3]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bpy  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import blender_ganart  # noqa: E402
from blender_ganart import image_io  # noqa: E402
from blender_ganart.core import model_catalog  # noqa: E402
from blender_ganart.core.model_file import ModelCard, save_model  # noqa: E402
from blender_ganart.core.network import Generator, GeneratorConfig  # noqa: E402
from blender_ganart.core.synthesis import SynthesisOptions, synthesize  # noqa: E402


def timed(function, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    blender_ganart.register()

    texture = np.random.default_rng(0).random((4096, 4096, 3), dtype=np.float32)
    def write_new_image():  # what a delivery does: a new image, written once
        for old in list(bpy.data.images):
            bpy.data.images.remove(old)
        image_io.write_image("bench 4096", texture)

    write, write_best = timed(write_new_image, args.repeats)
    pack, _ = timed(lambda: bpy.data.images["bench 4096"].pack(), 1)
    bpy.data.images.remove(bpy.data.images["bench 4096"])

    bundled = model_catalog.model_files(model_catalog.BUNDLED_DIR)
    if bundled:
        model, which = bundled[0], f"bundled {bundled[0].name}"
    else:
        torch.manual_seed(0)
        model = Path(tempfile.mkdtemp()) / "default.ganart.pt"
        save_model(model, Generator(GeneratorConfig()).eval(), ModelCard(name="Default"))
        which = "random default-architecture model"
    bpy.ops.mesh.primitive_plane_add()
    bpy.ops.ganart.generate(model=str(model), seed=0, width=1024, height=1024)  # warm-up: loads the model
    seeds = iter(range(1, 100))
    generate, generate_best = timed(
        lambda: bpy.ops.ganart.generate(model=str(model), seed=next(seeds), width=1024, height=1024), args.repeats)

    loaded = model_catalog.CACHE.load(model)
    core, _ = timed(lambda: synthesize(loaded, SynthesisOptions(next(seeds), 1024, 1024)), args.repeats)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, bpy {bpy.app.version_string}")
    print(f"write 4096x4096 into a Blender image: {write:.3f} s median, {write_best:.3f} s best (target <= 0.5 s)")
    print(f"pack 4096x4096 (PNG encoding):        {pack:.3f} s")
    print(f"Generate 1024x1024, whole operator:   {generate:.3f} s median, {generate_best:.3f} s best "
          f"(target <= 1 s; {which})")
    print(f"  of which core synthesis (same run):   {core:.3f} s; the add-on's own part "
          f"(checks, write, pack, nodes): {generate - core:.3f} s")
    print("  (the core's speed depends on what else runs on the CPU; compare with benchmarks/bench_synthesis.py)")
    blender_ganart.unregister()


if __name__ == "__main__":
    main()
