"""The texture folder: find image files, decode each once into RGB uint8, sample augmented crops.

Every Pillow mode is brought to 8-bit RGB the same way: 16- and 32-bit integer images are scaled
from their full range (not clipped), float images from [0, 1], palettes are expanded, and alpha is
dropped (the colour channels are kept as stored, not composited over a background, so a texture
with a transparency mask keeps its real colours). Files that cannot be used are skipped with one
warning each; images smaller than the crop are upscaled (bicubic) so their short side equals it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from blender_ganart.core.model_maps import COLOUR_ONLY, channel_slices

from .errors import DataError
from .normals import orient

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tga", ".bmp", ".tif", ".tiff", ".webp")
# Images that are found but not read, each with the reason given in its warning.
UNREAD_IMAGE_SUFFIXES = {".gif": "GIF files are not read (256 colours, often animated); convert it to PNG",
                         ".exr": "EXR files are not read (HDR); convert it to 8- or 16-bit PNG",
                         ".hdr": "HDR files are not read; convert it to 8- or 16-bit PNG"}
Warn = Callable[[str], None]


class UnusableImage(Exception):
    """Raised by load_rgb for a file that is not a usable image; the message names why."""


@dataclass
class ImageSet:
    """Decoded images, kept in memory for the whole run (decoding is the slow part)."""

    images: list[np.ndarray]  # each (H, W, 3) uint8
    paths: list[Path]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    upscaled: list[Path] = field(default_factory=list)
    downscaled: list[Path] = field(default_factory=list)
    turned: list[Path] = field(default_factory=list)  # by --orient rows: their lines ran up and down
    scales: list[float] = field(default_factory=list)  # per image: source pixels per stored pixel
    # The maps stacked in each image's channels (blender_ganart.core.model_maps), colour first;
    # map sets (trainer/map_sets.py) have more than colour.
    maps: tuple[str, ...] = COLOUR_ONLY

    @property
    def texel_density(self) -> float:
        """Source pixels per training pixel, averaged over images (1.0: the data's own resolution).

        A model reproduces its training crops' scale, so this says what its pixels cover."""
        return float(np.mean(self.scales)) if self.scales else 1.0

    def __len__(self) -> int:
        return len(self.images)

    def describe(self) -> str:
        pixels = sum(im.shape[0] * im.shape[1] for im in self.images)
        text = f"{len(self)} images, {pixels / 1e6:.1f} megapixels"
        if self.skipped:
            text += f", {len(self.skipped)} files skipped"
        if self.upscaled:
            text += f", {len(self.upscaled)} smaller than the crop upscaled"
        if self.downscaled:
            text += f", {len(self.downscaled)} larger than --max-side downscaled"
        if self.turned:
            text += f", {len(self.turned)} turned 90° so their lines run along rows"
        if self.maps != COLOUR_ONLY:
            text += f"; each a set of {'+'.join(self.maps)} maps"
        return text

    def colour_only(self) -> "ImageSet":
        """The same images with their colour channels alone (what colour metrics compare)."""
        if self.maps == COLOUR_ONLY:
            return self
        return ImageSet([np.ascontiguousarray(im[:, :, :3]) for im in self.images], list(self.paths),
                        list(self.skipped), list(self.upscaled), list(self.downscaled), list(self.turned),
                        list(self.scales))


def find_image_files(root: Path, warn: Warn | None = None) -> list[Path]:
    """Image files under root (recursively), sorted so that runs are reproducible.

    Linked folders are followed once each (a link loop is skipped); everything that looks like
    training data but cannot be (a broken link, a folder or FIFO named like an image, a folder
    that cannot be listed, a GIF) gets one warning naming it, so no file is left out silently.
    """
    warn = warn or (lambda message: None)
    files: list[Path] = []
    seen: set[Path] = set()
    folders = [root]
    while folders:
        folder = folders.pop()
        real = folder.resolve()
        if real in seen:
            warn(f"skipping {folder}: a link back to {real}, which is read already (a link loop?)")
            continue
        seen.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            warn(f"skipping the folder {folder}: it cannot be listed ({exc.strerror or exc})")
            continue
        for entry in entries:
            path = Path(entry.path)
            suffix = path.suffix.lower()
            try:
                is_dir, is_file = entry.is_dir(), entry.is_file()
            except OSError as exc:  # e.g. a link loop: stat fails with ELOOP
                warn(f"skipping {path}: {exc.strerror or exc}")
                continue
            if entry.is_symlink() and not (is_dir or is_file) and not path.exists():
                warn(f"skipping {path}: a broken link or a link loop (it points to {os.readlink(path)})")
            elif is_dir:
                if suffix in IMAGE_SUFFIXES:
                    warn(f"note: {path} is a folder named like an image; reading the images inside it")
                folders.append(path)
            elif suffix in IMAGE_SUFFIXES:
                if is_file:
                    files.append(path)
                else:
                    warn(f"skipping {path}: not a regular file (a FIFO, socket or device)")
            elif suffix in UNREAD_IMAGE_SUFFIXES:
                warn(f"skipping {path}: {UNREAD_IMAGE_SUFFIXES[suffix]}")
    return sorted(files)


def load_rgb(path: Path, warn: Warn | None = None, keep_alpha: bool = False) -> np.ndarray:
    """Decodes one file into (H, W, 3) uint8 (with keep_alpha, (H, W, 4): see to_rgba_array),
    or raises UnusableImage saying why.

    Pillow's own warnings (e.g. "Corrupt EXIF data") go to `warn` with the file's name.
    """
    try:
        if path.stat().st_size == 0:
            raise UnusableImage("empty file (0 bytes)")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # Pillow only warns between its pixel limit and twice that; refuse those too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                img = ImageOps.exif_transpose(img)
                rgb = to_rgba_array(img) if keep_alpha else to_rgb_array(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnusableImage(f"refused as a possible decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise UnusableImage("not an image file Pillow can read") from None
    except PermissionError as exc:
        raise UnusableImage(f"cannot be read: {exc.strerror or 'permission denied'}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UnusableImage(f"damaged or truncated image ({exc})") from None
    for warning in caught:
        (warn or (lambda message: None))(f"{path}: {warning.message}")
    return rgb


def to_rgb_array(img: Image.Image) -> np.ndarray:
    """Any Pillow mode → (H, W, 3) uint8 (see the module docstring for the rules)."""
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        values = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode != "I" or values.max(initial=0) <= 65535 else float(2**31 - 1)
        gray = np.clip(values / top, 0.0, 1.0)
        return _gray_to_rgb(np.round(gray * 255).astype(np.uint8))
    if mode == "F":
        values = np.nan_to_num(np.asarray(img, dtype=np.float64))
        scale = 1.0 if values.max(initial=0) <= 1.0 else 255.0
        return _gray_to_rgb(np.round(np.clip(values / scale, 0, 1) * 255).astype(np.uint8))
    if mode in ("RGBA", "RGBa", "LA", "La", "PA") or (mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")  # expands palettes; the alpha channel is then dropped
        return np.ascontiguousarray(np.asarray(img)[:, :, :3])
    if mode == "RGB":
        return np.ascontiguousarray(np.asarray(img))
    return np.ascontiguousarray(np.asarray(img.convert("RGB")))


def to_rgba_array(img: Image.Image) -> np.ndarray:
    """(H, W, 4) uint8: the colour as to_rgb_array gives it, then the alpha (255 where there is
    none). Game normal maps keep their height there (trainer/map_sets.py)."""
    rgb = to_rgb_array(img)
    if img.mode in ("RGBA", "RGBa", "LA", "La", "PA") or (img.mode == "P" and "transparency" in img.info):
        alpha = np.asarray(img.convert("RGBA"))[:, :, 3]
    else:
        alpha = np.full(rgb.shape[:2], 255, dtype=np.uint8)
    return np.ascontiguousarray(np.dstack([rgb, alpha]))


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BICUBIC))


def load_image_folder(root: str | Path, crop_size: int, max_side: int = 0, warn: Warn | None = None) -> ImageSet:
    """Loads every usable image; raises DataError if the folder is missing or has none."""
    root = Path(root)
    warn = warn or (lambda message: None)
    if not str(root) or not root.exists():
        raise DataError(f"the data folder does not exist: {root}")
    if not root.is_dir():
        raise DataError(f"--data must be a folder of images, got a file: {root}")
    files = find_image_files(root, warn)
    if not files:
        raise DataError(
            f"no image files in {root} (looked recursively for {', '.join(IMAGE_SUFFIXES)})"
        )
    result = ImageSet(images=[], paths=[])
    for path in files:
        try:
            image = load_rgb(path, warn)
        except UnusableImage as exc:
            warn(f"skipping {path}: {exc}")
            result.skipped.append((path, str(exc)))
            continue
        short, long = min(image.shape[:2]), max(image.shape[:2])
        source_long = long
        if max_side and long > max_side:
            image = _resize(image, max_side / long)
            result.downscaled.append(path)
            short = min(image.shape[:2])
        if short < crop_size:
            image = _resize(image, crop_size / short)
            result.upscaled.append(path)
        result.images.append(image)
        result.paths.append(path)
        result.scales.append(source_long / max(image.shape[:2]))
    if not result.images:
        raise DataError(f"none of the {len(files)} image files in {root} could be used (see the warnings above)")
    if result.upscaled:
        warn(f"{len(result.upscaled)} images smaller than the {crop_size} px crop were upscaled to fit it")
    return result


class CropSampler:
    """Random crops with flips and 90° rotations, from its own seeded RNG (saved in checkpoints).

    Every map of a set gets the same crop, flips and turns; normal vectors turn with the image."""

    def __init__(self, image_set: ImageSet, crop_size: int, seed: int, flips: bool = True, rot90: bool = True):
        self.images = image_set.images
        self.channels = self.images[0].shape[2]
        self.normal = channel_slices(image_set.maps).get("normal")
        self.crop = crop_size
        self.flips = flips
        self.rot90 = rot90
        self.rng = np.random.Generator(np.random.PCG64(seed))

    def sample(self, count: int) -> torch.Tensor:
        """(count, C, crop, crop) float32 in [-1, 1]; C = 3 for colour alone."""
        out = np.empty((count, self.crop, self.crop, self.channels), dtype=np.uint8)
        for i in range(count):
            image = self.images[self.rng.integers(len(self.images))]
            h, w = image.shape[:2]
            y = self.rng.integers(h - self.crop + 1)
            x = self.rng.integers(w - self.crop + 1)
            hflip = vflip = False
            if self.flips:
                hflip = self.rng.random() < 0.5
                vflip = self.rng.random() < 0.5
            turns = int(self.rng.integers(4)) if self.rot90 else 0
            out[i] = orient(image[y : y + self.crop, x : x + self.crop], hflip, vflip, turns, self.normal)
        batch = torch.from_numpy(out).permute(0, 3, 1, 2).float()
        return batch / 127.5 - 1.0

    def state(self) -> dict:
        return dict(self.rng.bit_generator.state)

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state

