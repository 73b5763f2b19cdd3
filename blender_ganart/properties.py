"""The panel's settings, one PropertyGroup on the scene (`scene.ganart`), saved with the .blend,
and the generation options it shares with the Generate operator, declared once (`GenerationOptions`).

The operator has these options too (so scripts, F3 search and the redo panel see them): both
classes inherit them from the one mixin, and their limits come from the core (core/options.py,
core/map_options.py). When the panel's button invokes the operator, it fills unset options from here.
"""

import zlib

import bpy

from . import preferences

from .core import model_catalog
from .core.map_options import MAX_STRENGTH, MapOptions
from .core.options import MAX_AMOUNT, MAX_SIZE, MAX_VARIATIONS, MIN_SIZE

SIZE_PRESETS = ("512", "1024", "2048", "4096")
FILE_CHOICE = "FILE"

# Blender keeps only pointers to the strings a dynamic enum callback returns; Python must keep the
# strings alive or the menu shows garbage. This list holds the latest items for that reason.
_model_items_alive: list = []


def model_items(_self, context):
    settings = preferences.current(context)
    items = []
    for entry in model_catalog.list_models(settings.models_folder):
        origin = "Bundled" if entry.bundled else "Your models folder"
        tip = f"{origin}: {entry.path}" + (f" — cannot be used: {entry.error}" if entry.error else "")
        items.append((model_id(entry), entry.name, tip, "ERROR" if entry.error else "TEXTURE",
                      _stable_number(model_id(entry))))
    items.append((FILE_CHOICE, "Model file…", "A generator file (*.ganart.pt) anywhere on disk",
                  "FILE_FOLDER", 1))
    _model_items_alive[:] = items
    return _model_items_alive


def model_id(entry: model_catalog.ModelEntry) -> str:
    return ("bundled:" if entry.bundled else "user:") + entry.path.name


def chosen_model(settings, context=None) -> str:
    """The panel's model choice as an identifier, '' while none is stored.

    Reading `settings.model` before a choice is stored makes Blender print "WARN
    pyrna_enum_to_py: current value '0' matches no enum" (0 is no item's number), on every
    Generate in a fresh scene; the stored number is matched against the items instead.
    """
    number = settings.get("model")
    if number is None:
        return ""
    return next((item[0] for item in model_items(settings, context) if item[4] == number), "")


def model_path_for(choice: str, model_file: str, context=None) -> str:
    """The enum choice (or the file path for 'Model file…') → what model_catalog.resolve_model takes."""
    if choice == FILE_CHOICE:
        return bpy.path.abspath(model_file) if model_file else ""
    settings = preferences.current(context)
    for entry in model_catalog.list_models(settings.models_folder):
        if model_id(entry) == choice:
            return str(entry.path)
    return ""


def _stable_number(identifier: str) -> int:
    """Enum values are what the .blend stores; derive them from the identifier so a choice
    survives models being added or removed (list positions would shift)."""
    return 2 + zlib.crc32(identifier.encode()) % (2**31 - 3)


class GenerationOptions:
    """The generation options of the panel and of the Generate operator: both classes inherit
    these annotations (Blender registers a mixin's properties with each class that uses it)."""

    width: bpy.props.IntProperty(name="Width", min=0, soft_min=MIN_SIZE, soft_max=MAX_SIZE, default=1024,
                                 subtype="PIXEL")  # min 0, not MIN_SIZE: a too small size gets the core's message
    height: bpy.props.IntProperty(name="Height", min=0, soft_min=MIN_SIZE, soft_max=MAX_SIZE, default=1024,
                                  subtype="PIXEL")
    tileable: bpy.props.BoolProperty(name="Tileable", default=True,
                                     description="Opposite edges match, so the texture repeats without seams")
    variation: bpy.props.FloatProperty(name="Detail variation", min=0.0, max=MAX_AMOUNT, soft_max=2.0, default=1.0,
                                       description="Strength of the local noise (1 = as trained)")
    variations: bpy.props.IntProperty(name="Variations", min=1, max=MAX_VARIATIONS, default=1,
                                      description="How many textures, from consecutive seeds")
    destination: bpy.props.EnumProperty(
        name="Destination",
        items=(
            ("NEW_NODE", "Material", "An Image Texture node on the active material's Base Color"),
            ("SELECTED_NODE", "Selected Node", "Replace the image of the selected Image Texture node"),
        ),
    )
    storage: bpy.props.EnumProperty(
        name="Storage",
        items=(
            ("PACK", "Pack", "Keep the image inside the .blend file"),
            ("SAVE", "Save PNG", "Save a PNG next to the .blend file"),
        ),
    )
    map_color: bpy.props.BoolProperty(name="Colour", default=True,
                                      description="Link the colour to Base Color (it is always generated: "
                                                  "the other maps come from it)")
    map_normal: bpy.props.BoolProperty(name="Normal", description="A normal map (OpenGL) through a Normal "
                                                                  "Map node into Normal")
    map_roughness: bpy.props.BoolProperty(name="Roughness", description="A roughness estimate into Roughness")
    map_height: bpy.props.BoolProperty(name="Height", description="A height map through a Displacement node "
                                                                  "into the Material Output")
    map_ao: bpy.props.BoolProperty(name="AO", description="Ambient occlusion multiplied into the colour")
    normal_strength: bpy.props.FloatProperty(name="Normal strength", min=0.0, max=MAX_STRENGTH, soft_max=10.0,
                                             default=2.0, description="Slope of the normals (bakes into the map)")
    roughness_strength: bpy.props.FloatProperty(name="Roughness strength", min=0.0, max=MAX_STRENGTH, soft_max=3.0,
                                                default=1.0, description="How far roughness moves from 0.6")
    height_strength: bpy.props.FloatProperty(name="Height scale", min=0.0, max=MAX_STRENGTH, soft_max=1.0,
                                             default=0.02, description="The Displacement node's Scale (scene units)")
    ao_strength: bpy.props.FloatProperty(name="AO strength", min=0.0, max=MAX_STRENGTH, soft_max=3.0, default=1.0,
                                         description="How much occlusion darkens")


OPTION_NAMES = tuple(GenerationOptions.__annotations__)


class GANART_PG_settings(GenerationOptions, bpy.types.PropertyGroup):
    model: bpy.props.EnumProperty(name="Model", description="The generator that makes the texture",
                                  items=model_items)
    model_file: bpy.props.StringProperty(name="Model file", subtype="FILE_PATH",
                                         description="A generator file (*.ganart.pt)")
    seed: bpy.props.StringProperty(name="Seed", default="0",
                                   description="An integer up to 2^64-1 or any text; the same seed, model "
                                               "and options give the same texture")
    size: bpy.props.EnumProperty(
        name="Size",
        items=[(s, f"{s}×{s}", f"{s}×{s} pixels") for s in SIZE_PRESETS]
        + [("CUSTOM", "Custom", "Set width and height")],
        default="1024",
    )
    last_result: bpy.props.StringProperty(name="Last result", options={"SKIP_SAVE"})

    def pixel_size(self) -> tuple[int, int]:
        if self.size == "CUSTOM":
            return self.width, self.height
        side = int(self.size)
        return side, side


def map_options(source):
    """The Maps options of the panel or the operator (GenerationOptions' names) as MapOptions."""
    return MapOptions(color=source.map_color, normal=source.map_normal, roughness=source.map_roughness,
                      height=source.map_height, ao=source.map_ao, normal_strength=source.normal_strength,
                      roughness_strength=source.roughness_strength, height_strength=source.height_strength,
                      ao_strength=source.ao_strength)


classes = (GANART_PG_settings,)


def register_properties() -> None:
    bpy.types.Scene.ganart = bpy.props.PointerProperty(type=GANART_PG_settings)


def unregister_properties() -> None:
    del bpy.types.Scene.ganart
