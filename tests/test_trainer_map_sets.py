"""Map sets (issue 13 part 1): grouping by every naming convention, DirectX → OpenGL, heights in a
game normal map's alpha, incomplete and mismatched sets, normals that turn with the crop, colour
jitter that leaves the data maps alone. Real PNG files, real Pillow, real torch."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from PIL import Image

from blender_ganart.core.derived_maps import normal_from_height
from trainer import augment
from trainer.data import CropSampler, ImageSet
from trainer.errors import DataError
from trainer.data import find_image_files
from trainer.map_sets import group_sets, load_map_sets, load_training_images, map_role
from trainer.normals import decode, encode_unit, orient

N = 32


def surface(c, r):
    """A smooth periodic height field h(column, row), any real coordinates."""
    return 0.3 * np.sin(2 * np.pi * (2 * c + r) / N) + 0.2 * np.cos(2 * np.pi * (c - 3 * r) / N)


def gl_normals(f, size: int = N, eps: float = 1e-4):
    """OpenGL normals of a continuous height function f(column, row): n ∝ (−∂f/∂x, −∂f/∂y, 1) with
    x = column and y up = −row, from the function itself (steps of 1e-4 px: exact to ~1e-8)."""
    r, c = np.mgrid[0:size, 0:size].astype(np.float64)
    d_col = (f(c + eps, r) - f(c - eps, r)) / (2 * eps)
    d_row = (f(c, r + eps) - f(c, r - eps)) / (2 * eps)
    n = np.stack([-d_col, d_row, np.ones_like(d_col)], axis=-1)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def sampled(f, size: int = N):
    r, c = np.mgrid[0:size, 0:size].astype(np.float64)
    return f(c, r)


def test_normals_turn_with_every_flip_and_rotation_of_a_height_field():
    """For each flip/turn: the field moved by the same array operation as orient() moves pixels,
    written as a coordinate map; its normals, computed from the moved function, must equal the
    moved normals. A wrong sign in any of the 16 cases fails here."""
    last = N - 1
    moves = {"h": lambda c, r: (last - c, r), "v": lambda c, r: (c, last - r), "t": lambda c, r: (last - r, c)}
    encoded = encode_unit(gl_normals(surface))
    height = sampled(surface)
    for hflip, vflip, turns in itertools.product((False, True), (False, True), range(4)):
        steps = ["h"] * hflip + ["v"] * vflip + ["t"] * turns

        def moved(c, r, steps=steps):  # pull back output coordinates through the steps, last first
            for step in reversed(steps):
                c, r = moves[step](c, r)
            return surface(c, r)

        pixels = orient(height[:, :, None], hflip, vflip, turns, None)[:, :, 0]
        assert np.array_equal(pixels, sampled(moved)), f"coordinate map of {steps} is not numpy's"
        turned = decode(orient(encoded, hflip, vflip, turns, slice(0, 3)))
        assert np.abs(turned - gl_normals(moved)).max() < 0.01, (hflip, vflip, turns)


def _save(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(array), mode).save(path)


def _colour(size=(N, N), seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (*size, 3), dtype=np.uint8)


def _gray(value, size=(N, N)):
    return np.full(size, value, dtype=np.uint8)


def test_every_naming_convention_groups_into_sets(tmp_path):
    names = {
        "acg/Bricks_1K_Color.png": "colour", "acg/Bricks_1K_NormalGL.png": "normal",
        "acg/Bricks_1K_Roughness.png": "roughness", "acg/Bricks_1K_Displacement.png": "height",
        "acg/Bricks_1K_AmbientOcclusion.png": "ao",
        "ph/rock_wall_diff_2k.png": "colour", "ph/rock_wall_nor_dx_2k.png": "normal",
        "ph/rock_wall_rough_2k.png": "roughness", "ph/rock_wall_disp_2k.png": "height", "ph/rock_wall_ao_2k.png": "ao",
        "game/wall.png": "colour", "game/wall_nm.png": "normal", "game/wall_sm.png": "specular",
        "game/wall_gm.png": "gloss", "game/tile.png": "colour", "game/tile_n.png": "normal",
        "game/tile_spec.png": "specular", "game/tile_gloss.png": "gloss", "game/floor.png": "colour",
        "game/floor_norm.png": "normal", "game/floor_s.png": "specular",
    }
    for name in names:
        _save(tmp_path / name, _colour())
    _save(tmp_path / "game/sand_s.png", _colour())  # no "sand": a colour texture whose name ends in _s
    _save(tmp_path / "game/lonely_nm.png", _colour())  # a normal map without its colour image
    for name, role in names.items():
        assert map_role(tmp_path / name)[1] == role, name
    assert map_role(tmp_path / "ph/rock_wall_nor_dx_2k.png") == ("rock_wall", "normal", "dx")
    assert map_role(tmp_path / "game/sand_s_1.png")[1] == "colour"
    sets = {s.key.split("/", 1)[-1]: s for s in group_sets(find_image_files(tmp_path), print)}
    by_name = {str(tmp_path / k).rsplit("/", 2)[-1]: s for k, s in sets.items()}
    assert sorted(by_name["Bricks_1K"].files) == ["ao", "height", "normal", "roughness"]
    assert sorted(by_name["rock_wall"].files) == ["ao", "height", "normal", "roughness"]
    assert by_name["rock_wall"].files["normal"][1] == "dx"
    assert sorted(by_name["wall"].files) == ["gloss", "normal", "specular"]
    assert sorted(by_name["tile"].files) == ["gloss", "normal", "specular"]
    assert sorted(by_name["floor"].files) == ["normal", "specular"]
    assert by_name["sand_s"].colour.name == "sand_s.png" and not by_name["sand_s"].files
    assert by_name["lonely"].colour is None


def test_directx_normals_are_stored_as_opengl(tmp_path):
    vector = np.array([0.3, 0.4, math.sqrt(1 - 0.25)])
    gl = encode_unit(np.broadcast_to(vector, (N, N, 3)))
    dx = gl.copy()
    dx[..., 1] = 255 - dx[..., 1]
    for folder, normal_name, stored in (("gl", "a_NormalGL.png", gl), ("dx", "a_NormalDX.png", dx),
                                        ("ph", "a_nor_dx_1k.png", dx)):
        _save(tmp_path / folder / "a_Color.png", _colour())
        _save(tmp_path / folder / normal_name, stored)
        stack = load_map_sets(tmp_path / folder, ("colour", "normal"), 16).images[0]
        assert stack.shape == (N, N, 6)
        assert np.abs(decode(stack[..., 3:6]) - vector).max() < 0.01, folder


@pytest.mark.parametrize("stored_as, depth", [("dx", False), ("gl", False), ("dx", True)])
def test_a_game_normal_maps_alpha_height_gives_the_height_and_the_convention(tmp_path, stored_as, depth):
    height = np.round((sampled(surface) + 0.5) * 255).clip(0, 255).astype(np.uint8)
    # normals of the stored height, the way the add-on derives them (OpenGL), then stored as the game did
    gl = np.round(normal_from_height(height.astype(np.float32) / 255, 8.0) * 255).astype(np.uint8)
    rgb = gl.copy()
    if stored_as == "dx":
        rgb[..., 1] = 255 - rgb[..., 1]
    alpha = 255 - height if depth else height
    _save(tmp_path / "stone.png", _colour())
    _save(tmp_path / "stone_nm.png", np.dstack([rgb, alpha]), "RGBA")
    stack = load_map_sets(tmp_path, ("colour", "normal", "height"), 16).images[0]
    assert np.abs(decode(stack[..., 3:6]) - decode(gl)).max() < 0.02
    assert np.array_equal(stack[..., 6], height)


def test_a_game_normal_map_without_a_height_is_taken_as_directx(tmp_path):
    vector = np.array([0.0, 0.6, 0.8])
    stored = encode_unit(np.broadcast_to(vector * [1, -1, 1], (N, N, 3)))  # DirectX: y down
    _save(tmp_path / "plate.png", _colour())
    _save(tmp_path / "plate_nm.png", stored)
    stack = load_map_sets(tmp_path, ("colour", "normal"), 16).images[0]
    assert np.abs(decode(stack[..., 3:6]) - vector).max() < 0.01
    with pytest.raises(DataError, match="height 0"):  # no alpha: no height
        load_map_sets(tmp_path, ("colour", "normal", "height"), 16)


def test_a_surfaces_normals_fit_it_in_their_own_convention_and_leave_curl_in_the_other():
    from trainer.normals import fit_surface

    vectors = gl_normals(surface)
    height, own = fit_surface(vectors, "gl")
    _, other = fit_surface(vectors, "dx")
    assert own < 1e-6 and other > 0.3
    assert np.corrcoef(height.ravel(), sampled(surface).ravel())[0, 1] > 0.9999
    assert fit_surface(encode_unit(np.broadcast_to([0.0, 0.6, 0.8], (N, N, 3))) / 127.5 - 1, "gl")[1] == 1.0


@pytest.mark.parametrize("shape", [(30, 33), (33, 30)])
def test_a_surface_of_odd_and_even_sides_fits_exactly(shape):
    """The real-FFT energies count conjugate columns twice: an odd or even width must not matter."""
    from trainer.normals import fit_surface

    rows, cols = shape
    r, c = np.mgrid[0:rows, 0:cols].astype(np.float64)
    phase_a, phase_b = 2 * np.pi * (2 * c / cols + r / rows), 2 * np.pi * (c / cols - 3 * r / rows)
    height = 3 * np.sin(phase_a) + 2 * np.cos(phase_b)
    d_col = 3 * np.cos(phase_a) * 4 * np.pi / cols - 2 * np.sin(phase_b) * 2 * np.pi / cols
    d_row = 3 * np.cos(phase_a) * 2 * np.pi / rows + 2 * np.sin(phase_b) * 6 * np.pi / rows
    vectors = np.dstack([-d_col, d_row, np.ones_like(d_col)])
    vectors /= np.linalg.norm(vectors, axis=-1, keepdims=True)
    fitted, residual = fit_surface(vectors, "gl")
    assert residual < 1e-9 and fit_surface(vectors, "dx")[1] > 0.3
    np.testing.assert_allclose(fitted, height - height.mean(), atol=1e-9)


@pytest.mark.parametrize("stored_as", ["gl", "dx"])
def test_a_game_normal_map_without_alpha_gets_its_convention_and_height_from_its_surface(tmp_path, stored_as):
    gl = encode_unit(gl_normals(surface))
    rgb = gl.copy()
    if stored_as == "dx":
        rgb[..., 1] = 255 - rgb[..., 1]
    _save(tmp_path / "plank.png", _colour())
    _save(tmp_path / "plank_nm.png", rgb)  # RGB: no alpha to read a height or a convention from
    messages = []
    stack = load_map_sets(tmp_path, ("colour", "normal", "height"), 16, warn=messages.append).images[0]
    assert np.abs(decode(stack[..., 3:6]) - decode(gl)).max() < 0.02
    assert np.corrcoef(stack[..., 6].ravel().astype(float), sampled(surface).ravel())[0, 1] > 0.99
    assert stack[..., 6].min() <= 2 and stack[..., 6].max() >= 253  # the range a height file would use
    assert any("plank" in m and "integrated from its normal map" in m for m in messages)


def test_a_normal_map_that_is_no_surfaces_gives_no_height(tmp_path):
    """Noise in x and y independently: curl in either convention, so neither is found and no
    height is made up from it; the set is skipped when a height is asked for."""
    rng = np.random.default_rng(3)
    vectors = np.dstack([rng.normal(0, 0.3, (N, N, 2)), np.ones((N, N))])
    _save(tmp_path / "static.png", _colour())
    _save(tmp_path / "static_nm.png", encode_unit(vectors))
    messages = []
    with pytest.raises(DataError, match="height 0"):
        load_map_sets(tmp_path, ("colour", "normal", "height"), 16, warn=messages.append)
    assert any("static" in m and "fit no one surface" in m for m in messages)


def test_incomplete_sets_are_skipped_by_name_and_none_complete_is_an_error(tmp_path):
    _save(tmp_path / "full_Color.png", _colour())
    _save(tmp_path / "full_NormalGL.png", encode_unit(np.broadcast_to([0, 0, 1.0], (N, N, 3))))
    _save(tmp_path / "full_Roughness.png", _gray(200))
    _save(tmp_path / "half_Color.png", _colour(seed=1))
    _save(tmp_path / "half_Roughness.png", _gray(100))
    messages = []
    images = load_map_sets(tmp_path, ("colour", "normal", "roughness"), 16, warn=messages.append)
    assert len(images) == 1 and images.paths[0].name == "full_Color.png" and images.images[0].shape[2] == 7
    assert np.all(images.images[0][..., 6] == 200)
    assert any("half" in m and "no normal map" in m for m in messages)
    assert images.skipped and "no normal" in images.skipped[0][1]
    with pytest.raises(DataError, match="colour 2, normal 1, roughness 2, ao 0"):
        load_map_sets(tmp_path, ("colour", "normal", "roughness", "ao"), 16)


def test_a_map_of_another_size_is_resampled_and_of_another_shape_refused(tmp_path):
    _save(tmp_path / "big_Color.png", _colour((64, 64)))
    _save(tmp_path / "big_Roughness.png", _gray(90, (32, 32)))
    _save(tmp_path / "odd_Color.png", _colour((64, 64)))
    _save(tmp_path / "odd_Roughness.png", _gray(90, (32, 64)))
    messages = []
    images = load_map_sets(tmp_path, ("colour", "roughness"), 16, warn=messages.append)
    assert [p.name for p in images.paths] == ["big_Color.png"]
    assert images.images[0].shape == (64, 64, 4) and np.all(images.images[0][..., 3] == 90)
    assert any("big_Roughness.png is 32x32 px" in m and "resampled" in m for m in messages)
    assert any("odd_Roughness.png is 64x32 px" in m and "cannot be aligned" in m for m in messages)


def test_crops_keep_every_map_aligned_and_normals_true_to_the_cropped_height():
    """A set whose normal map is the normals of its height map: after random crops, flips and
    turns, each crop's normals are still the normals of that crop's height (interior pixels)."""
    size = 64
    rng = np.random.default_rng(3)
    height = np.round(255 * (0.5 + 0.4 * np.sin(np.mgrid[0:size, 0:size][1] / 5.0)
                             * np.cos(np.mgrid[0:size, 0:size][0] / 7.0))).astype(np.uint8)
    normal = np.round(normal_from_height(height.astype(np.float32) / 255, 4.0) * 255).astype(np.uint8)
    colour = np.dstack([height, rng.integers(0, 255, (size, size), dtype=np.uint8), height])
    stack = np.dstack([colour, normal, height])
    sampler = CropSampler(ImageSet([stack], [None], maps=("colour", "normal", "height")), 32, seed=5)
    batch = ((sampler.sample(12) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    for crop in batch:
        assert np.array_equal(crop[..., 0], crop[..., 6]) and np.array_equal(crop[..., 2], crop[..., 6])
        expected = normal_from_height(crop[..., 6].astype(np.float32) / 255, 4.0)[1:-1, 1:-1]
        assert np.abs(crop[1:-1, 1:-1, 3:6] / 255.0 - expected).max() < 0.01


def test_colour_jitter_leaves_the_data_maps_alone():
    torch.manual_seed(0)
    x = torch.rand(4, 7, 16, 16) * 2 - 1
    out = augment.augment(x, ("color",))
    assert torch.equal(out[:, 3:], x[:, 3:])
    assert not torch.allclose(out[:, :3], x[:, :3])
    torch.manual_seed(0)  # colour alone: the same random numbers, so the same colours, as before maps existed
    torch.rand(4, 7, 16, 16)
    assert torch.equal(augment.color(x[:, :3]), out[:, :3])


def test_the_fetcher_takes_map_sets_with_their_alpha(tmp_path):
    import io
    import sys
    import zipfile

    from helpers import ROOT

    sys.path.insert(0, str(ROOT / "scripts"))
    import fetch_textures

    images = {"textures/a.png": Image.fromarray(_colour()), "textures/b.png": Image.fromarray(_colour(seed=2)),
              "textures/a_nm.png": Image.fromarray(np.dstack([_colour(), _gray(77)]), "RGBA"),
              "textures/a_gm.png": Image.fromarray(_gray(10))}
    with zipfile.ZipFile(tmp_path / "t.pk3", "w") as archive:
        for name, image in images.items():
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            archive.writestr(name, buffer.getvalue())
    archive = zipfile.ZipFile(tmp_path / "t.pk3")
    assert fetch_textures.map_siblings(archive, "textures/a.png") == [("textures/a_nm.png", "_nm"),
                                                                      ("textures/a_gm.png", "_gm")]
    assert fetch_textures.map_siblings(archive, "textures/b.png") == []
    normal = fetch_textures.read_map(archive, "pkg", "textures/a_nm.png")
    assert normal.mode == "RGBA" and np.all(np.asarray(normal)[..., 3] == 77)
    catalog = fetch_textures.load_catalog(fetch_textures.CATALOG)
    assert catalog["map_families"] and all(spec["maps_of"] in catalog["families"]
                                           for spec in catalog["map_families"].values())


def test_a_colour_only_run_on_map_sets_is_told_it_would_learn_their_maps_as_colour(tmp_path):
    """--maps colour (the default) on a folder of map sets reads every image, normal maps too, as a
    colour texture; the run says so once, with the --maps that learns them, and still loads the
    folder. A lone `X_n.png` (a colour image whose name ends in a letter) and a folder of plain
    colour images say nothing."""
    _save(tmp_path / "sets" / "mud.png", _colour())
    _save(tmp_path / "sets" / "mud_nm.png", _colour(seed=1))
    _save(tmp_path / "sets" / "sand.png", _colour(seed=2))
    _save(tmp_path / "sets" / "sand_h.png", _gray(90))
    _save(tmp_path / "sets" / "gravel_n.png", _colour(seed=3))
    said = []
    images = load_training_images(tmp_path / "sets", ("colour",), 16, warn=said.append)
    assert len(images.images) == 5 and len(said) == 1
    assert said[0].startswith("2 of the 5 images are normal, height maps beside their colour image (e.g. mud_nm.png)")
    assert "--maps colour,normal,height" in said[0]
    _save(tmp_path / "plain" / "a.png", _colour())
    _save(tmp_path / "plain" / "b_n.png", _colour(seed=4))
    quiet = []
    load_training_images(tmp_path / "plain", ("colour",), 16, warn=quiet.append)
    assert quiet == []
    loud = []
    load_training_images(tmp_path / "sets", ("colour", "normal"), 16, warn=loud.append)
    assert not any("beside their colour image" in message for message in loud)
