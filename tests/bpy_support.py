"""Helpers the bpy-module tests share: pressing Generate and what a failure must leave unchanged."""

import bpy


def generate(size: int, **options):
    """bpy.ops.ganart.generate with width and height defaulting to `size`."""
    options.setdefault("width", size)
    options.setdefault("height", size)
    return bpy.ops.ganart.generate(**options)


def file_state():
    """What a failed Generate must leave untouched: images, materials, their nodes and links."""
    return (sorted(bpy.data.images.keys()), sorted(bpy.data.materials.keys()),
            [(m.name, len(m.node_tree.nodes) if m.node_tree else 0,
              sorted((link.from_node.name, link.to_node.name) for link in m.node_tree.links) if m.node_tree else [])
             for m in bpy.data.materials])
