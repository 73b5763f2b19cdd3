"""synthesize(): sizes, seamless tiling, tiled == untiled, determinism across processes and devices."""

import sys
from dataclasses import FrozenInstanceError, replace

import numpy as np
import pytest
import torch

from blender_ganart.core.errors import Cancelled, SynthesisOptionsError
from blender_ganart.core.generation import GenerationRequest
from blender_ganart.core.latent import PixelNoise, latent_field
from blender_ganart.core.render import periodic_resize, render
from blender_ganart.core.seeds import parse_seed
from blender_ganart.core.options import MAX_SIZE, MIN_SIZE
from blender_ganart.core.synthesis import SynthesisOptions, synthesize
from helpers import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import determinism_under_load  # noqa: E402

CPU = torch.device("cpu")


@pytest.mark.parametrize("size", [(16, 16), (17, 33), (100, 70), (129, 64)])
@pytest.mark.parametrize("tileable", [True, False])
def test_any_size_in_range_gives_that_shape_in_unit_range(small_generator, size, tileable):
    width, height = size
    texture = synthesize(small_generator, SynthesisOptions(3, width, height, tileable=tileable))
    assert texture.shape == (height, width, 3)
    assert texture.dtype == np.float32
    assert texture.min() >= 0.0 and texture.max() <= 1.0
    assert texture.std() > 0  # not a flat image


def test_extreme_sizes_work(small_generator):
    assert synthesize(small_generator, SynthesisOptions(1, MAX_SIZE, MIN_SIZE)).shape == (MIN_SIZE, MAX_SIZE, 3)
    tall = synthesize(small_generator, SynthesisOptions(1, MIN_SIZE, MAX_SIZE, tileable=False))
    assert tall.shape == (MAX_SIZE, MIN_SIZE, 3)


@pytest.mark.parametrize("width,height", [(0, 64), (15, 64), (64, MAX_SIZE + 1), (-5, 10), (64.0, 64), (True, 64)])
def test_impossible_sizes_are_refused_clearly(small_generator, width, height):
    with pytest.raises(SynthesisOptionsError, match="Width|Height"):
        synthesize(small_generator, SynthesisOptions(0, width, height))


@pytest.mark.parametrize("bad", [dict(variation=-1), dict(truncation=float("nan")), dict(seed=-1), dict(seed=2**64), dict(seed=1.5)])
def test_bad_options_are_refused(small_generator, bad):
    with pytest.raises(SynthesisOptionsError):
        synthesize(small_generator, SynthesisOptions(**{"width": 32, "height": 32, "seed": 0, **bad}))


def test_tileable_texture_of_twice_the_latent_is_the_texture_tiled(default_generator):
    """The issue's exact statement, through the public render path (incl. tiling into head tiles)."""
    config = default_generator.config
    field = torch.from_numpy(latent_field(config, seed=11, cells_h=2, cells_w=3))
    noise = PixelNoise((11,), (2, 3))  # wraps with the small field's period, as the field does
    small = render(default_generator, field, CPU, noise)
    big = render(default_generator, field.tile(1, 1, 2, 2), CPU, noise, tile=64)
    np.testing.assert_allclose(big, np.tile(small, (2, 2, 1)), atol=3e-5, rtol=0)


def test_tileable_holds_for_sizes_that_are_not_whole_cells(small_generator):
    config = small_generator.config
    f = config.upsampling
    field = torch.from_numpy(latent_field(config, seed=5, cells_h=9, cells_w=13))
    noise = PixelNoise((5,), (9, 13))
    width, height = 13 * f + 1, 9 * f - 1  # not multiples of the upsampling factor; round to 13×9 cells
    small = periodic_resize(render(small_generator, field, CPU, noise), height, width)
    big = periodic_resize(render(small_generator, field.tile(1, 1, 2, 2), CPU, noise), 2 * height, 2 * width)
    np.testing.assert_allclose(big, np.tile(small, (2, 2, 1)), atol=3e-5, rtol=0)
    # and synthesize() uses exactly that path
    direct = synthesize(small_generator, SynthesisOptions(5, width, height, tileable=True))
    np.testing.assert_allclose(direct, (np.clip(small, -1, 1) + 1) / 2, atol=1e-6)


def _seam_ratio(texture: np.ndarray) -> float:
    """Mean jump across the wrap-around seam ÷ mean jump between neighbouring interior columns."""
    seam = np.abs(texture[:, 0] - texture[:, -1]).mean()
    interior = np.abs(np.diff(texture, axis=1)).mean()
    return float(seam / interior)


def test_tileable_off_is_not_periodic_and_is_a_window_on_one_plane(small_generator):
    wide = synthesize(small_generator, SynthesisOptions(8, 128, 48, tileable=False))
    narrow = synthesize(small_generator, SynthesisOptions(8, 64, 48, tileable=False))
    # A bigger non-tileable texture shows more of the same plane ...
    np.testing.assert_allclose(narrow, wide[:, :64], atol=1e-5)
    # ... and that plane does not repeat.
    assert np.abs(wide[:, :64] - wide[:, 64:]).mean() > 0.01
    tileable = synthesize(small_generator, SynthesisOptions(8, 128, 48, tileable=True))
    np.testing.assert_allclose(np.roll(tileable, 64, axis=1)[:, 63:65], tileable[:, [-1, 0]], atol=1e-6)


def test_tiled_generation_equals_untiled(default_generator):
    whole = synthesize(default_generator, SynthesisOptions(21, 200, 136, tileable=False), tile=8192)
    tiled = synthesize(default_generator, SynthesisOptions(21, 200, 136, tileable=False), tile=32)
    np.testing.assert_allclose(tiled, whole, atol=2e-5, rtol=0)


def test_tiny_trunk_budget_moves_the_split_and_keeps_the_result(default_generator):
    field = torch.from_numpy(latent_field(default_generator.config, seed=2, cells_h=2, cells_w=2))
    noise = PixelNoise((2,), (2, 2))
    whole = render(default_generator, field, CPU, noise, tile=8192)
    split_early = render(default_generator, field, CPU, noise, tile=48, trunk_budget=1)
    np.testing.assert_allclose(split_early, whole, atol=2e-5, rtol=0)


def test_seeds_decide_the_texture(small_generator):
    a = synthesize(small_generator, SynthesisOptions(0, 64, 64))
    b = synthesize(small_generator, SynthesisOptions(1, 64, 64))
    c = synthesize(small_generator, SynthesisOptions(2**64 - 1, 64, 64))
    assert np.abs(a - b).mean() > 1e-3 and np.abs(b - c).mean() > 1e-3
    np.testing.assert_array_equal(a, synthesize(small_generator, SynthesisOptions(0, 64, 64)))
    # a text seed goes through a stable hash; "123" as text is the integer 123
    np.testing.assert_array_equal(synthesize(small_generator, SynthesisOptions("123", 32, 32)),
                                  synthesize(small_generator, SynthesisOptions(123, 32, 32)))
    assert np.abs(synthesize(small_generator, SynthesisOptions("mossy rock", 32, 32)) - a[:32, :32]).mean() > 1e-3


def test_variation_and_truncation(small_generator):
    # truncation 0: every seed has the same (average) identity; only local noise differs.
    flat_a = synthesize(small_generator, SynthesisOptions(1, 64, 64, truncation=0.0, variation=0.0))
    flat_b = synthesize(small_generator, SynthesisOptions(2, 64, 64, truncation=0.0, variation=0.0))
    np.testing.assert_array_equal(flat_a, flat_b)
    # variation 0: no local noise, so every latent cell is the same and the texture repeats per cell.
    f = small_generator.config.upsampling
    uniform = synthesize(small_generator, SynthesisOptions(1, 64, 64, variation=0.0))
    np.testing.assert_allclose(uniform, np.roll(uniform, f, axis=1), atol=1e-5)


@pytest.mark.parametrize("seed", [4294967295, "brick wall"])
def test_same_seed_same_pixels_in_separate_processes_under_cpu_load(seed):
    """Each child's first texture, with string hashing different per process and both cores busy
    with another process's matrix products: the conditions under which PyTorch's CPU tanh gave one
    child in about 40 other pixels (network.output_tanh). A few children here; hundreds by
    `python scripts/determinism_under_load.py` (the README's figure)."""
    digests = determinism_under_load.first_texture_digests(
        runs=3, load=1, program=determinism_under_load.child_program(ROOT, seed), hash_seeds=("1", "2"))
    assert len(digests) == 1, digests


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_gives_the_cpu_texture(default_generator):
    cpu = synthesize(default_generator, SynthesisOptions(9, 256, 192), device="cpu")
    gpu = synthesize(default_generator, SynthesisOptions(9, 256, 192), device="cuda")
    # True float32 convolutions (no TF32): the GPU's texture matches the CPU's to rounding, and
    # repeats exactly on the GPU.
    np.testing.assert_allclose(gpu, cpu, atol=1e-4, rtol=0)
    np.testing.assert_array_equal(synthesize(default_generator, SynthesisOptions(9, 256, 192), device="cuda"), gpu)


def test_progress_and_cancel(small_generator):
    seen = []
    synthesize(small_generator, SynthesisOptions(0, 256, 256), tile=64, progress=seen.append)
    assert seen and seen[-1] == pytest.approx(1.0) and seen == sorted(seen)
    calls = []

    def cancel_after_two():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        synthesize(small_generator, SynthesisOptions(0, 256, 256), tile=64, should_cancel=cancel_after_two)


def test_unavailable_device_is_refused(small_generator):
    missing = "cuda" if not torch.cuda.is_available() else "tpu"
    with pytest.raises(SynthesisOptionsError, match=missing):
        synthesize(small_generator, SynthesisOptions(0, 32, 32), device=missing)


def test_synthesize_takes_one_options_object(small_generator):
    """The loose-argument form is gone: a seed where the options go is a TypeError that says how."""
    with pytest.raises(TypeError, match=r"SynthesisOptions\(seed=\.\.\., width=\.\.\., height=\.\.\.\)"):
        synthesize(small_generator, 3)


def test_options_are_checked_once_when_built_and_stay_valid():
    """A SynthesisOptions that exists is valid and plain: the text seed already its integer, sizes
    ints; replacing a field checks the new value the same way, in one line."""
    options = SynthesisOptions(" mossy rock ", np.int32(64), np.uint16(48), variation=1)
    assert options.seed == parse_seed(" mossy rock ") and type(options.width) is int and options.variation == 1.0
    assert replace(options, seed=7).seed == 7 and replace(options, seed=7).width == 64
    with pytest.raises(SynthesisOptionsError, match="Width 8 px is out of range") as raised:
        replace(options, width=8)
    assert len(str(raised.value).splitlines()) == 1
    with pytest.raises(FrozenInstanceError):
        options.width = 8


def test_a_request_gives_each_variation_its_options(tmp_path):
    request = GenerationRequest(tmp_path / "m.ganart.pt", SynthesisOptions(2**64 - 3, 32, 48, variation=0.5), count=3)
    seeds = [options.seed for options in request.variations()]
    assert seeds == [2**64 - 3, 2**64 - 2, 2**64 - 1]
    assert {(o.width, o.height, o.variation) for o in request.variations()} == {(32, 48, 0.5)}
