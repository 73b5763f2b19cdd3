"""Runs inside Debian's Blender 3.4 in background mode, started by tests/test_blender_window.py.

The legacy add-on path on the oldest Blender we support, and its real Python, which has the
system's NumPy and no PyTorch: the add-on enables; with the runtime set to PyTorch, Generate
refuses with install instructions and changes nothing; on Auto it generates with NumPy; after the
preference points at the PyTorch environment, Auto generates with PyTorch, the same pixels, to the
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
    prefs = bpy.context.preferences.addons["blender_ganart"].preferences
    prefs.runtime = "pytorch"
    try:
        bpy.ops.ganart.generate(model=config["model"], seed=3, width=64, height=64)
        report["without_torch"] = "FINISHED"
    except RuntimeError as exc:
        report["without_torch"] = str(exc)
    report["unchanged_without_torch"] = state() == before

    from blender_ganart import image_io

    prefs.runtime = "auto"
    report["numpy_run"] = sorted(bpy.ops.ganart.generate(model=config["model"], seed=3, width=64, height=64))
    report["numpy_result"] = bpy.context.scene.ganart.last_result
    report["torch_after_numpy_run"] = "torch" in sys.modules
    numpy_pixels = image_io.read_pixels(bpy.data.images["Pebbles 3"]).copy()

    prefs.extra_packages = config["site_packages"]
    report["with_torch"] = sorted(bpy.ops.ganart.generate(model=config["model"], seed=3, width=64, height=64))
    report["torch_result"] = bpy.context.scene.ganart.last_result

    import numpy as np

    from blender_ganart.core.model_file import load_model
    from blender_ganart.core.synthesis import SynthesisOptions, synthesize

    image = bpy.data.images["Pebbles 3"]
    expected = synthesize(load_model(config["model"]), SynthesisOptions(3, 64, 64))
    report["max_difference"] = float(np.abs(image_io.read_pixels(image)[..., :3] - expected).max())
    report["runtimes_difference"] = float(np.abs(image_io.read_pixels(image) - numpy_pixels).max())
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
