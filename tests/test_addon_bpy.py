"""The add-on inside the real `bpy` module (4.5): registration, Generate, save/reload, every
failure, the headless API and a Cycles render. One process; the file is reset between tests."""

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

import blender_ganart  # noqa: E402
from helpers import overlapping  # noqa: E402
from bpy_support import enabled_addon, file_state, generate, node_boxes, write_small_model  # noqa: E402
from blender_ganart import api, image_io  # noqa: E402
from blender_ganart.core.model_file import load_model  # noqa: E402
from blender_ganart.core.synthesis import SynthesisOptions, synthesize  # noqa: E402

SIZE = 64


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return write_small_model(tmp_path_factory.mktemp("models"))


@pytest.fixture()
def addon():
    with enabled_addon():
        yield



@pytest.fixture()
def plane(addon):
    bpy.ops.mesh.primitive_plane_add(size=2)
    return bpy.context.active_object


def _generate(**options):
    return generate(SIZE, **options)


def _rgb(image):
    return image_io.read_pixels(image)[..., :3]


def test_register_and_unregister_twice_leaves_blender_clean():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    for _ in range(2):
        blender_ganart.register()
        assert hasattr(bpy.types.Scene, "ganart") and hasattr(bpy.ops.ganart, "generate")
        assert bpy.ops.ganart.generate.get_rna_type().identifier == "GANART_OT_generate"
        assert "VIEW3D_PT_ganart" in dir(bpy.types) and "NODE_PT_ganart" in dir(bpy.types)
        blender_ganart.unregister()
        assert not hasattr(bpy.types.Scene, "ganart")
        assert "VIEW3D_PT_ganart" not in dir(bpy.types) and "GANART_AP_preferences" not in dir(bpy.types)


class _RecordedLayout:
    """Records what draw() puts on screen: a UILayout exists only while a real window draws."""

    def __init__(self):
        self.labels = []

    def prop(self, *_args, **_kwargs):
        pass

    def label(self, text="", icon="NONE"):
        self.labels.append(text)

    def row(self):
        return self


def test_preferences_put_the_packages_folder_on_sys_path_on_change_and_draw_changes_nothing(addon, tmp_path):
    """draw() runs on every redraw: it once appended the folder to sys.path each time it ran."""
    prefs = bpy.context.preferences.addons["blender_ganart"].preferences
    chosen, later = tmp_path / "chosen", tmp_path / "later"
    chosen.mkdir()
    before = list(sys.path)
    try:
        prefs.extra_packages = str(chosen)  # the update callback adds it
        assert sys.path == before + [str(chosen.resolve())]
        later.mkdir()
        for folder, shown in ((later, "is not searched yet"), (tmp_path / "missing", "not found"),
                              ("", "PyTorch found")):  # this venv has PyTorch
            added, modules = list(sys.path), set(sys.modules)
            layout = _RecordedLayout()
            type(prefs).draw(SimpleNamespace(layout=layout, extra_packages=str(folder)), bpy.context)
            assert sys.path == added and set(sys.modules) == modules, "draw() changed sys.path or imported"
            assert any(shown in text for text in layout.labels), layout.labels
    finally:
        prefs.extra_packages = ""
        sys.path[:] = before


def test_generate_into_new_material_matches_core_synthesis(plane, model_path):
    assert _generate(model=str(model_path), seed=11) == {"FINISHED"}
    material = plane.active_material
    image = bpy.data.images["Pebbles 11"]
    expected = synthesize(load_model(model_path), SynthesisOptions(11, SIZE, SIZE))
    assert tuple(image.size) == (SIZE, SIZE) and image.colorspace_settings.name == "sRGB"
    assert np.abs(_rgb(image) - expected).max() <= 0.5 / 255 + 1e-6  # 8-bit rounding only
    bsdf = next(n for n in material.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    link = bsdf.inputs["Base Color"].links[0]
    assert link.from_node.type == "TEX_IMAGE" and link.from_node.image == image
    assert image.packed_file is not None
    assert "Pebbles, seed 11; 64×64 px in" in bpy.context.scene.ganart.last_result


def test_generating_again_updates_the_same_image_and_node(plane, model_path):
    _generate(model=str(model_path), seed=3)
    _generate(model=str(model_path), seed=3, width=32, height=32)
    assert [i.name for i in bpy.data.images] == ["Pebbles 3"] and tuple(bpy.data.images[0].size) == (32, 32)
    nodes = plane.active_material.node_tree.nodes
    assert sum(n.type == "TEX_IMAGE" for n in nodes) == 1
    np.testing.assert_allclose(_rgb(bpy.data.images[0]),
                               synthesize(load_model(model_path), SynthesisOptions(3, 32, 32)),
                               atol=0.5 / 255 + 1e-6)


def test_variations_get_consecutive_seeds_and_non_overlapping_nodes(plane, model_path):
    _generate(model=str(model_path), seed=20, variations=3)
    assert sorted(bpy.data.images.keys()) == ["Pebbles 20", "Pebbles 21", "Pebbles 22"]
    boxes = node_boxes(plane.active_material.node_tree)
    assert len(boxes) == 5 and overlapping(boxes) == [], boxes  # output, BSDF, three image nodes


def test_existing_material_keeps_its_nodes_and_gets_the_link(plane, model_path):
    material = bpy.data.materials.new("Mine")
    material.use_nodes = True
    plane.data.materials.append(material)
    before = {n.name for n in material.node_tree.nodes}
    _generate(model=str(model_path), seed=1)
    assert plane.active_material == material and len(bpy.data.materials) == 1
    assert before < {n.name for n in material.node_tree.nodes}


def test_replace_selected_image_node(plane, model_path):
    _generate(model=str(model_path), seed=1)
    tree = plane.active_material.node_tree
    node = next(n for n in tree.nodes if n.type == "TEX_IMAGE")
    for other in tree.nodes:
        other.select = False
    node.select = True
    tree.nodes.active = node
    _generate(model=str(model_path), seed=2, destination="SELECTED_NODE")
    assert node.image.name == "Pebbles 2" and sum(n.type == "TEX_IMAGE" for n in tree.nodes) == 1


def test_save_and_reload_keeps_the_pixels(plane, model_path, tmp_path):
    _generate(model=str(model_path), seed=5)
    before = _rgb(bpy.data.images["Pebbles 5"]).copy()
    blend = tmp_path / "scene.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    np.testing.assert_array_equal(_rgb(bpy.data.images["Pebbles 5"]), before)


def test_save_png_next_to_the_blend(plane, model_path, tmp_path):
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    _generate(model=str(model_path), seed=8, storage="SAVE")
    png = tmp_path / "Pebbles 8.png"
    from PIL import Image

    saved = np.asarray(Image.open(png).convert("RGB"), dtype=np.float32) / 255
    np.testing.assert_allclose(saved, synthesize(load_model(model_path), SynthesisOptions(8, SIZE, SIZE)),
                               atol=0.5 / 255 + 1e-6)
    assert bpy.data.images["Pebbles 8"].packed_file is None


@pytest.mark.parametrize("setup, options, message", [
    ("nothing", {}, "No active object"),
    ("camera", {}, "is a camera, not a mesh"),
    ("plane", {"model": "/nowhere/gone.ganart.pt"}, "Model file not found"),
    ("plane", {"model": "CORRUPT"}, "truncated or damaged"),
    ("plane", {"width": 0}, "Width 0 px is out of range"),
    ("plane", {"width": 8192, "height": 8192, "memory_limit": 1.0}, "needs about .* GiB"),
    ("plane", {"destination": "SELECTED_NODE"}, "Select an Image Texture node"),
    ("plane", {"storage": "SAVE"}, "Save the .blend file first"),
    ("plane", {"model": "Granite"}, "No model named .Granite."),
])
def test_each_failure_is_one_report_and_changes_nothing(addon, model_path, tmp_path, setup, options, message):
    if setup == "camera":
        bpy.ops.object.camera_add()
    elif setup == "plane":
        bpy.ops.mesh.primitive_plane_add()
    options = dict(options)
    if options.get("model") == "CORRUPT":
        corrupt = tmp_path / "corrupt.ganart.pt"
        corrupt.write_bytes(model_path.read_bytes()[:2000])
        options["model"] = str(corrupt)
    if "memory_limit" in options:
        bpy.context.preferences.addons["blender_ganart"].preferences.memory_limit_gb = options.pop("memory_limit")
    options.setdefault("model", str(model_path))
    before = file_state()
    # bpy.ops turns an operator's ERROR report + CANCELLED into a RuntimeError carrying the report.
    with pytest.raises(RuntimeError, match=message) as raised:
        _generate(**options)
    assert len(str(raised.value).strip().splitlines()) == 1
    assert file_state() == before


def test_headless_api_lists_and_generates(addon, model_path, tmp_path):
    bpy.context.preferences.addons["blender_ganart"].preferences.models_folder = str(model_path.parent)
    entries = api.list_models()
    assert [(e.name, e.bundled) for e in entries if not e.bundled] == [("Pebbles", False)]
    bpy.ops.mesh.primitive_cube_add()
    cube = bpy.context.active_object
    image = api.generate(cube, model="Pebbles", seed=4, width=SIZE, height=48)
    assert image.name == "Pebbles 4" and tuple(image.size) == (SIZE, 48)
    np.testing.assert_allclose(_rgb(image), synthesize(load_model(model_path), SynthesisOptions(4, SIZE, 48)),
                               atol=0.5 / 255 + 1e-6)
    material = bpy.data.materials.new("Given")
    image2 = api.generate(material, model=str(model_path), seed=6, width=SIZE, height=SIZE,
                          save_path=tmp_path / "out.png")
    assert (tmp_path / "out.png").is_file() and image2.packed_file is not None
    links = [n for n in material.node_tree.nodes if n.type == "BSDF_PRINCIPLED"][0].inputs["Base Color"].links
    assert links[0].from_node.image == image2
    from blender_ganart.node_wiring import TargetError

    light = bpy.data.objects.new("Lamp", bpy.data.lights.new("Lamp", "POINT"))
    with pytest.raises(TargetError, match="not a mesh"):
        api.generate(light, model=str(model_path))


def test_cycles_render_shows_the_texture(plane, model_path):
    """A plane under a uniform white sky, diffuse only: each rendered pixel is the albedo."""
    _generate(model=str(model_path), seed=2)
    texture = synthesize(load_model(model_path), SynthesisOptions(2, SIZE, SIZE))
    material = plane.active_material
    bsdf = next(n for n in material.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Roughness"].default_value = 1.0
    bsdf.inputs["Specular IOR Level"].default_value = 0.0
    scene = bpy.context.scene
    world = bpy.data.worlds.new("White")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (1, 1, 1, 1)
    scene.world = world
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(camera)
    camera.data.type = "ORTHO"
    camera.data.ortho_scale = 2.0
    camera.location = (0, 0, 3)
    scene.camera = camera
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 8
    scene.cycles.use_denoising = False
    scene.render.resolution_x = scene.render.resolution_y = 32
    scene.view_settings.view_transform = "Standard"
    scene.render.image_settings.file_format = "PNG"
    out = Path(bpy.app.tempdir) / "ganart_render.png"
    scene.render.filepath = str(out)
    bpy.ops.render.render(write_still=True)
    from PIL import Image

    rendered = np.asarray(Image.open(out).convert("RGB"), dtype=np.float32) / 255
    assert np.abs(rendered.mean(axis=(0, 1)) - texture.mean(axis=(0, 1))).max() < 0.04
    # and it is the texture, not its average: the render keeps its pattern
    small = texture.reshape(32, 2, 32, 2, 3).mean(axis=(1, 3))
    assert np.corrcoef(rendered.ravel(), small.ravel())[0, 1] > 0.8
