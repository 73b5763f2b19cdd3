"""Full materials in the real `bpy` module (4.5): derived maps as images, wired into the material,
reused when generating again, with variations, Selected Node and the API; and a Cycles render
under grazing light that shows the normal map doing its work."""

from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from bpy_support import enabled_addon, file_state, generate, node_boxes, write_small_model  # noqa: E402
from blender_ganart import api, image_io  # noqa: E402
from helpers import overlapping  # noqa: E402
from blender_ganart.core.derived_maps import MapOptions, decode_normals, derive_maps  # noqa: E402
from blender_ganart.core.errors import SynthesisOptionsError  # noqa: E402
from blender_ganart.core.model_file import load_model  # noqa: E402
from blender_ganart.core.synthesis import SynthesisOptions, synthesize  # noqa: E402

SIZE = 64
ALL_MAPS = dict(map_normal=True, map_roughness=True, map_height=True, map_ao=True)
EIGHT_BIT = 0.5 / 255 + 1e-6


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return write_small_model(tmp_path_factory.mktemp("models"))


@pytest.fixture()
def plane():
    with enabled_addon():
        bpy.ops.mesh.primitive_plane_add(size=2)
        yield bpy.context.active_object



def _pixels(image, channels=3):
    return image_io.read_pixels(image)[..., :channels]


def _nodes(material):
    tree = material.node_tree
    bsdf = next(n for n in tree.nodes if n.type == "BSDF_PRINCIPLED")
    output = next(n for n in tree.nodes if n.type == "OUTPUT_MATERIAL")
    return tree, bsdf, output


def _source(socket):
    return socket.links[0].from_node if socket.links else None


def _no_overlaps(tree):
    boxes = node_boxes(tree)
    assert overlapping(boxes) == [], boxes


def test_every_map_is_an_image_wired_into_the_material(plane, model_path):
    assert generate(SIZE, model=str(model_path), seed=5, **ALL_MAPS) == {"FINISHED"}
    images = bpy.data.images
    assert sorted(images.keys()) == ["Pebbles 5", "Pebbles 5 AO", "Pebbles 5 Height", "Pebbles 5 Normal",
                                     "Pebbles 5 Roughness"]
    assert images["Pebbles 5"].colorspace_settings.name == "sRGB"
    for name in ("AO", "Height", "Normal", "Roughness"):
        assert images[f"Pebbles 5 {name}"].colorspace_settings.name == "Non-Color"
        assert images[f"Pebbles 5 {name}"].packed_file is not None

    # the pixels are the core's derived maps of the core's texture (8-bit rounding only)
    texture = synthesize(load_model(model_path), SynthesisOptions(5, SIZE, SIZE))
    expected = derive_maps(texture)
    np.testing.assert_allclose(_pixels(images["Pebbles 5 Normal"]), expected["normal"], atol=EIGHT_BIT)
    for name, key in (("Roughness", "roughness"), ("Height", "height"), ("AO", "ao")):
        np.testing.assert_allclose(_pixels(images[f"Pebbles 5 {name}"], 1)[..., 0], expected[key], atol=EIGHT_BIT)

    material = plane.active_material
    tree, bsdf, output = _nodes(material)
    mix = _source(bsdf.inputs["Base Color"])
    assert mix.type == "MIX" and mix.blend_type == "MULTIPLY" and mix.data_type == "RGBA"
    a = next(s for s in mix.inputs if s.identifier == "A_Color")
    b = next(s for s in mix.inputs if s.identifier == "B_Color")
    assert _source(a).image == images["Pebbles 5"] and _source(b).image == images["Pebbles 5 AO"]
    assert _source(bsdf.inputs["Roughness"]).image == images["Pebbles 5 Roughness"]
    normal_map = _source(bsdf.inputs["Normal"])
    assert normal_map.type == "NORMAL_MAP" and normal_map.space == "TANGENT"
    assert _source(normal_map.inputs["Color"]).image == images["Pebbles 5 Normal"]
    displacement = _source(output.inputs["Displacement"])
    assert displacement.type == "DISPLACEMENT" and displacement.inputs["Scale"].default_value == pytest.approx(0.02)
    assert _source(displacement.inputs["Height"]).image == images["Pebbles 5 Height"]
    assert material.displacement_method == "DISPLACEMENT"  # the normal map shades; height moves geometry
    _no_overlaps(tree)


def test_normal_maps_in_blender_decode_to_unit_vectors_with_z_dominant(plane, model_path):
    """What the renderer reads: the 8-bit image, after a save and reload of the .blend."""
    generate(SIZE, model=str(model_path), seed=9, map_normal=True, normal_strength=4.0)
    blend = Path(bpy.app.tempdir) / "maps.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    n = decode_normals(_pixels(bpy.data.images["Pebbles 9 Normal"]))
    length = np.linalg.norm(n, axis=2)
    assert abs(length.mean() - 1.0) < 0.02
    assert (n[..., 2] > np.abs(n[..., :2]).max(axis=2)).mean() > 0.95
    assert np.abs(n[..., :2]).mean() > 0.02  # and it is not flat: the strength reached the map


def test_generating_again_reuses_the_map_nodes(plane, model_path):
    generate(SIZE, model=str(model_path), seed=5, **ALL_MAPS)
    tree, bsdf, _ = _nodes(plane.active_material)
    first = {n.name for n in tree.nodes}
    generate(SIZE, model=str(model_path), seed=5, **ALL_MAPS)  # the same seed: nothing new at all
    assert {n.name for n in tree.nodes} == first and len(bpy.data.images) == 5
    generate(SIZE, model=str(model_path), seed=6, **ALL_MAPS)  # a new seed: a new colour node only
    added = {n.name for n in tree.nodes} - first
    assert len(added) == 1 and tree.nodes[added.pop()].image.name == "Pebbles 6"
    assert _source(bsdf.inputs["Roughness"]).image.name == "Pebbles 6 Roughness"
    assert _source(_source(bsdf.inputs["Normal"]).inputs["Color"]).image.name == "Pebbles 6 Normal"
    mix = _source(bsdf.inputs["Base Color"])
    assert _source(next(s for s in mix.inputs if s.identifier == "A_Color")).image.name == "Pebbles 6"
    _no_overlaps(tree)
    # AO turned off: the colour goes straight to Base Color again
    generate(SIZE, model=str(model_path), seed=6, map_normal=True)
    assert _source(bsdf.inputs["Base Color"]).image.name == "Pebbles 6"


def test_variations_each_get_their_maps_and_the_first_is_wired(plane, model_path):
    generate(SIZE, model=str(model_path), seed=20, variations=2, map_normal=True, map_roughness=True)
    assert sorted(bpy.data.images.keys()) == ["Pebbles 20", "Pebbles 20 Normal", "Pebbles 20 Roughness",
                                              "Pebbles 21", "Pebbles 21 Normal", "Pebbles 21 Roughness"]
    tree, bsdf, _ = _nodes(plane.active_material)
    assert _source(bsdf.inputs["Roughness"]).image.name == "Pebbles 20 Roughness"
    shown = {n.image.name for n in tree.nodes if n.type == "TEX_IMAGE"}
    assert shown == set(bpy.data.images.keys())  # every map is in a node (none is lost on save)
    _no_overlaps(tree)


def test_selected_node_gets_the_colour_and_the_bsdf_the_maps(plane, model_path):
    generate(SIZE, model=str(model_path), seed=1)
    tree, bsdf, _ = _nodes(plane.active_material)
    node = _source(bsdf.inputs["Base Color"])
    for other in tree.nodes:
        other.select = False
    node.select = True
    tree.nodes.active = node
    generate(SIZE, model=str(model_path), seed=2, destination="SELECTED_NODE", map_roughness=True)
    assert node.image.name == "Pebbles 2" and _source(bsdf.inputs["Base Color"]) == node
    assert _source(bsdf.inputs["Roughness"]).image.name == "Pebbles 2 Roughness"


def test_colour_off_leaves_base_color_alone(plane, model_path):
    material = bpy.data.materials.new("Painted")
    material.use_nodes = True
    plane.data.materials.append(material)
    generate(SIZE, model=str(model_path), seed=3, map_color=False, map_normal=True)
    tree, bsdf, _ = _nodes(material)
    assert not bsdf.inputs["Base Color"].is_linked and bsdf.inputs["Normal"].is_linked
    assert "Pebbles 3" in bpy.data.images  # made (the maps come from it), kept in a node, not linked


def test_api_returns_every_image(plane, model_path):
    made = api.generate(plane, model=str(model_path), seed=4, width=SIZE, height=SIZE,
                        maps={"normal": 3.0, "height": None})
    assert sorted(made) == ["color", "height", "normal"]
    assert made["normal"].name == "Pebbles 4 Normal" and made["color"].name == "Pebbles 4"
    expected = derive_maps(synthesize(load_model(model_path), SynthesisOptions(4, SIZE, SIZE)), ("normal",),
                           MapOptions(normal_strength=3.0))["normal"]
    np.testing.assert_allclose(_pixels(made["normal"]), expected, atol=EIGHT_BIT)
    assert isinstance(api.generate(plane, model=str(model_path), seed=4, width=SIZE, height=SIZE),
                      bpy.types.Image)
    before = file_state()
    with pytest.raises(SynthesisOptionsError, match="Unknown map 'gloss'"):
        api.generate(plane, model=str(model_path), seed=8, width=SIZE, height=SIZE, maps=("gloss",))
    assert file_state() == before


def test_save_png_writes_every_map(plane, model_path, tmp_path):
    made = api.generate(plane, model=str(model_path), seed=4, width=SIZE, height=SIZE, maps=("normal", "ao"),
                        pack=False, save_path=tmp_path / "rock.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rock.png", "rock_ao.png", "rock_normal.png"]
    from PIL import Image

    saved = np.asarray(Image.open(tmp_path / "rock_normal.png").convert("RGB"), dtype=np.float32) / 255
    np.testing.assert_allclose(saved, _pixels(made["normal"]), atol=EIGHT_BIT)


def _render(scene, path):
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    from PIL import Image

    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255
    return rgb.mean(axis=2)


def test_cycles_grazing_light_shows_the_normal_map(plane, model_path):
    """A grey plane (colour off: no albedo pattern), a sun 80° from the zenith, no sky: the only
    thing that can vary across the render is the shading of the normals.

    Threshold: a Lambertian surface lit from direction l shades as max(0, n·l), so the normal map
    (as Blender stores it) predicts the render's coefficient of variation (std/mean). The render
    blurs that a little (1.5 px pixel filter, 8-bit output), so half the predicted variation is
    required with the normal map wired; without it the plane is flat and only sampling noise and
    8-bit steps are left, which must stay under a fifth of the prediction. Measured (bpy 4.5, 4
    samples): 0.56 with, 0.019 without, 0.88 predicted; correlation with the prediction 0.91, with
    the flipped one 0.12. The render must also correlate with the
    prediction more than with one whose green channel is flipped (DirectX): the map's +Y is up.
    """
    import mathutils

    generate(SIZE, model=str(model_path), seed=2, map_color=False, map_normal=True, normal_strength=4.0)
    tree, bsdf, _ = _nodes(plane.active_material)
    bsdf.inputs["Roughness"].default_value = 1.0
    bsdf.inputs["Specular IOR Level"].default_value = 0.0
    scene = bpy.context.scene
    world = bpy.data.worlds.new("Black")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0, 0, 0, 1)
    scene.world = world
    sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    sun.data.energy, sun.data.angle = 4.0, 0.0
    sun.rotation_euler = (np.radians(80), 0.0, np.radians(135))  # 10° above the horizon, diagonal
    scene.collection.objects.link(sun)
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(camera)
    camera.data.type, camera.data.ortho_scale, camera.location = "ORTHO", 2.0, (0, 0, 3)
    scene.camera = camera
    scene.render.engine = "CYCLES"
    scene.cycles.device, scene.cycles.samples, scene.cycles.use_denoising = "CPU", 4, False
    scene.render.resolution_x = scene.render.resolution_y = SIZE
    scene.view_settings.view_transform = "Standard"
    scene.render.image_settings.file_format = "PNG"
    scene.view_layers.update()

    with_normals = _render(scene, Path(bpy.app.tempdir) / "grazing_with.png")
    tree.links.remove(bsdf.inputs["Normal"].links[0])
    without = _render(scene, Path(bpy.app.tempdir) / "grazing_without.png")

    to_light = np.array(sun.matrix_world.to_3x3() @ mathutils.Vector((0.0, 0.0, 1.0)))
    n = decode_normals(_pixels(bpy.data.images["Pebbles 2 Normal"]))
    n /= np.linalg.norm(n, axis=2, keepdims=True)
    predicted = np.maximum(n @ to_light, 0.0)
    flipped = np.maximum(n * np.array([1.0, -1.0, 1.0]) @ to_light, 0.0)

    def variation(values):
        return float(values.std() / values.mean())

    assert variation(without) < 0.2 * variation(predicted), (variation(without), variation(predicted))
    assert variation(with_normals) > 0.5 * variation(predicted), (variation(with_normals), variation(predicted))
    correlation = np.corrcoef(with_normals.ravel(), predicted.ravel())[0, 1]
    assert correlation > 0.6 and correlation > np.corrcoef(with_normals.ravel(), flipped.ravel())[0, 1] + 0.2


def test_a_full_material_model_wires_its_own_maps_and_derives_the_rest(plane, tmp_path):
    """Normal and height come from the model's own output channels (with the panel's strengths),
    roughness and AO are derived from its colour; the Maps panel's note says which is which."""
    from blender_ganart.core.model_maps import source_note
    from blender_ganart.core.model_reader import read_model

    path = write_small_model(tmp_path, maps=("colour", "normal", "height"))
    assert generate(SIZE, model=str(path), seed=3, normal_strength=4.0, **ALL_MAPS) == {"FINISHED"}
    raw = synthesize(read_model(path), SynthesisOptions(3, SIZE, SIZE))  # (64, 64, 7)
    images = bpy.data.images
    np.testing.assert_allclose(_pixels(images["Pebbles material 3"]), raw[..., :3], atol=EIGHT_BIT)
    np.testing.assert_allclose(_pixels(images["Pebbles material 3 Height"], 1)[..., 0], raw[..., 6], atol=EIGHT_BIT)

    own = raw[..., 3:6] * 2 - 1  # the model's normals, tilted twice as far (strength 4 vs the default 2)
    own[..., :2] *= 2
    own /= np.linalg.norm(own, axis=-1, keepdims=True)
    wired = decode_normals(_pixels(images["Pebbles material 3 Normal"]))
    assert np.sum(wired * own, axis=-1).min() > 0.99  # the model's directions, not derived ones
    derived = derive_maps(raw[..., :3], ("normal", "roughness", "ao"), MapOptions(normal_strength=4.0))
    assert np.abs(decode_normals(derived["normal"]) - own).max() > 0.2  # (derived ones would differ)
    np.testing.assert_allclose(_pixels(images["Pebbles material 3 Roughness"], 1)[..., 0], derived["roughness"],
                               atol=EIGHT_BIT)
    np.testing.assert_allclose(_pixels(images["Pebbles material 3 AO"], 1)[..., 0], derived["ao"], atol=EIGHT_BIT)

    tree, bsdf, output = _nodes(plane.active_material)
    assert _source(_source(bsdf.inputs["Normal"]).inputs["Color"]).image == images["Pebbles material 3 Normal"]
    assert _source(_source(output.inputs["Displacement"]).inputs["Height"]).image == images["Pebbles material 3 Height"]
    assert source_note(read_model(path).card.maps, ("normal", "roughness", "height", "ao")) == \
        ("Learned by the model:", "Normal, Height", "Derived from the colour:", "Roughness, AO")

