"""Whole Generate in a real Blender program, as a new user gets it: the built zip, nothing else.

    .venv/bin/python benchmarks/bench_blender_generate.py --blender /usr/bin/blender [--size 1024] [--repeats 3]

Builds the add-on zip with build.py (no wheels), installs it into temporary user folders of that
Blender (legacy add-on before 4.2, extension from 4.2), and in background mode presses Generate
(`bpy.ops.ganart.generate`: checks, synthesis, writing the image, packing, nodes) on a plane with
the first bundled model: once cold (the model file is read), then `--repeats` times with new seeds.
Whatever runtime the add-on picks on Auto runs; in Debian's Blender 3.4, whose Python has no
PyTorch, that is NumPy (the printed result line says so, and PyTorch must not be importable
unless --allow-torch). Prints the medians, the core synthesis alone for the same size (timed in
turns with the presses), the NumPy version and BLAS library that ran, and the load average.
The Blender process gets no PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARK = "GANART_BENCH_RESULT "

# Runs inside Blender; arguments after "--": zip path, size, repeats.
INNER = r'''
import json, sys, time
import bpy
zip_path, size, repeats = sys.argv[sys.argv.index("--") + 1:]
size, repeats = int(size), int(repeats)
result = {"blender": bpy.app.version_string, "python": sys.version.split()[0]}
try:
    import torch  # noqa: F401
    result["torch_importable"] = True
except ImportError:
    result["torch_importable"] = False
if bpy.app.version >= (4, 2, 0):
    bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
    module = "bl_ext.user_default.blender_ganart"
else:
    bpy.ops.preferences.addon_install(filepath=zip_path)
    bpy.ops.preferences.addon_enable(module="blender_ganart")
    module = "blender_ganart"
import importlib
import numpy as np
bpy.ops.mesh.primitive_plane_add()

def press(seed):
    started = time.perf_counter()
    bpy.ops.ganart.generate(seed=seed, width=size, height=size)
    return time.perf_counter() - started

result["cold_seconds"] = press(0)
result["last_result"] = bpy.context.scene.ganart.last_result
synthesis = importlib.import_module(module + ".core.synthesis")
catalog = importlib.import_module(module + ".core.model_catalog")
model = catalog.CACHE.load(catalog.model_files(catalog.BUNDLED_DIR)[0])
result["seconds"], result["core_seconds"] = [], []
for seed in range(1, repeats + 1):  # a press, then the core alone: the host's load hits both alike
    result["seconds"].append(press(seed))
    started = time.perf_counter()
    synthesis.synthesize(model, synthesis.SynthesisOptions(100 + seed, size, size))
    result["core_seconds"].append(time.perf_counter() - started)
result["numpy"] = np.__version__
with open("/proc/self/maps") as maps:
    result["blas"] = sorted({line.split()[-1].rsplit("/", 1)[-1] for line in maps if "blas" in line.lower()})
result["torch_loaded"] = any(name.split(".")[0] == "torch" for name in sys.modules)
print("GANART_BENCH_RESULT " + json.dumps(result), flush=True)
'''


def run_in_blender(blender: str, size: int, repeats: int) -> dict:
    """Builds the zip, runs INNER in `blender` with temporary user folders; its result."""
    with tempfile.TemporaryDirectory(prefix="ganart-bench-") as folder:
        tmp = Path(folder)
        built = subprocess.run([sys.executable, str(ROOT / "build.py"), "--out", str(tmp / "dist")],
                               capture_output=True, text=True)
        if built.returncode != 0:
            sys.exit(f"build.py refused: {built.stderr.strip() or built.stdout.strip()}")
        (zip_path,) = (tmp / "dist").glob("blender_ganart-*.zip")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        for name in ("SCRIPTS", "CONFIG", "EXTENSIONS", "DATAFILES"):
            (tmp / name.lower()).mkdir()
            env[f"BLENDER_USER_{name}"] = str(tmp / name.lower())
        script = tmp / "inner.py"
        script.write_text(INNER)
        done = subprocess.run([blender, "--background", "--factory-startup", "--python", str(script), "--",
                               str(zip_path), str(size), str(repeats)], env=env, capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
        if not lines:
            sys.exit(f"{blender} gave no result (exit {done.returncode}):\n"
                     f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        return json.loads(lines[-1][len(MARK):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blender", default="/usr/bin/blender", help="the Blender program to run")
    parser.add_argument("--size", type=int, default=1024, help="texture width and height in pixels")
    parser.add_argument("--repeats", type=int, default=3, help="warm presses after the cold one")
    parser.add_argument("--allow-torch", action="store_true", help="do not require a Blender without PyTorch")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of a summary")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    result = run_in_blender(args.blender, args.size, args.repeats)
    result["load_average"] = [round(load, 1), round(os.getloadavg()[0], 1)]
    if result["torch_importable"] and not args.allow_torch:
        sys.exit(f"PyTorch is importable in {args.blender}; this measures the Blender without it (--allow-torch)")
    if args.json:
        print(json.dumps(result))
        return
    median = sorted(result["seconds"])[len(result["seconds"]) // 2]
    core = sorted(result["core_seconds"])[len(result["core_seconds"]) // 2]
    print(f"Blender {result['blender']} (Python {result['python']}, NumPy {result['numpy']}, "
          f"BLAS {', '.join(result['blas']) or 'none found'}); torch loaded: {result['torch_loaded']}; "
          f"load average {result['load_average'][0]} before, {result['load_average'][1]} after; {os.cpu_count()} CPUs")
    print(f"result line: {result['last_result']}")
    print(f"Generate {args.size}x{args.size}, whole operator: {median:.3f} s median of {len(result['seconds'])} "
          f"(best {min(result['seconds']):.3f} s; first press, reading the model: {result['cold_seconds']:.3f} s)")
    print(f"  core synthesis alone, in turns with the presses: {core:.3f} s median "
          f"(best {min(result['core_seconds']):.3f} s)")


if __name__ == "__main__":
    main()
