"""Seeds and the latent field: stable, portable, and independent of the field's size."""

import hashlib

import numpy as np
import pytest
import torch

from blender_ganart.core.devices import module_on, resolve_device
from blender_ganart.core.errors import SynthesisOptionsError
from blender_ganart.core.latent import latent_field
from blender_ganart.core.seeds import SEED_MAX, mix, parse_seed


def test_integer_seeds_are_kept_and_checked():
    assert parse_seed(0) == 0 and parse_seed(2**32 - 1) == 2**32 - 1 and parse_seed(SEED_MAX) == SEED_MAX
    for bad in (-1, SEED_MAX + 1):
        with pytest.raises(ValueError):
            parse_seed(bad)
    for bad in (True, 1.0, None):
        with pytest.raises(TypeError):
            parse_seed(bad)


def test_text_seeds_use_a_stable_hash_not_python_hash():
    expected = int.from_bytes(hashlib.sha256("mossy rock".encode()).digest()[:8], "little")
    assert parse_seed("mossy rock") == expected
    assert parse_seed(" 42 ") == 42  # digits typed as text are that integer
    assert parse_seed("ümlaut") != parse_seed("umlaut")


def test_mix_is_a_fixed_function():
    # Pinned values: if these change, every user's seed gives another texture.
    assert mix(0) == 0x6E789E6AA1B965F4
    assert mix(1, 2) != mix(2, 1)
    assert len({mix(7, i) for i in range(1000)}) == 1000


def test_cell_noise_depends_on_position_not_field_size(small_config):
    big = latent_field(small_config, 77, 24, 24, origin=(-5, -9))
    window = latent_field(small_config, 77, 7, 11, origin=(2, 4))
    np.testing.assert_array_equal(window, big[:, :, 7:14, 13:24])


def test_global_code_is_shared_and_local_noise_is_not(small_config):
    field = latent_field(small_config, 3, 4, 4)[0]
    local, glob = field[: small_config.local_dim], field[small_config.local_dim :]
    np.testing.assert_array_equal(glob, np.broadcast_to(glob[:, :1, :1], glob.shape))
    assert local.std() > 0.5


def test_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(SynthesisOptionsError, match="Unknown device"):
        resolve_device("quantum")


def test_module_on_moves_a_copy_and_leaves_the_callers_module_alone(small_generator):
    """Generation on a GPU must not move the add-on's cached model (or the trainer's G) off the CPU;
    the meta device stands in for a GPU here: a real device other than the module's."""
    assert module_on(small_generator, torch.device("cpu")) is small_generator
    moved = module_on(small_generator, torch.device("meta"))
    assert moved is not small_generator
    assert {p.device.type for p in moved.parameters()} == {"meta"}
    assert {p.device.type for p in small_generator.parameters()} == {"cpu"}
    with torch.inference_mode():  # where render() calls it
        assert not any(p.is_inference() for p in module_on(small_generator, torch.device("meta")).parameters())
