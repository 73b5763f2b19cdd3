"""The NumPy runtime gives the PyTorch runtime's pixels, and needs neither torch nor bpy."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from blender_ganart.core import architecture, numpy_runtime
from blender_ganart.core.errors import Cancelled, SynthesisOptionsError
from blender_ganart.core.latent import PixelNoise, latent_field
from blender_ganart.core.model_file import ModelCard, load_model, save_model
from blender_ganart.core.model_reader import read_model
from blender_ganart.core.network import Generator, GeneratorConfig
from blender_ganart.core.runtime import choose_runtime
from blender_ganart.core.synthesis import SynthesisOptions, synthesize

from helpers import cached_venv, with_active_noise

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted((ROOT / "blender_ganart" / "models").glob("*.ganart.pt"))
TOLERANCE = 1e-4  # max abs difference of the [0, 1] textures (float32 rounding through ~10 convs)

SMALL = dict(local_dim=4, global_dim=6, widths=(32, 16, 8), extra_convs=(1, 1, 0))
ARCHITECTURES = {
    "bilinear+noise": GeneratorConfig(**SMALL),
    "nearest (files before 0.2)": GeneratorConfig(**SMALL, upsample="nearest", noise=False),
    # 32 → 4 channels: a noise block with fewer phase rows (16) than inputs takes the scatter layout
    "narrowing noise block": GeneratorConfig(local_dim=4, global_dim=6, widths=(32, 4, 8), extra_convs=(0, 0, 0)),
    "default": GeneratorConfig(),
    # plane waves at levels 1 and 2 (periodic.py), in the gather layout, then in the scatter one
    "plane waves": GeneratorConfig(local_dim=4, global_dim=6, widths=(32, 16, 8, 8, 8), extra_convs=(1, 1, 0, 0, 0),
                                   periodic_dim=3),
    "narrowing block with plane waves": GeneratorConfig(local_dim=4, global_dim=6, widths=(32, 4, 8, 8, 8),
                                                        extra_convs=(0, 0, 0, 0, 0), periodic_dim=2),
}


@pytest.fixture(scope="module", params=list(ARCHITECTURES))
def generator(request):
    torch.manual_seed(7)
    return with_active_noise(Generator(ARCHITECTURES[request.param])).eval()


def test_one_plan_gives_the_torch_networks_weights():
    for config in ARCHITECTURES.values():
        state = Generator(config).state_dict()
        assert architecture.parameter_shapes(config) == {k: tuple(v.shape) for k, v in state.items()}


@pytest.mark.parametrize("tileable", [True, False])
@pytest.mark.parametrize("cells", [(2, 3), (2.5, 1.25)], ids=["whole cells", "not whole cells"])
def test_numpy_gives_the_pytorch_pixels(generator, tileable, cells):
    f = generator.config.upsampling
    width, height = max(16, int(cells[1] * f)), max(16, int(cells[0] * f))
    torch_texture = synthesize(generator, SynthesisOptions(5, width, height, tileable), runtime="pytorch")
    numpy_texture = synthesize(generator, SynthesisOptions(5, width, height, tileable), runtime="numpy")
    assert numpy_texture.shape == torch_texture.shape == (height, width, 3)
    assert numpy_texture.std() > 0.01
    assert np.abs(numpy_texture - torch_texture).max() <= TOLERANCE


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
def test_bundled_models_give_the_same_pixels_in_both_runtimes(path):
    data = read_model(path)
    for tileable, size in ((True, (96, 64)), (False, (70, 45))):
        a = synthesize(data, SynthesisOptions(3, *size, tileable), runtime="pytorch")
        b = synthesize(data, SynthesisOptions(3, *size, tileable), runtime="numpy")
        assert np.abs(a - b).max() <= TOLERANCE


def test_tiled_equals_untiled_and_the_split_may_move(generator):
    config = generator.config
    net = numpy_runtime.NumpyGenerator.from_torch(generator)
    field = latent_field(config, 9, 5, 4)
    noise = PixelNoise((9,), (5, 4))
    whole = numpy_runtime.render(net, field, noise, tile=10**6)
    np.testing.assert_allclose(numpy_runtime.render(net, field, noise, tile=8), whole, atol=1e-6, rtol=0)
    np.testing.assert_allclose(numpy_runtime.render(net, field, noise, trunk_budget=1), whole, atol=1e-6, rtol=0)


@pytest.mark.parametrize("box", [(-1, 4, -1, 6), (-7, 12, 3, 9), (2, 3, -11, -4)],
                         ids=["padding", "wraps twice", "left of the field"])
def test_padded_window_wraps_like_indexing_modulo_the_field(box):
    """A head tile's window is cut from the trunk with plain slices; it must read what indexing
    modulo the field reads, however often it wraps, laid out as Conv reads it."""
    field = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    top, bottom, left, right = box
    padded = numpy_runtime.Padded.window(field, top, bottom, left, right)
    expected = field[:, np.arange(top, bottom)[:, None] % 3, np.arange(left, right)[None, :] % 4]
    assert (padded.height, padded.width) == (bottom - top - 2, right - left - 2)
    np.testing.assert_array_equal(padded.flat[:, :-2].reshape(expected.shape), expected)
    assert padded.flat.flags.c_contiguous and not padded.flat[:, -2:].any()


def test_tileable_numpy_texture_tiles_exactly():
    torch.manual_seed(3)
    net = numpy_runtime.NumpyGenerator.from_torch(with_active_noise(Generator(ARCHITECTURES["bilinear+noise"])))
    field = latent_field(net.config, 11, 2, 3)
    noise = PixelNoise((11,), (2, 3))
    small = numpy_runtime.render(net, field, noise)
    big = numpy_runtime.render(net, np.tile(field, (1, 1, 2, 2)), noise, tile=8)
    np.testing.assert_allclose(big, np.tile(small, (2, 2, 1)), atol=1e-5, rtol=0)


def test_progress_and_cancel(generator):
    seen = []
    synthesize(generator, SynthesisOptions(1, 64, 64), runtime="numpy", tile=16, progress=seen.append)
    assert len(seen) > 1 and seen == sorted(seen) and seen[-1] == 1.0
    with pytest.raises(Cancelled):
        synthesize(generator, SynthesisOptions(1, 64, 64), runtime="numpy", tile=16,
                   should_cancel=lambda: len(seen) > 0)


def test_runtime_choice():
    assert choose_runtime("auto").name == "pytorch"  # torch is installed here
    assert choose_runtime("numpy").name == "numpy"
    with pytest.raises(SynthesisOptionsError, match="needs the PyTorch runtime"):
        choose_runtime("numpy", "cuda")
    with pytest.raises(SynthesisOptionsError, match="Unknown runtime"):
        choose_runtime("onnx")


NO_TORCH = """
import sys, time
sys.modules["torch"] = None  # `import torch` raises ImportError, as in a stock Blender
sys.path.insert(0, sys.argv[1])
import numpy as np
from blender_ganart.core import runtime
from blender_ganart.core.model_reader import read_model
from blender_ganart.core.synthesis import SynthesisOptions, synthesize
chosen = runtime.choose_runtime("auto")
assert chosen.name == "numpy" and "PyTorch not found" in chosen.note, chosen
try:
    runtime.choose_runtime("pytorch")
except Exception as exc:
    print("PYTORCH", type(exc).__name__, str(exc).splitlines()[0])
data = read_model(sys.argv[2])
np.save(sys.argv[3], synthesize(data, SynthesisOptions(4, 80, 48, tileable=True)))
np.save(sys.argv[4], synthesize(data, SynthesisOptions(4, 40, 36, tileable=False)))
assert "torch" not in {m.split(".")[0] for m, v in sys.modules.items() if v is not None}
print("NUMPY", np.__version__)
"""


def no_torch_run(python: str, model: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """Runs NO_TORCH in `python`; checks its textures against this process's PyTorch runtime."""
    outs = [tmp_path / "tileable.npy", tmp_path / "window.npy"]
    out = subprocess.run([python, "-I", "-c", NO_TORCH, str(ROOT), str(model), *map(str, outs)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    loaded = load_model(model)
    expected = (synthesize(loaded, SynthesisOptions(4, 80, 48, tileable=True), runtime="pytorch"),
                synthesize(loaded, SynthesisOptions(4, 40, 36, tileable=False), runtime="pytorch"))
    for path, want in zip(outs, expected):
        assert np.abs(np.load(path) - want).max() <= TOLERANCE
    return out


@pytest.fixture()
def noisy_model_file(tmp_path):
    torch.manual_seed(5)
    path = tmp_path / "noisy.ganart.pt"
    save_model(path, with_active_noise(Generator(ARCHITECTURES["bilinear+noise"])), ModelCard(name="Noisy"))
    return path


@pytest.mark.parametrize("python", [sys.executable, "/usr/bin/python3"], ids=["venv", "system python"])
def test_loader_and_runtime_work_where_torch_cannot_be_imported(python, noisy_model_file, tmp_path):
    """The system Python is what Debian's Blender 3.4 runs on: Debian's NumPy, no PyTorch."""
    if not os.path.exists(python):
        pytest.skip(f"{python} is not installed")
    out = no_torch_run(python, noisy_model_file, tmp_path)
    assert "PYTORCH TorchMissingError PyTorch is not installed" in out.stdout


def _matrix_python(name: str) -> str | None:
    """A Python 3.13 with NumPy 2.x in a cached venv (Blender 5.1's pair), built on first use."""
    import shutil

    candidates = [*map(str, sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"))),
                  shutil.which("python3.13")]
    base = next((c for c in candidates if c and subprocess.run([c, "-c", "pass"], capture_output=True).returncode == 0),
                None)
    return None if base is None else cached_venv(name, base, ["numpy>=2,<3"])


def test_numpy_2_on_python_3_13(noisy_model_file, tmp_path):
    """NumPy 2.x changed scalar promotion and removed aliases; the runtime must not care."""
    python = _matrix_python("numpy2-py313")
    if python is None:
        pytest.skip("no Python 3.13 here (python3.13 on PATH or in ~/.pyenv); NumPy 2.x untested")
    assert "NUMPY 2." in no_torch_run(python, noisy_model_file, tmp_path).stdout
