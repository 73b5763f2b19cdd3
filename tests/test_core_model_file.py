"""The model file: round trip, and one clear ModelFileError for every way a file can be wrong."""

import pickle
import zipfile

import numpy as np
import pytest
import torch

from blender_ganart.core.errors import ModelFileError
from blender_ganart.core.model_file import FORMAT_NAME, ModelCard, load_model, save_model
from blender_ganart.core.network import Generator, GeneratorConfig
from blender_ganart.core.synthesis import SynthesisOptions, synthesize


def _payload(path):
    return torch.load(path, weights_only=True)


def test_round_trip_keeps_card_config_and_pixels(tmp_path, small_generator):
    card = ModelCard(name="Moss", description="green", training_data="test", data_license="CC0",
                     native_size=64, training_steps=10, training_command="python -m trainer train")
    path = tmp_path / "moss.ganart.pt"
    save_model(path, small_generator, card, half=False)
    loaded = load_model(path)
    assert loaded.card == card and loaded.config == small_generator.config and loaded.path == path
    options = SynthesisOptions(3, 48, 48)
    np.testing.assert_array_equal(synthesize(loaded, options), synthesize(small_generator, options))


def test_half_precision_file_is_smaller_and_close(tmp_path, default_generator):
    full, half = tmp_path / "full.pt", tmp_path / "half.pt"
    save_model(full, default_generator, ModelCard(), half=False)
    save_model(half, default_generator, ModelCard())
    assert half.stat().st_size < 0.6 * full.stat().st_size
    assert half.stat().st_size < 5 * 2**20  # the default architecture ships under 5 MB
    a = synthesize(load_model(full), SynthesisOptions(1, 64, 64))
    b = synthesize(load_model(half), SynthesisOptions(1, 64, 64))
    assert np.abs(a - b).max() < 0.02


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "nope.ganart.pt")


def test_directory_is_not_a_model(tmp_path):
    with pytest.raises(ModelFileError, match="not a file"):
        load_model(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.ganart.pt"
    path.write_bytes(b"")
    with pytest.raises(ModelFileError, match="empty"):
        load_model(path)


def test_an_image_is_not_a_model(tmp_path):
    from PIL import Image

    path = tmp_path / "texture.png"
    Image.new("RGB", (8, 8), "red").save(path)
    with pytest.raises(ModelFileError, match="not a model file|damaged"):
        load_model(path)


def test_truncated_file(small_model_file):
    data = small_model_file.read_bytes()
    small_model_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated|damaged"):
        load_model(small_model_file)


def test_some_other_torch_file_is_not_a_model(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"weight": torch.zeros(3)}, path)
    with pytest.raises(ModelFileError, match="not a blender_ganart model file"):
        load_model(path)


def test_wrong_version(small_model_file):
    payload = _payload(small_model_file)
    payload["version"] = 99
    torch.save(payload, small_model_file)
    with pytest.raises(ModelFileError, match="version 99"):
        load_model(small_model_file)


def test_shape_mismatch(small_model_file):
    payload = _payload(small_model_file)
    name = next(k for k in payload["state_dict"] if k.endswith("weight"))
    payload["state_dict"][name] = torch.zeros(2, 2)
    torch.save(payload, small_model_file)
    with pytest.raises(ModelFileError, match="shape"):
        load_model(small_model_file)


def test_config_that_does_not_match_the_weights(small_model_file):
    payload = _payload(small_model_file)
    payload["config"]["widths"] = [64, 16, 8]
    torch.save(payload, small_model_file)
    with pytest.raises(ModelFileError, match="shape"):
        load_model(small_model_file)


def test_missing_weights_and_damaged_config(small_model_file):
    payload = _payload(small_model_file)
    payload["state_dict"].pop(next(iter(payload["state_dict"])))
    torch.save(payload, small_model_file)
    with pytest.raises(ModelFileError, match="missing"):
        load_model(small_model_file)
    payload["config"] = {"widths": "abc", "bogus": 1}
    torch.save(payload, small_model_file)
    with pytest.raises(ModelFileError, match="architecture"):
        load_model(small_model_file)


def test_non_finite_weights(small_model_file):
    payload = _payload(small_model_file)
    name = next(iter(payload["state_dict"]))
    payload["state_dict"][name] = torch.full_like(payload["state_dict"][name], float("nan"))
    torch.save(payload, small_model_file)
    with pytest.raises(ModelFileError, match="finite"):
        load_model(small_model_file)


class _CreatesAFile:
    """Unpickling this calls open(path, 'w'): a stand-in for any code a crafted file could run."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("container", ["torch_zip", "raw_pickle"])
def test_crafted_pickle_does_not_run(tmp_path, small_generator, container):
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "evil.ganart.pt"
    payload = {"format": FORMAT_NAME, "version": 1, "config": small_generator.config.to_dict(),
               "card": {}, "state_dict": small_generator.state_dict(), "surprise": _CreatesAFile(marker)}
    if container == "torch_zip":
        torch.save(payload, path)
        assert zipfile.is_zipfile(path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    assert not marker.exists()
    with pytest.raises(ModelFileError, match="refused|not a model|damaged"):
        load_model(path)
    assert not marker.exists(), "loading a model file ran code from it"


def test_card_channels_must_match_outputs(tmp_path):
    generator = Generator(GeneratorConfig(out_channels=1, widths=(4, 4), extra_convs=(0, 0)))
    with pytest.raises(ValueError, match="channels"):
        save_model(tmp_path / "x.pt", generator, ModelCard(channels=("R", "G", "B")))
    save_model(tmp_path / "gray.pt", generator, ModelCard(channels=("Height",)))
    assert load_model(tmp_path / "gray.pt").card.channels == ("Height",)


def test_save_is_atomic_and_leaves_no_temporary(tmp_path, small_generator):
    path = tmp_path / "m.ganart.pt"
    save_model(path, small_generator, ModelCard())
    save_model(path, small_generator, ModelCard(name="again"))
    assert [p.name for p in tmp_path.iterdir()] == ["m.ganart.pt"]
    assert load_model(path).card.name == "again"
