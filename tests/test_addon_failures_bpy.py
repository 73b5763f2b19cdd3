"""Careless and hostile uses of the add-on in the real `bpy` module (4.5), from issue 14: PNG
saves that cannot happen, images and materials of the user's that must stay untouched, seeds
and option types scripts pass. Each failure is one line and leaves the file as it was."""

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from bpy_support import file_state, generate  # noqa: E402
from blender_ganart import api, blender_output, image_io  # noqa: E402
from blender_ganart.core import jobs, model_catalog  # noqa: E402
from blender_ganart.core.errors import SynthesisOptionsError  # noqa: E402
from blender_ganart.core.model_file import ModelCard, load_model, save_model  # noqa: E402
from blender_ganart.core.network import Generator, GeneratorConfig  # noqa: E402
from blender_ganart.node_wiring import TargetError  # noqa: E402
from blender_ganart.core.seeds import SEED_MAX, parse_seed  # noqa: E402
from blender_ganart.core.synthesis import SynthesisOptions, synthesize  # noqa: E402

SIZE = 32


def _model(folder, file_name, card_name, seed):
    import torch

    torch.manual_seed(seed)
    generator = Generator(GeneratorConfig(widths=(16, 8, 8), extra_convs=(0, 0, 0))).eval()
    path = folder / file_name
    save_model(path, generator, ModelCard(name=card_name))
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    return _model(folder, "pebbles.ganart.pt", "Pebbles", 1), _model(folder, "other.ganart.pt", "Pebbles", 2)


@pytest.fixture()
def plane():
    import addon_utils

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("blender_ganart", default_set=True)
    bpy.ops.mesh.primitive_plane_add(size=2)
    yield bpy.context.active_object
    jobs.ACTIVE.job = None
    addon_utils.disable("blender_ganart", default_set=True)
    model_catalog.CACHE.clear()


def _generate(**options):
    return generate(SIZE, **options)


def _refused(message, **options):
    before = file_state()
    with pytest.raises((RuntimeError, TargetError, SynthesisOptionsError), match=message) as raised:
        options.pop("call", _generate)(**options)
    assert len(str(raised.value).strip().splitlines()) == 1
    assert file_state() == before
    return raised


@pytest.mark.parametrize("where, message", [
    ("/proc/ganart/out.png", "Cannot save the PNG in /proc/ganart"),
    ("FILE/sub/out.png", "is a file, not a folder"),
    ("pic.jpg", "must be a .png file or a folder, got 'pic.jpg'"),
])
def test_unusable_save_paths_are_refused_before_generating(plane, models, tmp_path, where, message):
    (tmp_path / "FILE").write_text("a file, not a folder")
    save_path = where.replace("FILE", str(tmp_path / "FILE")) if where.startswith("FILE") else where
    if where == "pic.jpg":
        save_path = str(tmp_path / "pic.jpg")
    _refused(message, call=api.generate, target=plane, model=str(models[0]), width=SIZE, height=SIZE,
             save_path=save_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FILE"]


def test_a_save_that_fails_during_delivery_removes_what_it_made(plane, models):
    """The check passed but the PNG still cannot be written (the disk changed in between)."""
    from blender_ganart import node_wiring
    from blender_ganart.core import generation

    request = generation.GenerationRequest(models[0], SynthesisOptions(3, SIZE, SIZE), count=2)
    result = generation.compute(request, load_model)
    plan = node_wiring.plan_target(plane)
    before = file_state()
    with pytest.raises(blender_output.StorageError, match="Could not store the texture .*nothing was changed"):
        blender_output.deliver(result, plan, "SAVE", "/proc/ganart/out.png")
    assert file_state() == before


def test_a_users_image_with_the_same_name_is_never_touched(plane, models):
    mine = bpy.data.images.new("Pebbles 77", 8, 8)
    mine.pixels.foreach_set(np.full(8 * 8 * 4, 0.25, dtype=np.float32))
    _generate(model=str(models[0]), seed=77)
    _generate(model=str(models[0]), seed=77)
    assert mine.name == "Pebbles 77" and tuple(mine.size) == (8, 8)
    np.testing.assert_allclose(image_io.read_pixels(mine), 0.25, atol=1 / 255)
    generated = [i for i in bpy.data.images if i.get(blender_output.SOURCE_KEY)]
    assert len(generated) == 1 and generated[0] != mine
    np.testing.assert_allclose(image_io.read_pixels(generated[0])[..., :3],
                               synthesize(load_model(models[0]), SynthesisOptions(77, SIZE, SIZE)),
                               atol=0.5 / 255 + 1e-6)


def test_two_models_with_the_same_card_name_keep_their_own_images(plane, models):
    _generate(model=str(models[0]), seed=5)
    _generate(model=str(models[1]), seed=5)
    sources = sorted(i[blender_output.SOURCE_KEY] for i in bpy.data.images)
    assert sources == ["other.ganart.pt:5", "pebbles.ganart.pt:5"]
    for image in bpy.data.images:
        path = models[0] if image[blender_output.SOURCE_KEY].startswith("pebbles") else models[1]
        np.testing.assert_allclose(image_io.read_pixels(image)[..., :3],
                                   synthesize(load_model(path), SynthesisOptions(5, SIZE, SIZE)),
                                   atol=0.5 / 255 + 1e-6)


def _material_with(plane, build):
    material = bpy.data.materials.new("Mine")
    material.use_nodes = True
    build(material.node_tree)
    plane.data.materials.append(material)
    return material


def test_a_principled_bsdf_that_is_not_rendered_is_not_wired(plane, models):
    def emission_on_output(tree):
        principled = tree.nodes["Principled BSDF"]
        tree.links.remove(principled.outputs[0].links[0])
        emission = tree.nodes.new("ShaderNodeEmission")
        tree.links.new(emission.outputs[0], tree.nodes["Material Output"].inputs["Surface"])

    _material_with(plane, emission_on_output)
    _refused("No Principled BSDF feeds the Material Output of 'Mine'", model=str(models[0]), seed=1)


def test_the_bsdf_behind_a_mix_shader_gets_the_texture_not_a_stray_one(plane, models):
    def stray_and_mixed(tree):
        stray = tree.nodes["Principled BSDF"]
        tree.links.remove(stray.outputs[0].links[0])
        mix = tree.nodes.new("ShaderNodeMixShader")
        rendered = tree.nodes.new("ShaderNodeBsdfPrincipled")
        rendered.name = "Rendered"
        tree.links.new(rendered.outputs[0], mix.inputs[2])
        tree.links.new(mix.outputs[0], tree.nodes["Material Output"].inputs["Surface"])

    material = _material_with(plane, stray_and_mixed)
    _generate(model=str(models[0]), seed=1)
    nodes = material.node_tree.nodes
    assert nodes["Rendered"].inputs["Base Color"].is_linked
    assert not nodes["Principled BSDF"].inputs["Base Color"].is_linked


def test_a_grease_pencil_material_is_refused(plane, models):
    material = bpy.data.materials.new("Pencil")
    bpy.data.materials.create_gpencil_data(material)
    _refused("'Pencil' is a Grease Pencil material", call=api.generate, target=material, model=str(models[0]),
             width=SIZE, height=SIZE)
    assert not material.use_nodes


def test_scripts_may_pass_numpy_integers_and_text_seeds(plane, models):
    image = api.generate(plane, model=str(models[0]), seed=np.int64(9), width=np.int32(SIZE), height=np.int64(SIZE))
    assert image.name == "Pebbles 9"
    image = api.generate(plane, model=str(models[0]), seed="hello", width=SIZE, height=SIZE)
    assert image.name == f"Pebbles {parse_seed('hello')}"
    _refused("variation must be a number", call=api.generate, target=plane, model=str(models[0]),
             width=SIZE, height=SIZE, variation=None)
    _refused("Seed: a seed is an integer or a text", call=api.generate, target=plane, model=str(models[0]),
             width=SIZE, height=SIZE, seed=2.5)


@pytest.mark.parametrize("seed", [str(SEED_MAX), "mossy rock", "①"])
def test_the_panel_takes_any_seed_the_core_takes(plane, models, seed):
    bpy.context.scene.ganart.seed = seed
    _generate(model=str(models[0]))
    image = next(i for i in bpy.data.images if i.get(blender_output.SOURCE_KEY))
    assert image.name == f"Pebbles {parse_seed(seed)}"


def test_random_seed_draws_from_the_whole_64_bit_range(plane):
    drawn = []
    for _ in range(16):
        bpy.ops.ganart.random_seed()
        drawn.append(parse_seed(bpy.context.scene.ganart.seed))
    assert all(0 <= seed <= SEED_MAX for seed in drawn) and max(drawn) >= 2**32


def test_generate_while_another_runs_says_why(plane, models):
    import threading

    release = threading.Event()
    jobs.ACTIVE.job = jobs.Job(lambda _progress, _cancel: release.wait(30)).start()
    try:
        with pytest.raises(RuntimeError, match="A texture is being generated"):
            _generate(model=str(models[0]))
    finally:
        release.set()
        jobs.ACTIVE.job.wait(30)


def test_generate_in_a_fresh_scene_prints_no_enum_warning(plane, models, capfd):
    capfd.readouterr()
    _generate(model=str(models[0]), seed=2)
    _generate(seed=2)  # the model from the panel: none chosen yet, so the first bundled one
    out, err = capfd.readouterr()
    assert "matches no enum" not in out + err
