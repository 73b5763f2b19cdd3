"""Helpers the bpy-module tests share: the add-on enabled in a fresh scene, pressing Generate, what
a failure must leave unchanged, and where the nodes of a material are."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import bpy

from helpers import node_box


@contextmanager
def enabled_addon() -> Iterator[None]:
    """A factory-fresh scene with the add-on enabled the way Blender enables add-ons (so its
    preferences exist); disabled afterwards with the model cache emptied. Errors in the add-on's
    register/unregister raise instead of being printed."""
    import addon_utils

    from blender_ganart.core import model_catalog

    def _raise(exc):
        raise exc

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("blender_ganart", default_set=True, handle_error=_raise)
    assert "blender_ganart" in bpy.context.preferences.addons
    try:
        yield
    finally:
        addon_utils.disable("blender_ganart", default_set=True, handle_error=_raise)
        model_catalog.CACHE.clear()


def write_small_model(folder: Path, maps: tuple[str, ...] = ("colour",)) -> Path:
    """A small real model file ("Pebbles") for the bpy tests; a plain function, not a fixture:
    importing one test module's fixtures into another made the bpy module hang at exit.
    maps beyond colour: a full-material model ("Pebbles material") whose output holds those maps."""
    import torch

    from blender_ganart.core.model_file import ModelCard, save_model
    from blender_ganart.core.model_maps import channel_count, channel_names
    from blender_ganart.core.network import Generator, GeneratorConfig

    torch.manual_seed(7)
    config = GeneratorConfig(widths=(32, 16, 8), extra_convs=(0, 0, 0), out_channels=channel_count(maps))
    generator = Generator(config).eval()
    material = maps != ("colour",)
    path = folder / ("pebbles-material.ganart.pt" if material else "pebbles.ganart.pt")
    card = ModelCard(name="Pebbles material" if material else "Pebbles", description="test", data_license="CC0",
                     channels=channel_names(maps), maps=maps)
    save_model(path, generator, card)
    return path


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


def node_boxes(tree) -> dict:
    """{node name: its box} (helpers.node_box): drawn sizes where a window drew the tree, else
    each node's real width and the height of its header and socket rows. Rows counted: the
    visible outputs and the linked inputs (an unlinked input may sit in a collapsed panel of a
    Blender 4 node and take no row of its own)."""
    scale = bpy.context.preferences.system.ui_scale
    boxes = {}
    for node in tree.nodes:
        if node.type == "FRAME":
            continue
        rows = sum(s.enabled and not s.hide for s in node.outputs) + sum(s.is_linked for s in node.inputs)
        boxes[node.name] = node_box(node.location.x, node.location.y, node.width, tuple(node.dimensions), scale,
                                    rows)
    return boxes
