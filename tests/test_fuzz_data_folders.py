"""Property-based fuzzing of the trainer's data folders: every folder a user may point --data at.

Drawn folders mix real images (PNG, JPEG, 16-bit, palette, with alpha) with the careless and the
hostile: truncated and byte-flipped images, empty files, random bytes under an image suffix,
folders named like images, links to nothing and link loops. Loading must either give images
and one warning per skipped file, naming it, or refuse the whole folder with one DataError line;
never another exception, never a file read twice.

CI runs a small, derandomised budget; `GANART_FUZZ_EXAMPLES=500 pytest tests/test_fuzz_data_folders.py`
searches with fresh random examples.
"""

import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from trainer.data import load_image_folder  # noqa: E402
from trainer.errors import DataError  # noqa: E402

EXAMPLES = int(os.environ.get("GANART_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=EXAMPLES or 40, derandomize=not EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
CROP = 16


def _image_bytes(kind: str, size: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    image = {"rgb": Image.fromarray(pixels), "rgba": Image.fromarray(pixels).convert("RGBA"),
             "palette": Image.fromarray(pixels).convert("P"),
             "i16": Image.fromarray((pixels[..., 0].astype(np.uint16) * 257)),
             "gray": Image.fromarray(pixels[..., 0])}[kind]
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG" if kind == "rgb" and seed % 2 else "PNG")
    return buffer.getvalue()


ENTRY = st.one_of(
    st.tuples(st.just("image"), st.sampled_from(["rgb", "rgba", "palette", "i16", "gray"]),
              st.integers(4, 48), st.integers(0, 99)),
    st.tuples(st.just("truncated"), st.integers(1, 200), st.integers(0, 99)),
    st.tuples(st.just("flipped"), st.integers(0, 2000), st.integers(0, 99)),
    st.tuples(st.just("random"), st.binary(max_size=64)),
    st.tuples(st.just("empty")),
    st.tuples(st.just("folder")),
    st.tuples(st.just("dangling")),
    st.tuples(st.just("loop")),
)


def _write(folder: Path, index: int, entry: tuple) -> None:
    path = folder / f"f{index}.png"
    kind = entry[0]
    if kind == "image":
        path.write_bytes(_image_bytes(entry[1], entry[2], entry[3]))
    elif kind == "truncated":
        data = _image_bytes("rgb", 32, entry[2])
        path.write_bytes(data[: max(1, len(data) - entry[1])])
    elif kind == "flipped":
        data = bytearray(_image_bytes("rgb", 32, entry[2]))
        data[entry[1] % len(data)] ^= 0xFF
        path.write_bytes(bytes(data))
    elif kind == "random":
        path.write_bytes(entry[1])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "folder":
        path.mkdir()
        (path / "inner.png").write_bytes(_image_bytes("rgb", 24, index))
    elif kind == "dangling":
        path.symlink_to(folder / "nowhere.png")
    elif kind == "loop":
        (folder / f"loop{index}").symlink_to(folder, target_is_directory=True)


@FUZZ
@given(st.lists(ENTRY, max_size=8))
def test_any_data_folder_loads_or_is_refused_in_one_line(entries):
    folder = Path(tempfile.mkdtemp(prefix="ganart_fuzz_data_"))
    try:
        for index, entry in enumerate(entries):
            _write(folder, index, entry)
        warnings: list[str] = []
        try:
            images = load_image_folder(folder, CROP, warn=warnings.append)
        except DataError as exc:
            assert "\n" not in str(exc) and str(exc)
            return
        assert len(images) >= 1 and all(im.dtype == np.uint8 and im.ndim == 3 and im.shape[2] == 3
                                        and min(im.shape[:2]) >= CROP for im in images.images)
        assert len(set(images.paths)) == len(images.paths), "a file was read twice (through a link loop?)"
        for path, _why in images.skipped:
            assert any(str(path) in message for message in warnings), f"{path} skipped without a warning"
        assert all("\n" not in message for message in warnings)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
