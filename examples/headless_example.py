"""Generate a texture onto a plane without the Blender UI, and save the result.

Run either way (from the repository root):
    blender --background --python examples/headless_example.py -- out.blend
    .venv/bin/python examples/headless_example.py out.blend        # with the bpy module installed

The add-on does not need to be enabled. Blender's own Python must be able to import PyTorch and
NumPy (e.g. started with PYTHONPATH pointing at a Python 3.11 environment's site-packages).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this repository's blender_ganart

import bpy  # noqa: E402

from blender_ganart import api  # noqa: E402

args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
out = Path(args[0] if args else "ganart_example.blend").resolve()
model = args[1] if len(args) > 1 else None  # a model name, a file path, or None: the first bundled model

for entry in api.list_models():
    print(f"{'bundled' if entry.bundled else 'user'} model: {entry.name} ({entry.path.name})")

bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.mesh.primitive_plane_add(size=2)
plane = bpy.context.active_object
image = api.generate(plane, model=model, seed=42, width=512, height=512, tileable=True)
print(f"generated '{image.name}' {tuple(image.size)} into material '{plane.active_material.name}'")
bpy.ops.wm.save_as_mainfile(filepath=str(out))
print(f"saved {out}")
