"""Finished textures → images, packed or saved, wired into the material. Main thread only.

A generated image carries a custom property (`ganart_source`: model file name and seed), and that
property, never the name, is how the same model and seed find their earlier image: a user's own
image called "Rock 77" is never touched, and two models whose cards share a name keep apart.

Delivery makes new images first and only then lets them take over from earlier ones, so a failure
on the way (a PNG that cannot be written) removes what this delivery made and leaves the file as
it was. Where the PNG goes is checked before generating (`check_storage`).
"""

import os
import re
from pathlib import Path

import bpy

from . import image_io, node_wiring
from .generation import GenerationResult
from .writable import unwritable_reason

MAX_NAME = 63  # Blender's ID name limit, in bytes
SOURCE_KEY = "ganart_source"


class StorageError(node_wiring.TargetError):
    """The chosen storage cannot be used (e.g. save next to a .blend that was never saved)."""


def image_name(model_name: str, seed: int) -> str:
    suffix = f" {seed}"
    room = MAX_NAME - len(suffix.encode())
    model = model_name.encode()[:room].decode(errors="ignore").strip() or "GAN Art"
    return model + suffix


def image_source(model_file: str, seed: int) -> str:
    return f"{model_file}:{seed}"


def generated_image(source: str):
    """The image an earlier delivery made for this model file and seed, or None."""
    return next((image for image in bpy.data.images if image.get(SOURCE_KEY) == source), None)


def check_storage(storage: str, save_path=None) -> None:
    """Raises StorageError before generating when the result could not be stored."""
    if storage == "PACK":
        return
    if storage != "SAVE":
        raise StorageError(f"Unknown storage '{storage}'; use PACK or SAVE.")
    if save_path is None and not bpy.data.filepath:
        raise StorageError("Save the .blend file first, so the PNG can go next to it (or choose Pack).")
    if save_path is not None:
        path = Path(bpy.path.abspath(str(save_path)))
        if path.suffix and path.suffix.lower() != ".png" and not path.is_dir():
            raise StorageError(f"The save path must be a .png file or a folder, got '{path.name}' "
                               f"(textures are saved as PNG).")
    folder = png_path("texture", save_path).parent
    problem = unwritable_reason(folder)
    if problem:
        raise StorageError(f"Cannot save the PNG in {folder}: {problem}.")


def png_path(name: str, save_path=None, index: int = 0, count: int = 1) -> Path:
    """save_path as given (numbered for variations), else '<name>.png' next to the .blend."""
    if save_path is not None:
        path = Path(bpy.path.abspath(str(save_path)))
        if path.suffix.lower() != ".png" or path.is_dir():
            return path / (_file_stem(name) + ".png")
        return path if count == 1 else path.with_name(f"{path.stem}_{index + 1}{path.suffix}")
    return Path(bpy.path.abspath("//")) / (_file_stem(name) + ".png")


def deliver(result: GenerationResult, plan: node_wiring.Target, storage: str = "PACK",
            save_path=None) -> tuple[object, list]:
    """Writes every texture into a new image, stores it, lets it replace the image made earlier
    for the same model file and seed, wires the material; returns both.

    On a failure before the images take over, the new images and PNG files are removed again and
    a StorageError says why; nothing in the file has changed.
    """
    made, written = [], []
    try:
        for index, texture in enumerate(result.textures):
            name = image_name(texture.model_name, texture.seed)
            image = image_io.write_image(name, texture.pixels)
            made.append(image)
            image[SOURCE_KEY] = image_source(texture.model_file, texture.seed)
            if storage == "SAVE":
                path = png_path(name, save_path, index, len(result.textures))
                if not path.exists():
                    written.append(path)
                image_io.save_png(image, path)
            else:
                image_io.pack_image(image)
    except (OSError, RuntimeError) as exc:
        _remove(made, written)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise StorageError(f"Could not store the texture ({first}); nothing was changed.") from None
    images = [_take_over(image) for image in made]
    material = node_wiring.apply_images(plan, images)
    return material, images


def _take_over(image):
    """The earlier image of the same source hands its users (nodes, materials) and name over."""
    earlier = next((other for other in bpy.data.images
                    if other != image and other.get(SOURCE_KEY) == image[SOURCE_KEY]), None)
    if earlier is not None:
        name = earlier.name
        earlier.user_remap(image)
        bpy.data.images.remove(earlier)
        image.name = name
    return image


def _remove(images: list, files: list[Path]) -> None:
    for image in images:
        bpy.data.images.remove(image)
    for path in files:
        try:
            os.remove(path)
        except OSError:
            pass  # never written, or already gone: nothing of ours is left either way


def _file_stem(name: str) -> str:
    return re.sub(r"[^\w\-. ]+", "_", name).strip() or "texture"
