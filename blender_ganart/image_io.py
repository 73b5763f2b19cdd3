"""float32 texture arrays → bpy.types.Image, and nothing else.

Blender wants exactly width·height·4 float32 values, rows from the bottom up, for
`pixels.foreach_set`; a float64 buffer raises TypeError and a per-pixel Python loop takes minutes
at 4096², so the array is laid out once with NumPy and handed over as one buffer. Images are 8-bit
(packed as PNG, sRGB for colour) because float images pack as large EXR files.

NumPy is imported inside the functions: some Blender builds (Debian's) have no NumPy until the
PyTorch environment is added, and the add-on must register before that.
"""

import os
from pathlib import Path

import bpy

COLOR_SPACE = "sRGB"
DATA_COLOR_SPACE = "Non-Color"  # normal, roughness, height, AO: numbers, not colours (3.4 to 4.5)


def rgba_rows_bottom_up(texture):
    """(H, W, C) or (H, W) top-to-bottom in [0, 1] → flat float32 (H·W·4,) bottom-to-top, alpha 1.

    One channel becomes grey; more than three (e.g. extra data maps) keeps the first three.
    """
    import numpy as np

    if texture.ndim == 2:  # a one-channel map (height, roughness, AO)
        texture = texture[..., None]
    if texture.ndim != 3 or texture.shape[2] < 1:
        raise ValueError(f"expected an (H, W, C) texture, got shape {texture.shape}")
    height, width, channels = texture.shape
    rgba = np.empty((height, width, 4), dtype=np.float32)
    flipped = texture[::-1]
    if channels >= 3:
        rgba[..., :3] = flipped[..., :3]
    else:
        rgba[..., :3] = flipped[..., :1]
    rgba[..., 3] = 1.0
    return rgba.reshape(-1)


def write_image(name: str, texture, color_space: str = COLOR_SPACE):
    """A new 8-bit image called `name` (Blender adds .001 if the name is taken) holding `texture`;
    color_space: COLOR_SPACE for colour, DATA_COLOR_SPACE for data maps."""
    height, width = texture.shape[:2]
    buffer = rgba_rows_bottom_up(texture)
    image = bpy.data.images.new(name, width, height, alpha=False, float_buffer=False)
    image.colorspace_settings.name = color_space
    image.pixels.foreach_set(buffer)
    image.update()
    return image


def pack_image(image) -> None:
    """Keeps the pixels inside the .blend (as PNG); without this they are lost on reload."""
    image.pack()


def save_png(image, path: str | os.PathLike) -> Path:
    """Saves the image as a PNG file and points the image at it, so reloading reads that file."""
    path = Path(bpy.path.abspath(str(path)))
    path.parent.mkdir(parents=True, exist_ok=True)
    if image.packed_file is not None:
        image.unpack(method="REMOVE")
    image.filepath_raw = str(path)
    image.file_format = "PNG"
    image.save()
    image.source = "FILE"
    image.filepath = bpy.path.relpath(str(path)) if bpy.data.filepath else str(path)
    image.reload()
    return path


def read_pixels(image):
    """The image's pixels as (H, W, 4) float32, rows top to bottom (for checks and tests)."""
    import numpy as np

    width, height = image.size
    flat = np.empty(width * height * 4, dtype=np.float32)
    image.pixels.foreach_get(flat)
    return flat.reshape(height, width, 4)[::-1]
