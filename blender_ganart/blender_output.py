"""Finished textures → named images, packed or saved, wired into the material. Main thread only.

Images are named after model and seed, so generating the same model and seed again finds the
same image and overwrites its pixels instead of adding `Moss 42.001`, `Moss 42.002`, ...
"""

import re
from pathlib import Path

import bpy

from . import image_io, node_wiring
from .generation import GenerationResult

MAX_NAME = 63  # Blender's ID name limit, in bytes


class StorageError(node_wiring.TargetError):
    """The chosen storage cannot be used (e.g. save next to a .blend that was never saved)."""


def image_name(model_name: str, seed: int) -> str:
    suffix = f" {seed}"
    room = MAX_NAME - len(suffix.encode())
    model = model_name.encode()[:room].decode(errors="ignore").strip() or "GAN Art"
    return model + suffix


def check_storage(storage: str, save_path=None) -> None:
    """Raises StorageError before generating when the result could not be stored."""
    if storage == "PACK":
        return
    if storage != "SAVE":
        raise StorageError(f"Unknown storage '{storage}'; use PACK or SAVE.")
    if save_path is None and not bpy.data.filepath:
        raise StorageError("Save the .blend file first, so the PNG can go next to it (or choose Pack).")


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
    """Writes every texture into its image, stores it, wires the material; returns both."""
    images = []
    for index, texture in enumerate(result.textures):
        name = image_name(texture.model_name, texture.seed)
        image = image_io.write_image(name, texture.pixels, bpy.data.images.get(name))
        if storage == "SAVE":
            image_io.save_png(image, png_path(name, save_path, index, len(result.textures)))
        else:
            image_io.pack_image(image)
        images.append(image)
    material = node_wiring.apply_images(plan, images)
    return material, images


def _file_stem(name: str) -> str:
    return re.sub(r"[^\w\-. ]+", "_", name).strip() or "texture"
