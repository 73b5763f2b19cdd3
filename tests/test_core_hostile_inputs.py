"""Hostile and careless inputs to the core (no Blender): crafted model files, odd option types,
sizes that a model's cell size blows up. Each must end in one GanArtError line with nothing big
allocated. The cases are numbered as in issue 14; `CASES` feeds the README's failure list."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from blender_ganart.core import generation, model_catalog
from blender_ganart.core.errors import ModelFileError, SynthesisOptionsError
from blender_ganart.core.model_file import ModelCard, load_model, save_model
from blender_ganart.core.network import Generator, GeneratorConfig
from blender_ganart.core.seeds import parse_seed
from blender_ganart.core.synthesis import SynthesisOptions

ROOT = Path(__file__).resolve().parents[1]


def _rewrite(path: Path, change) -> Path:
    """Loads the payload of a real model file, lets `change` edit it, saves it back."""
    payload = torch.load(path, weights_only=True)
    change(payload)
    torch.save(payload, path)
    return path


def _set_config(**values):
    return lambda payload: payload["config"].update(values)


def _set_card(**values):
    return lambda payload: payload["card"].update(values)


def _set_first_weight(make):
    def change(payload):
        name = next(iter(payload["state_dict"]))
        payload["state_dict"][name] = make(payload["state_dict"][name])
    return change


def _deflate_bomb(path: Path) -> Path:
    """A real model plus a 256 MiB tensor of zeros, re-zipped with deflate: ~0.3 MB on disk."""
    _rewrite(path, lambda payload: payload["state_dict"].update(padding=torch.zeros(64 * 2**20)))
    packed = path.with_name("packed.zip")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
    os.replace(packed, path)
    return path


# (case, how the file is made from a real small model file, the error's gist)
CASES = [
    ("widths of a million channels", _set_config(widths=[10**6] * 3), "widths must be 0 to 4096"),
    ("ten million extra convolutions", _set_config(extra_convs=[10**7, 0, 0]), "extra_convs must be 0 to 16"),
    ("a local_dim of 10⁹", _set_config(local_dim=10**9), "local_dim must be a whole number"),
    ("an infinite width", _set_config(widths=[float("inf"), 8, 8]), "damaged architecture description"),
    ("16 levels (32768-px cells)", _set_config(widths=[4] * 16, extra_convs=[0] * 16), "at most 12 levels"),
    ("40 levels", _set_config(widths=[4] * 40, extra_convs=[0] * 40), "at most 12 levels"),
    ("the widest config the bounds allow, over small weights",
     _set_config(widths=[4096] * 12, extra_convs=[16] * 12), "weights do not match|shape"),
    ("a card whose name is a number", _set_card(name=5), "card's name must be text"),
    ("a card whose channels are a number", _set_card(channels=3), "channels must be a list"),
    ("a card whose native size is text", _set_card(native_size="big"), "native_size must be a whole number"),
    ("float8 weights", _set_first_weight(lambda t: t.to(torch.float8_e4m3fn)), "float8_e4m3fn"),
    ("sparse weights", _set_first_weight(lambda t: t.to_sparse()), "sparse"),
    ("integer weights", _set_first_weight(lambda t: t.to(torch.int32)), "int32"),
    ("a deflate bomb (256 MiB of zeros in 0.3 MB)", None, "decompression bomb"),
]


def _make_case(path: Path, change) -> Path:
    return _deflate_bomb(path) if change is None else _rewrite(path, change)


@pytest.mark.parametrize("case, change, message", CASES, ids=[c[0] for c in CASES])
def test_each_bad_model_file_is_one_clear_error(small_model_file, case, change, message):
    path = _make_case(small_model_file, change)
    with pytest.raises(ModelFileError, match=message) as raised:
        load_model(path)
    assert len(str(raised.value).splitlines()) == 1 and len(str(raised.value)) < 400


def test_a_bare_pickle_is_refused_before_torch_reads_it(tmp_path):
    """torch's legacy format lets a few bytes of header ask for any storage size; save_model
    never writes it, so it is refused by its first byte."""
    path = tmp_path / "legacy.ganart.pt"
    torch.save({"x": torch.zeros(4)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(ModelFileError, match="not a model file"):
        load_model(path)


_PEAK_SCRIPT = """
import resource, sys
from blender_ganart.core.model_file import load_model
from blender_ganart.core.errors import ModelFileError
load_model(sys.argv[1])  # a good file: torch and a model, the baseline
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for path in sys.argv[2:]:
    try:
        load_model(path)
    except ModelFileError:
        pass
    else:
        raise SystemExit("loaded " + path)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)
"""


def test_refusing_every_bad_file_costs_almost_no_memory(tmp_path, small_generator):
    """Peak resident memory of one process that refuses every case above, over a good load."""
    good = tmp_path / "good.ganart.pt"
    save_model(good, small_generator, ModelCard(name="Good"))
    bad = []
    for index, (_case, change, _message) in enumerate(CASES):
        path = tmp_path / f"bad{index}.ganart.pt"
        save_model(path, small_generator, ModelCard(name="Bad"))
        bad.append(str(_make_case(path, change)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(good), *bad], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    extra_mib = int(done.stdout.split()[-1])
    print(f"peak memory over a good load while refusing {len(bad)} bad files: {extra_mib} MiB")
    assert extra_mib < 64


def test_failed_loads_are_cached_until_the_file_changes(small_model_file, small_generator):
    _deflate_bomb(small_model_file)
    cache = model_catalog.ModelCache()
    with pytest.raises(ModelFileError, match="bomb"):
        cache.load(small_model_file)
    stamp = small_model_file.stat()
    # Other bytes with the same size and time: only the cached failure can still say "bomb".
    small_model_file.write_bytes(b"\0" * stamp.st_size)
    os.utime(small_model_file, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    with pytest.raises(ModelFileError, match="bomb"):
        cache.load(small_model_file)
    save_model(small_model_file, small_generator, ModelCard(name="Fixed"))
    os.utime(small_model_file, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))
    assert cache.load(small_model_file).card.name == "Fixed"


def test_a_bare_file_name_finds_the_model_in_the_models_folder(tmp_path, small_generator, monkeypatch):
    user = tmp_path / "user"
    user.mkdir()
    save_model(user / "x.ganart.pt", small_generator, ModelCard(name="Ex"))
    monkeypatch.chdir(tmp_path)  # not where the file is
    found = model_catalog.resolve_model("x.ganart.pt", user, model_catalog.ModelCache(), tmp_path / "none")
    assert found == (user / "x.ganart.pt").resolve()
    with pytest.raises(ModelFileError, match="not found.*nor in the bundled models"):
        model_catalog.resolve_model("y.ganart.pt", user, model_catalog.ModelCache(), tmp_path / "none")


def test_memory_check_counts_the_models_cell_size(tmp_path):
    """A 12-level model renders whole 2048-px cells: a 64×64 request costs 2048² pixels first."""
    torch.manual_seed(0)
    deep = Generator(GeneratorConfig(local_dim=2, global_dim=2, widths=[4] * 12, extra_convs=[0] * 12))
    path = tmp_path / "deep.ganart.pt"
    save_model(path, deep, ModelCard(name="Deep"))
    request = generation.GenerationRequest(path, SynthesisOptions(width=64, height=64), device="cpu")
    need = generation.memory_needed(64, 64, 1, load_model(path).config)
    assert need - generation.memory_needed(64, 64) > 2048 * 2048 * 3 * 4
    with pytest.raises(generation.NotEnoughMemoryError, match="renders whole 2048-px cells"):
        generation.check_request(request, memory_limit=need - 1, load_model=load_model)
    generation.check_request(request, memory_limit=need, load_model=load_model)


@pytest.mark.parametrize("options", [
    dict(seed=np.int64(7), width=np.int32(32), height=np.uint16(32)),
    dict(seed=np.uint64(2**64 - 1)),
    dict(seed="hello"), dict(seed="²"), dict(seed="①"), dict(seed="\ud800"),
])
def test_numpy_integers_and_any_text_are_seeds_and_sizes(options):
    validated = SynthesisOptions(**{"width": 32, "height": 32, **options})
    assert type(validated.seed) is int and type(validated.width) is int and 0 <= validated.seed < 2**64


def test_unicode_digits_are_text_not_numbers():
    assert parse_seed("²") != 2 and parse_seed("①") != 1 and parse_seed("42") == 42


@pytest.mark.parametrize("options, message", [
    (dict(variation=None), "variation must be a number"),
    (dict(variation="lots"), "variation must be a number"),
    (dict(seed=None), "Seed: a seed is an integer or a text"),
    (dict(seed=1.5), "Seed: a seed is an integer or a text"),
    (dict(width=32.0), "Width must be a whole number"),
])
def test_wrong_types_are_one_options_error(options, message):
    with pytest.raises(SynthesisOptionsError, match=message):
        SynthesisOptions(**{"width": 32, "height": 32, **options})


def test_readme_lists_every_refused_model_file():
    """The README's list is generated from CASES; run scripts/readme_failures.py after changing them."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from readme_failures import rewritten

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert rewritten(readme) == readme, "README.md is out of date: run python scripts/readme_failures.py"
