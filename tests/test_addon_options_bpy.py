"""The generation options, declared once (properties.GenerationOptions), in the real `bpy` module:
the panel's PropertyGroup and the Generate operator get the same options with the core's limits,
and the headless API reaches the service layer without the UI module."""

import subprocess
import sys

import pytest

bpy = pytest.importorskip("bpy")

from bpy_support import enabled_addon, generate, write_small_model  # noqa: E402
from blender_ganart import properties  # noqa: E402
from blender_ganart.core.map_options import MAX_STRENGTH  # noqa: E402
from blender_ganart.core.options import MAX_AMOUNT, MAX_SIZE, MAX_VARIATIONS, MIN_SIZE  # noqa: E402
from blender_ganart.core.seeds import parse_seed  # noqa: E402
from helpers import ROOT  # noqa: E402

# The options that were declared twice before, and had drifted (variations' max, descriptions).
ONCE_DECLARED = {"width", "height", "tileable", "variation", "variations", "destination", "storage", "map_color",
                 "map_normal", "map_roughness", "map_height", "map_ao", "normal_strength", "roughness_strength",
                 "height_strength", "ao_strength"}
ATTRIBUTES = ("type", "name", "description", "default", "hard_min", "hard_max", "soft_min", "soft_max", "subtype")


@pytest.fixture()
def addon():
    with enabled_addon():
        yield



def _definition(prop) -> dict:
    found = {name: getattr(prop, name) for name in ATTRIBUTES if hasattr(prop, name)}
    if prop.type == "ENUM":
        found["items"] = [(item.identifier, item.name, item.description) for item in prop.enum_items]
    return found


def test_panel_and_operator_have_the_same_options(addon):
    panel = bpy.types.Scene.bl_rna.properties["ganart"].fixed_type.properties
    operator = bpy.ops.ganart.generate.get_rna_type().properties
    assert set(properties.OPTION_NAMES) == ONCE_DECLARED
    for name in properties.OPTION_NAMES:
        assert _definition(panel[name]) == _definition(operator[name]), name


def test_option_limits_are_the_cores(addon):
    operator = bpy.ops.ganart.generate.get_rna_type().properties
    for name in ("width", "height"):  # hard min 0: a too small size gets the core's own message
        assert (operator[name].hard_min, operator[name].soft_min, operator[name].soft_max) == (0, MIN_SIZE, MAX_SIZE)
    assert operator["variation"].hard_max == MAX_AMOUNT and operator["variations"].hard_max == MAX_VARIATIONS
    for name in ("normal_strength", "roughness_strength", "height_strength", "ao_strength"):
        assert operator[name].hard_max == MAX_STRENGTH, name


def test_a_text_seed_from_the_panel_reaches_the_texture_as_its_integer(addon, tmp_path):
    """The panel's text seed fills the operator's seed_text and is parsed once, into the image name."""
    model = write_small_model(tmp_path)
    bpy.ops.mesh.primitive_plane_add()
    bpy.context.scene.ganart.seed = "mossy rock"
    assert generate(32, model=str(model)) == {"FINISHED"}
    assert list(bpy.data.images.keys()) == [f"Pebbles {parse_seed('mossy rock')}"]


def test_the_headless_api_does_not_import_the_ui_modules():
    """api.py goes through service.py; the operators and panels are never imported on the way."""
    code = ("import sys, bpy, blender_ganart.api; "
            "print(sorted(m for m in sys.modules if m.startswith('blender_ganart.')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = done.stdout.strip().splitlines()[-1]
    assert "'blender_ganart.service'" in loaded
    assert "'blender_ganart.operators'" not in loaded and "'blender_ganart.panels'" not in loaded, loaded
