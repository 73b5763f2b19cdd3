"""Runs inside Debian's Blender 3.4 in background mode, started by tests/test_blender_window.py.

The legacy add-on path on the oldest Blender we support, and its real Python, which has neither
NumPy nor PyTorch: the add-on must enable anyway, Generate must refuse with install instructions
and change nothing; after the preference points at the PyTorch environment, Generate runs to the
end synchronously (there is no event loop), and the pixels survive save and reload.

Arguments after '--': <json config path>. Writes a JSON report.
"""

import json
import sys
import traceback

import bpy

config = json.loads(open(sys.argv[sys.argv.index("--") + 1]).read())
report = {"errors": []}


def state():
    return sorted(bpy.data.images.keys()), sorted(bpy.data.materials.keys())


try:
    bpy.ops.preferences.addon_enable(module="blender_ganart")
    report["enabled"] = "blender_ganart" in bpy.context.preferences.addons
    report["torch_before"] = "torch" in sys.modules
    bpy.ops.object.select_all(action="DESELECT")
    bpy.ops.mesh.primitive_plane_add()
    before = state()
    try:
        bpy.ops.ganart.generate(model=config["model"], seed=3, width=64, height=64)
        report["without_torch"] = "FINISHED"
    except RuntimeError as exc:
        report["without_torch"] = str(exc)
    report["unchanged_without_torch"] = state() == before

    bpy.context.preferences.addons["blender_ganart"].preferences.extra_packages = config["site_packages"]
    report["with_torch"] = sorted(bpy.ops.ganart.generate(model=config["model"], seed=3, width=64, height=64))

    import numpy as np

    from blender_ganart import image_io
    from blender_ganart.model_file import load_model
    from blender_ganart.synthesis import synthesize

    image = bpy.data.images["Pebbles 3"]
    expected = synthesize(load_model(config["model"]), 3, 64, 64)
    report["max_difference"] = float(np.abs(image_io.read_pixels(image)[..., :3] - expected).max())
    material = bpy.context.active_object.active_material
    bsdf = next(n for n in material.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    report["linked"] = bsdf.inputs["Base Color"].links[0].from_node.image.name
    bpy.ops.wm.save_as_mainfile(filepath=config["blend"])
    before_reload = image_io.read_pixels(image).copy()
    bpy.ops.wm.open_mainfile(filepath=config["blend"])
    report["reload_equal"] = bool(np.array_equal(image_io.read_pixels(bpy.data.images["Pebbles 3"]), before_reload))
except Exception:  # noqa: BLE001 - recorded for the test to show
    report["errors"].append(traceback.format_exc())
with open(config["report"], "w") as handle:
    json.dump(report, handle, indent=1)
