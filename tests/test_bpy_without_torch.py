"""The bpy module in a venv that has no PyTorch: the built zip installs, registers, generates,
and its pixels are the PyTorch runtime's (issue 12).

The venv holds only the bpy and NumPy of the test venv (the same versions, so pyproject's
`bpy==4.5.*` pin is the one tested); it is built once with pip and kept in
~/.cache/blender_ganart (tests/helpers.cached_venv). The zip is the one `build.py` makes, with no
wheels, installed the way a Blender 4.2+ user installs it. The PyTorch result is computed here,
in the test venv, from the same model file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from helpers import ROOT, cached_venv

MARK = "GANART_TEST_RESULT "
TOLERANCE = 1e-4  # the runtimes' agreement on the float texture (tests/test_core_numpy_runtime.py)
CASES = [  # seed, width, height, tileable: whole cells and not, tileable and not
    (11, 96, 64, True),
    (12, 70, 45, False),
]

# Runs in the venv without torch. The images are 8-bit, so to compare to 1e-4 the float texture
# is read where the add-on hands it to Blender: image_io.write_image is wrapped (the real one
# still writes the image) to keep a copy of what it was given.
SESSION = r'''
import importlib, json, sys
import numpy as np
import bpy

zip_path, out_dir, cases = sys.argv[sys.argv.index("--") + 1:][:2] + [json.loads(sys.argv[-1])]
result = {"python": sys.executable}
try:
    import torch  # noqa: F401
    result["torch_importable"] = True
except ImportError:
    result["torch_importable"] = False
result["install"] = sorted(bpy.ops.extensions.package_install_files(
    filepath=zip_path, repo="user_default", enable_on_install=True))
(module,) = [addon.module for addon in bpy.context.preferences.addons if addon.module.endswith("blender_ganart")]
result["module"] = module
image_io = importlib.import_module(module + ".image_io")
given = []
write_image = image_io.write_image
def keep_a_copy(name, texture, *args, **kwargs):
    given.append(np.array(texture, dtype=np.float32))
    return write_image(name, texture, *args, **kwargs)
image_io.write_image = keep_a_copy

bpy.ops.mesh.primitive_plane_add()
result["runs"] = []
for index, (seed, width, height, tileable) in enumerate(cases):
    outcome = bpy.ops.ganart.generate(seed=seed, width=width, height=height, tileable=tileable)
    material = bpy.context.object.active_material
    bsdf = next(n for n in material.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    image = bsdf.inputs["Base Color"].links[0].from_node.image
    np.save(f"{out_dir}/{index}_float.npy", given[-1])
    np.save(f"{out_dir}/{index}_image.npy", image_io.read_pixels(image)[..., :3])
    result["runs"].append({"outcome": sorted(outcome), "source": image["ganart_source"], "size": list(image.size),
                           "last_result": bpy.context.scene.ganart.last_result})
result["torch_loaded"] = any(name.split(".")[0] == "torch" for name in sys.modules)
print("GANART_TEST_RESULT " + json.dumps(result), flush=True)
'''


@pytest.fixture(scope="module")
def python_without_torch() -> str:
    """A venv with only the test venv's bpy and NumPy (first use: about a minute with PyPI)."""
    versions = {name: metadata.version(name) for name in ("bpy", "numpy")}
    name = "bpy{bpy}-numpy{numpy}-notorch".format(**versions)
    return cached_venv(name, sys._base_executable, [f"{k}=={v}" for k, v in versions.items()])


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, str(ROOT / "build.py"), "--out", str(dist)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (zip_path,) = dist.glob("blender_ganart-*.zip")
    return zip_path


def run_session(python: str, zip_path: Path, tmp_path: Path) -> dict:
    users = {name: tmp_path / "user" / name.lower() for name in
             ("BLENDER_USER_SCRIPTS", "BLENDER_USER_CONFIG", "BLENDER_USER_EXTENSIONS", "BLENDER_USER_DATAFILES")}
    for folder in users.values():
        folder.mkdir(parents=True)
    script = tmp_path / "session.py"
    script.write_text(SESSION)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **{k: str(v) for k, v in users.items()}}
    done = subprocess.run([python, "-I", str(script), "--", str(zip_path), str(tmp_path), json.dumps(CASES)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    assert lines and done.returncode == 0, f"exit {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(lines[-1][len(MARK):])


def test_zip_generates_pytorchs_pixels_in_bpy_without_torch(python_without_torch, built_zip, tmp_path):
    from blender_ganart.core.model_reader import read_model
    from blender_ganart.core.synthesis import SynthesisOptions, synthesize

    result = run_session(python_without_torch, built_zip, tmp_path)
    assert result["torch_importable"] is False and result["torch_loaded"] is False
    assert result["install"] == ["FINISHED"] and result["module"] == "bl_ext.user_default.blender_ganart"
    for index, ((seed, width, height, tileable), run) in enumerate(zip(CASES, result["runs"])):
        assert run["outcome"] == ["FINISHED"] and run["size"] == [width, height]
        assert "with NumPy; PyTorch not found" in run["last_result"], run["last_result"]
        model_file, made_seed = run["source"].rsplit(":", 1)
        assert int(made_seed) == seed
        expected = synthesize(read_model(ROOT / "blender_ganart" / "models" / model_file),
                              SynthesisOptions(seed, width, height, tileable), runtime="pytorch")
        texture = np.load(tmp_path / f"{index}_float.npy")
        assert texture.shape == expected.shape and texture.std() > 0.01
        assert np.abs(texture - expected).max() <= TOLERANCE
        # The 8-bit image holds that texture rounded: within half a step of it, one step of PyTorch's.
        image = np.load(tmp_path / f"{index}_image.npy")
        assert np.abs(image - texture).max() <= 0.5 / 255 + 1e-6
        assert np.abs(image - expected).max() <= 1 / 255 + 1e-6
