"""The add-on's bpy-free parts: model catalog, request checks, worker jobs, finding PyTorch."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from blender_ganart.core import dependencies, generation, jobs, model_catalog
from blender_ganart.core.errors import Cancelled, ModelFileError, SynthesisOptionsError
from blender_ganart.core.model_file import ModelCard, load_model, save_model
from blender_ganart.core.synthesis import SynthesisOptions, synthesize

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def folders(tmp_path, small_generator):
    bundled, user = tmp_path / "bundled", tmp_path / "user"
    bundled.mkdir()
    user.mkdir()
    save_model(bundled / "b_moss.ganart.pt", small_generator, ModelCard(name="Moss", data_license="CC0"))
    save_model(bundled / "a_rock.ganart.pt", small_generator, ModelCard(name="Rock"))
    save_model(user / "mine.ganart.pt", small_generator, ModelCard(name="Mine"))
    (user / "broken.ganart.pt").write_bytes(b"PK\x03\x04 not really a zip")
    (user / "notes.txt").write_text("not a model")
    return bundled, user


def test_bundled_models_come_first_sorted_then_user_models_with_errors_listed(folders):
    bundled, user = folders
    entries = model_catalog.list_models(user, model_catalog.ModelCache(), bundled)
    assert [(e.name, e.bundled) for e in entries] == [
        ("Rock", True), ("Moss", True), ("broken", False), ("Mine", False)]
    broken = entries[2]
    assert broken.card is None and not broken.usable and "truncated or damaged" in broken.error
    assert entries[1].card.data_license == "CC0"


def test_empty_or_missing_bundled_folder_gives_empty_list_and_clear_error(tmp_path):
    empty = tmp_path / "models"
    empty.mkdir()
    assert model_catalog.list_models(None, model_catalog.ModelCache(), empty) == []
    assert model_catalog.list_models(tmp_path / "nowhere", model_catalog.ModelCache(), tmp_path / "gone") == []
    with pytest.raises(ModelFileError, match="No bundled model found"):
        model_catalog.resolve_model(None, None, model_catalog.ModelCache(), empty)


def test_resolve_by_name_file_name_path_and_default(folders):
    bundled, user = folders
    cache = model_catalog.ModelCache()
    assert model_catalog.resolve_model(None, user, cache, bundled).name == "a_rock.ganart.pt"
    assert model_catalog.resolve_model("Mine", user, cache, bundled) == (user / "mine.ganart.pt").resolve()
    assert model_catalog.resolve_model("b_moss", user, cache, bundled).name == "b_moss.ganart.pt"
    path = str(user / "mine.ganart.pt")
    assert model_catalog.resolve_model(path, None, cache, bundled) == Path(path).resolve()
    with pytest.raises(ModelFileError, match="No model named 'Granite'"):
        model_catalog.resolve_model("Granite", user, cache, bundled)
    with pytest.raises(ModelFileError, match="not found"):
        model_catalog.resolve_model(str(user / "gone.ganart.pt"), user, cache, bundled)


def test_cache_reuses_a_model_until_its_file_changes(folders, small_generator):
    bundled, _ = folders
    cache = model_catalog.ModelCache()
    path = bundled / "b_moss.ganart.pt"
    first = cache.load(path)
    assert cache.load(path) is first
    save_model(path, small_generator, ModelCard(name="Moss v2"))
    os.utime(path, ns=(first_stamp := path.stat().st_mtime_ns + 10**9, first_stamp))
    assert cache.load(path).card.name == "Moss v2"


def _request(path, count=1, **overrides):
    options = SynthesisOptions(**{"seed": 5, "width": 64, "height": 48, "tileable": True, "variation": 1.0,
                                  **overrides})
    return generation.GenerationRequest(Path(path), options, count, device="cpu")


@pytest.mark.parametrize("overrides, message", [
    ({"width": 0}, "Width 0 px is out of range"),
    ({"height": 100000}, "Height 100000 px is out of range"),
    ({"count": 0}, "Variations must be 1 to 16"),
    ({"count": True}, "Variations must be 1 to 16"),
    ({"seed": -1}, "Seed: an integer seed must be between 0 and"),
    ({"seed": 2**64 - 1, "count": 2}, "Seed 18446744073709551615 with 2 variations passes 2.64-1"),
])
def test_impossible_requests_are_refused_with_their_reason(small_model_file, overrides, message):
    """Building the request is its check: the error comes before any model is read, in one line."""
    with pytest.raises(SynthesisOptionsError, match=message) as raised:
        _request(small_model_file, **overrides)
    assert len(str(raised.value).splitlines()) == 1


def test_too_large_for_memory_is_refused_before_allocating(small_model_file):
    big = _request(small_model_file, width=8192, height=8192)
    need = generation.memory_needed(8192, 8192, 1, load_model(small_model_file).config)
    assert need > 8192 * 8192 * (12 + 4)  # the texture and Blender's copy at least
    with pytest.raises(generation.NotEnoughMemoryError, match="8192×8192 px needs about .* GiB"):
        generation.check_request(big, memory_limit=need - 1, load_model=load_model)
    generation.check_request(big, memory_limit=need, load_model=load_model)  # exactly enough is allowed
    available = generation.available_memory()
    assert available is None or available > 0


def test_compute_gives_each_variation_its_consecutive_seed(small_model_file):
    model = load_model(small_model_file)
    seen = []
    result = generation.compute(_request(small_model_file, count=2), lambda p: model, progress=seen.append)
    assert [t.seed for t in result.textures] == [5, 6]
    for texture in result.textures:
        expected = synthesize(model, SynthesisOptions(texture.seed, 64, 48), device="cpu")
        np.testing.assert_array_equal(texture.pixels, expected)
    assert result.textures[0].model_name == "Small test model"
    assert seen and seen[-1] == pytest.approx(1.0) and seen == sorted(seen)


def test_job_runs_in_another_thread_and_reports_its_result(small_model_file):
    model = load_model(small_model_file)
    threads = []

    def work(progress, should_cancel):
        threads.append(threading.current_thread())
        return generation.compute(_request(small_model_file), lambda p: model, progress, should_cancel)

    job = jobs.Job(work).start()
    assert job.wait(60)
    assert job.error is None and job.progress == pytest.approx(1.0)
    assert threads[0] is not threading.main_thread() and len(job.result.textures) == 1


def test_cancelled_job_ends_with_cancelled_and_no_result(small_model_file):
    model = load_model(small_model_file)
    started = threading.Event()

    def work(progress, should_cancel):
        started.set()
        while not should_cancel():  # a long job: waits until cancelled, then the real compute sees it
            threading.Event().wait(0.01)
        return generation.compute(_request(small_model_file), lambda p: model, progress, should_cancel)

    job = jobs.Job(work).start()
    assert started.wait(10)
    assert not job.done
    job.cancel()
    assert job.wait(30)
    assert isinstance(job.error, Cancelled) and job.result is None


def test_extra_packages_folder_must_exist_and_is_appended_once(tmp_path):
    with pytest.raises(dependencies.PackagesFolderError, match="not found"):
        dependencies.add_packages_folder(tmp_path / "missing")
    assert dependencies.add_packages_folder("") is None
    before = list(sys.path)
    try:
        assert dependencies.add_packages_folder(tmp_path) == tmp_path.resolve()
        dependencies.add_packages_folder(tmp_path)
        assert sys.path[:len(before)] == before and sys.path.count(str(tmp_path.resolve())) == 1
    finally:
        sys.path[:] = before


def test_missing_torch_gives_install_instructions_in_a_python_without_it(tmp_path, small_model_file):
    """Debian's system Python has no PyTorch: the real case Blender 3.4 users meet. The catalog
    still reads every model (model files need no torch); a damaged one is listed with its reason."""
    python = "/usr/bin/python3.11"
    if not Path(python).exists():
        pytest.skip("needs the system Python 3.11 (Debian's Blender runs on it)")
    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from blender_ganart.core import dependencies, model_catalog\n"
        "try:\n    dependencies.require_torch()\n"
        "except dependencies.TorchMissingError as exc:\n    print('MISSING', exc)\n"
        "for e in model_catalog.list_models(None, model_catalog.ModelCache(), sys.argv[2]):\n"
        "    print('ENTRY', e.name, e.card, e.error)\n"
    )
    (tmp_path / "x.ganart.pt").write_bytes(b"\x80 pretend")
    (tmp_path / "y.ganart.pt").write_bytes(small_model_file.read_bytes())
    out = subprocess.run([python, "-I", "-c", script, str(ROOT), str(tmp_path)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "MISSING PyTorch is not installed for this Python 3.11" in out.stdout
    assert "pip install torch" in out.stdout and "Extra packages folder" in out.stdout
    assert "ENTRY x None 'x.ganart.pt' is not a model file" in out.stdout  # listed with the reason
    assert "ENTRY Small test model ModelCard(" in out.stdout
