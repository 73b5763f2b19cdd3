"""Property-based fuzzing of what users hand the core: model files and synthesis arguments.

Every mutated model file (truncated, bytes flipped, config values, tensor shapes and dtypes, card
field types, archive entries re-packed as decompression bombs) must either load or raise one
ModelFileError line; every synthesis argument either validates to plain types or raises one
SynthesisOptionsError line; memory stays bounded throughout.

CI runs a small, derandomised budget (a few seconds). For a real search:
    GANART_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz_model_files.py
which draws fresh random examples each time.
"""

import io
import os
import resource
import zipfile

import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from blender_ganart.core.errors import ModelFileError, SynthesisOptionsError  # noqa: E402
from blender_ganart.core.model_file import ModelCard, load_model, save_model  # noqa: E402
from blender_ganart.core.network import Generator, GeneratorConfig  # noqa: E402
from blender_ganart.core.synthesis import SynthesisOptions, synthesize  # noqa: E402

EXAMPLES = int(os.environ.get("GANART_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=EXAMPLES or 60, derandomize=not EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
MEMORY_GROWTH_MIB = 200  # peak resident growth allowed over the whole fuzz run

torch.manual_seed(3)
GENERATOR = Generator(GeneratorConfig(local_dim=2, global_dim=3, widths=(8, 4), extra_convs=(1, 0))).eval()
_buffer = io.BytesIO()
torch.save({}, _buffer)  # (warms torch's serialisation, so the first example is not the slowest)

HOSTILE_VALUES = st.one_of(
    st.integers(min_value=-2**70, max_value=2**70), st.floats(allow_nan=True), st.text(max_size=8),
    st.none(), st.booleans(), st.lists(st.integers(min_value=-10, max_value=10**9), max_size=50),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
)
DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int8, torch.int64, torch.bool,
          torch.complex64, torch.float8_e4m3fn, torch.float8_e5m2, torch.uint8]


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "seed.ganart.pt"
    save_model(path, GENERATOR, ModelCard(name="Fuzz", channels=("R", "G", "B")))
    return path.read_bytes()


class _Bytes(bytes):
    """The real file's bytes, shown as a short name when Hypothesis reports a failing case."""

    def __repr__(self) -> str:
        return f"<model file, {len(self)} bytes>"


def _payload(data: bytes) -> dict:
    return torch.load(io.BytesIO(data), weights_only=True)


def _saved(payload: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


@st.composite
def mutations(draw, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["truncate", "flip", "config", "card", "tensor", "repack"]))
    if kind == "truncate":
        return data[: draw(st.integers(1, len(data) - 1))]
    if kind == "flip":
        mutable = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            mutable[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
        return bytes(mutable)
    payload = _payload(data)
    if kind == "config":
        payload["config"][draw(st.sampled_from(sorted(payload["config"]) + ["bogus"]))] = draw(HOSTILE_VALUES)
    elif kind == "card":
        payload["card"][draw(st.sampled_from(sorted(payload["card"])))] = draw(HOSTILE_VALUES)
    elif kind == "tensor":
        name = draw(st.sampled_from(sorted(payload["state_dict"])))
        shape = draw(st.lists(st.integers(0, 6), min_size=0, max_size=5))
        dtype = draw(st.sampled_from(DTYPES))
        tensor = torch.zeros(shape).to(dtype)
        sparse = draw(st.booleans()) and tensor.ndim and dtype == torch.float32  # to_sparse takes few dtypes
        payload["state_dict"][name] = tensor.to_sparse() if sparse else tensor
    else:  # the same entries re-packed with deflate, plus a large entry of zeros
        extra = draw(st.integers(0, 64)) * 2**20
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                target.writestr(info.filename, source.read(info.filename))
            if extra:
                target.writestr(source.infolist()[0].filename.split("/")[0] + "/data/999", bytes(extra))
        return out.getvalue()
    return _saved(payload)


def _peak_mib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def test_mutated_model_files_load_or_fail_in_one_line(model_bytes, tmp_path):
    path = tmp_path / "fuzzed.ganart.pt"
    start = _peak_mib()
    outcomes = {"loaded": 0, "refused": 0}

    @FUZZ
    @given(data=st.data())
    def check(data):
        path.write_bytes(data.draw(mutations(_Bytes(model_bytes))))
        try:
            model = load_model(path)
        except ModelFileError as exc:
            message = str(exc)
            assert message and len(message.splitlines()) == 1 and len(message) < 500, message
            outcomes["refused"] += 1
            return
        outcomes["loaded"] += 1
        synthesize(model, SynthesisOptions(0, 16, 16), device="cpu")  # a file that loads also renders

    check()
    print(f"fuzzed model files: {outcomes}, peak memory grew {_peak_mib() - start} MiB")
    assert outcomes["refused"] > 0
    assert _peak_mib() - start < MEMORY_GROWTH_MIB


SIZES = st.one_of(st.integers(-2**66, 2**66), st.floats(), st.text(max_size=4), st.none(), st.booleans(),
                  st.integers(16, 40))
SEEDS = st.one_of(st.integers(-2**66, 2**66), st.text(), st.floats(), st.none(), st.booleans(),
                  st.binary(max_size=4), st.lists(st.integers(), max_size=2))


@FUZZ
@given(seed=SEEDS, width=SIZES, height=SIZES, variation=st.one_of(st.floats(), st.text(max_size=3), st.none()),
       tileable=st.booleans())
def test_synthesis_arguments_validate_or_fail_in_one_line(seed, width, height, variation, tileable):
    try:
        options = SynthesisOptions(seed, width, height, tileable, variation)
    except SynthesisOptionsError as exc:
        assert len(str(exc).splitlines()) == 1
        return
    assert type(options.seed) is int and 0 <= options.seed < 2**64
    assert type(options.width) is int and type(options.height) is int and type(options.variation) is float
    if options.width <= 40 and options.height <= 40:
        texture = synthesize(GENERATOR, options, device="cpu")
        assert texture.shape == (options.height, options.width, 3)
