"""Runs inside Debian's Blender 3.4 in background mode, started by tests/test_blender34_maps.py:
Generate with every map, then report the material's links, its displacement method and the
images' colour spaces. Arguments after '--': <json config path>. Writes a JSON report."""

import json
import sys
import traceback

import bpy

config = json.loads(open(sys.argv[sys.argv.index("--") + 1]).read())
report = {"errors": []}
try:
    bpy.ops.preferences.addon_enable(module="blender_ganart")
    bpy.context.preferences.addons["blender_ganart"].preferences.extra_packages = config["site_packages"]
    bpy.ops.object.select_all(action="DESELECT")
    bpy.ops.mesh.primitive_plane_add()
    for seed in (3, 4):  # the second press reuses the map nodes
        bpy.ops.ganart.generate(model=config["model"], seed=seed, width=64, height=64, map_normal=True,
                                map_roughness=True, map_height=True, map_ao=True)
    material = bpy.context.active_object.active_material
    tree = material.node_tree
    report["links"] = sorted(
        [link.from_node.type, getattr(link.from_node, "image", None) and link.from_node.image.name,
         link.from_socket.identifier, link.to_node.type, link.to_socket.identifier] for link in tree.links)
    report["node_types"] = sorted(node.type for node in tree.nodes)
    report["displacement_method"] = material.cycles.displacement_method
    report["colour_spaces"] = {image.name: image.colorspace_settings.name for image in bpy.data.images
                               if image.get("ganart_source")}
except Exception:  # noqa: BLE001 - everything goes into the report for the test to show
    report["errors"].append(traceback.format_exc())
with open(config["report"], "w") as handle:
    json.dump(report, handle)
