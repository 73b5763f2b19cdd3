"""The main job's demo, run small: it must leave a render, a .blend that keeps its textures, and a zip.

It runs on a copy of the add-on with two tiny real models (so it is fast and does not depend on
the bundled models' training), at a tiny resolution with one sample; the full-size run is
`bash scripts/main_job.sh`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scripts" / "demo_scene.py"


@pytest.fixture()
def addon_copy(tmp_path, small_config):
    import torch

    from blender_ganart.core.model_file import ModelCard, save_model
    from blender_ganart.core.network import Generator

    tree = tmp_path / "src"
    shutil.copytree(ROOT / "blender_ganart", tree / "blender_ganart",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.ganart.pt", "*.tmp"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    (tree / "blender_ganart" / "models").mkdir(exist_ok=True)
    for seed, name in ((1, "Alpha"), (2, "Beta")):
        torch.manual_seed(seed)
        save_model(tree / "blender_ganart" / "models" / f"{name.lower()}.ganart.pt",
                   Generator(small_config).eval(), ModelCard(name=name, native_size=32))
    return tree


REOPEN = r'''
import json, sys, bpy
bpy.ops.wm.open_mainfile(filepath=sys.argv[sys.argv.index("--") + 1])
objects = {}
for obj in bpy.data.objects:
    if obj.type != "MESH":
        continue
    images = [node.image for node in obj.active_material.node_tree.nodes if node.type == "TEX_IMAGE"]
    objects[obj.name] = [[image.name, list(image.size), image.packed_file is not None] for image in images]
print("REOPENED " + json.dumps({"objects": objects, "engine": bpy.context.scene.render.engine}))
'''


def test_demo_renders_saves_and_builds(addon_copy, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(DEMO), "--addon-root", str(addon_copy), "--out", str(out),
         "--resolution", "64", "36", "--samples", "1", "--texture-size", "32"],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    blend, png, zip_path = out / "demo_scene.blend", out / "demo_render.png", out / "dist" / "blender_ganart-0.1.0.zip"
    for path in (blend, png, zip_path):
        assert str(path) in done.stdout, f"the demo must say where {path.name} is"

    render = np.asarray(Image.open(png).convert("RGB"), dtype=np.float32)
    assert render.shape == (36, 64, 3)
    assert render.std() > 5, "the render is flat"

    with zipfile.ZipFile(zip_path) as archive:
        assert {"blender_ganart/models/alpha.ganart.pt", "blender_ganart/models/beta.ganart.pt"} <= set(archive.namelist())

    script = tmp_path / "reopen.py"
    script.write_text(REOPEN)
    reopened = subprocess.run([sys.executable, str(script), "--", str(blend)], capture_output=True, text=True,
                              timeout=300)
    [line] = [line for line in reopened.stdout.splitlines() if line.startswith("REOPENED ")]
    scene = json.loads(line[len("REOPENED "):])
    assert scene["engine"] == "CYCLES"
    objects = scene["objects"]
    assert set(objects) == {"Alpha sphere", "Alpha cube", "Beta sphere", "Beta cube", "Ground"}
    maps = ("", " AO", " Roughness", " Normal", " Height")  # full materials: the colour and its derived maps
    assert objects["Alpha sphere"] == [[f"Alpha 100{suffix}", [64, 32], True] for suffix in maps]
    assert objects["Beta cube"] == [[f"Beta 201{suffix}", [32, 32], True] for suffix in maps]
    assert all(images and all(packed for _, _, packed in images) for images in objects.values())
