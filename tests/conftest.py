"""Shared fixtures: small real generators and real model files written to temporary folders."""

from __future__ import annotations

import sys

import pytest

from helpers import ROOT, with_active_noise

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def small_config():
    from blender_ganart.core.network import GeneratorConfig

    # Three levels (4 px per latent cell) keep tests fast while exercising every code path.
    return GeneratorConfig(local_dim=4, global_dim=6, widths=(32, 16, 8), extra_convs=(1, 1, 0))


@pytest.fixture(scope="session")
def small_generator(small_config):
    import torch

    from blender_ganart.core.network import Generator

    torch.manual_seed(1234)
    return with_active_noise(Generator(small_config)).eval()


@pytest.fixture(scope="session")
def default_generator():
    import torch

    from blender_ganart.core.network import Generator, GeneratorConfig

    torch.manual_seed(99)
    return with_active_noise(Generator(GeneratorConfig())).eval()


@pytest.fixture()
def small_model_file(tmp_path, small_generator):
    from blender_ganart.core.model_file import ModelCard, save_model

    path = tmp_path / "small.ganart.pt"
    save_model(path, small_generator, ModelCard(name="Small test model", native_size=32))
    return path


@pytest.fixture()
def blender_env(tmp_path, small_generator):
    """For tests that start Debian's Blender: a user scripts folder with the add-on linked in, and
    a models folder with one model; the environment to start Blender with, and the model's path."""
    import os

    from blender_ganart.core.model_file import ModelCard, save_model

    addons = tmp_path / "scripts" / "addons"
    addons.mkdir(parents=True)
    (addons / "blender_ganart").symlink_to(ROOT / "blender_ganart")
    models = tmp_path / "models"
    models.mkdir()
    model = models / "pebbles.ganart.pt"
    save_model(model, small_generator, ModelCard(name="Pebbles", description="Test model", data_license="CC0"))
    env = dict(os.environ, BLENDER_USER_SCRIPTS=str(tmp_path / "scripts"), BLENDER_USER_CONFIG=str(tmp_path / "config"))
    env.pop("PYTHONPATH", None)
    return env, model
