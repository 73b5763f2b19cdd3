"""The texture folder: every format and Pillow mode to RGB, bad files skipped with one warning
naming them, small images upscaled, decompression bombs refused, empty folders a clear error."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from trainer_support import write_texture_folder
from trainer.cli import main
from trainer.data import CropSampler, ImageSet, load_image_folder, load_rgb, UnusableImage
from trainer.errors import DataError


def _gradient(w=40, h=36):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 6, y * 7, (x + y) * 3], axis=-1).astype(np.uint8)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tga", ".bmp", ".tif", ".webp"])
def test_every_supported_format_loads_as_rgb(tmp_path, suffix):
    rgb = _gradient()
    path = tmp_path / f"img{suffix}"
    Image.fromarray(rgb).save(path, **({"quality": 95} if suffix == ".jpg" else {}))
    out = load_rgb(path)
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    lossy = suffix in (".jpg", ".webp")
    assert np.abs(out.astype(int) - rgb).mean() < (6 if lossy else 1e-9)


def test_grayscale_and_bilevel_become_equal_rgb_channels(tmp_path):
    gray = _gradient()[:, :, 0]
    Image.fromarray(gray, "L").save(tmp_path / "l.png")
    out = load_rgb(tmp_path / "l.png")
    assert np.array_equal(out[:, :, 0], gray) and np.array_equal(out[:, :, 1], gray) and np.array_equal(out[:, :, 2], gray)
    Image.fromarray(gray > 100).convert("1").save(tmp_path / "b.png")
    bits = load_rgb(tmp_path / "b.png")
    assert set(np.unique(bits)) <= {0, 255} and np.array_equal(bits[:, :, 0], np.where(gray > 100, 255, 0))


def test_sixteen_bit_grayscale_is_scaled_from_its_full_range_not_clipped(tmp_path):
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16).repeat(4, axis=0)
    Image.fromarray(values).save(tmp_path / "g16.png")  # uint16 → a 16-bit grayscale PNG
    img = Image.open(tmp_path / "g16.png")
    assert img.mode in ("I;16", "I")  # Pillow reads 16-bit PNGs as one of these
    out = load_rgb(tmp_path / "g16.png")
    assert out[0, :, 0].tolist() == [0, 1, 128, 255]
    assert np.array_equal(out[:, :, 0], out[:, :, 2])


def test_32bit_integer_and_float_images(tmp_path):
    from trainer.data import to_rgb_array

    as_int = Image.fromarray(np.array([[0, 65535]], dtype=np.int32), "I")
    assert to_rgb_array(as_int)[0, :, 0].tolist() == [0, 255]
    as_float = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32), "F")
    assert to_rgb_array(as_float)[0, :, 0].tolist() == [0, 128, 255]


def test_palette_images_expand_and_alpha_is_dropped_keeping_the_stored_colours(tmp_path):
    rgb = _gradient()
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(tmp_path / "p.png")
    pal = load_rgb(tmp_path / "p.png")
    assert pal.shape == rgb.shape and np.abs(pal.astype(int) - rgb).mean() < 8

    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 10, np.uint8)])  # almost transparent everywhere
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    assert np.array_equal(load_rgb(tmp_path / "a.png"), rgb)  # not composited toward a background

    la = np.dstack([rgb[:, :, 0], np.zeros(rgb.shape[:2], np.uint8)])
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    assert np.array_equal(load_rgb(tmp_path / "la.png")[:, :, 1], rgb[:, :, 0])

    transparent_palette = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    transparent_palette.info["transparency"] = 0
    transparent_palette.save(tmp_path / "pt.png", transparency=0)
    assert load_rgb(tmp_path / "pt.png").shape == rgb.shape


def test_cmyk_jpeg_is_converted(tmp_path):
    Image.fromarray(_gradient()).convert("CMYK").save(tmp_path / "c.jpg")
    assert load_rgb(tmp_path / "c.jpg").shape == (36, 40, 3)


def _png_header_only(path, width, height):
    """A PNG whose header claims width×height pixels: what a decompression bomb looks like."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def test_bad_files_are_skipped_with_one_warning_naming_each(tmp_path):
    data = write_texture_folder(tmp_path / "data", count=3)
    (data / "empty.png").write_bytes(b"")
    (data / "notes.png").write_text("this is not an image")
    jpeg = data / "truncated.jpg"
    Image.fromarray(_gradient(64, 64)).save(jpeg, quality=90)
    jpeg.write_bytes(jpeg.read_bytes()[:300])
    _png_header_only(data / "bomb.png", 40000, 40000)  # 1.6 gigapixels
    (data / "readme.txt").write_text("ignored: not an image suffix")

    warnings: list[str] = []
    images = load_image_folder(data, crop_size=32, warn=warnings.append)
    assert len(images) == 3
    assert len(warnings) == 4
    for name, why in [("empty.png", "empty"), ("notes.png", "not an image"), ("truncated.jpg", "truncated"),
                      ("bomb.png", "decompression bomb")]:
        (line,) = [w for w in warnings if name in w]
        assert why in line
    assert {p.name for p, _ in images.skipped} == {"empty.png", "notes.png", "truncated.jpg", "bomb.png"}


def test_bomb_between_the_limit_and_twice_it_is_refused_too(tmp_path):
    # Pillow only *warns* between MAX_IMAGE_PIXELS and twice that; the trainer refuses those as well.
    side = int((Image.MAX_IMAGE_PIXELS * 1.5) ** 0.5)
    _png_header_only(tmp_path / "bomb.png", side, side)
    with pytest.raises(UnusableImage, match="decompression bomb"):
        load_rgb(tmp_path / "bomb.png")


def test_images_smaller_than_the_crop_are_upscaled_and_reported(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    Image.fromarray(_gradient(20, 12)).save(data / "small.png")
    warnings: list[str] = []
    images = load_image_folder(data, crop_size=32, warn=warnings.append)
    assert min(images.images[0].shape[:2]) == 32 and images.images[0].shape[1] >= 53
    assert [p.name for p in images.upscaled] == ["small.png"]
    assert any("upscaled" in w for w in warnings)


def test_large_images_are_downscaled_to_max_side(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    Image.fromarray(np.zeros((300, 200, 3), np.uint8)).save(data / "big.png")
    images = load_image_folder(data, crop_size=32, max_side=150)
    assert images.images[0].shape[:2] == (150, 100) and len(images.downscaled) == 1


def test_empty_or_unusable_folders_are_a_clear_error_with_exit_status_2(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no image files"):
        load_image_folder(empty, 32)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.png").write_bytes(b"")
    (junk / "b.jpg").write_text("text")
    with pytest.raises(DataError, match="none of the 2 image files"):
        load_image_folder(junk, 32)
    with pytest.raises(DataError, match="does not exist"):
        load_image_folder(tmp_path / "missing", 32)

    status = main(["train", "--data", str(empty), "--out", str(tmp_path / "run")])
    assert status == 2
    assert "error: no image files in" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_crop_sampler_is_seeded_and_its_state_restores_the_stream(tmp_path):
    images = load_image_folder(write_texture_folder(tmp_path / "d"), 32)
    a = CropSampler(images, 32, seed=5)
    first = a.sample(6)
    assert first.shape == (6, 3, 32, 32) and first.min() >= -1 and first.max() <= 1
    assert not np.allclose(first[0].numpy(), first[1].numpy())
    saved = a.state()
    after = a.sample(3)
    b = CropSampler(images, 32, seed=5)
    assert np.array_equal(b.sample(6).numpy(), first.numpy())
    b.set_state(saved)
    assert np.array_equal(b.sample(3).numpy(), after.numpy())


def test_crops_come_from_the_images_with_flips_and_rotations():
    image = np.arange(32 * 32 * 3, dtype=np.uint8).reshape(32, 32, 3)
    sampler = CropSampler(ImageSet(images=[image], paths=[]), 32, seed=0)
    crops = sampler.sample(40)
    variants = {tuple(((c.permute(1, 2, 0) + 1) * 127.5).round().to(int).flatten().tolist()[:6]) for c in crops}
    assert len(variants) >= 4  # the same image seen flipped/rotated in several ways
    plain = CropSampler(ImageSet(images=[image], paths=[]), 32, seed=0, flips=False, rot90=False).sample(3)
    back = ((plain.permute(0, 2, 3, 1) + 1) * 127.5).round().to(int).numpy()
    assert (back == image.astype(int)).all()
