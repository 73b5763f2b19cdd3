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
from .core.errors import first_line
from .core.generation import GenerationResult
from .core.writable import unwritable_reason

MAX_NAME = 63  # Blender's ID name limit, in bytes
SOURCE_KEY = "ganart_source"


class StorageError(node_wiring.TargetError):
    """The chosen storage cannot be used (e.g. save next to a .blend that was never saved)."""


MAP_LABELS = {"normal": "Normal", "roughness": "Roughness", "height": "Height", "ao": "AO"}


def image_name(model_name: str, seed: int, map_name: str = "") -> str:
    """'<model> <seed>' for the colour, '<model> <seed> Normal' etc. for a derived map."""
    suffix = f" {seed}" + (f" {MAP_LABELS[map_name]}" if map_name else "")
    room = MAX_NAME - len(suffix.encode())
    model = model_name.encode()[:room].decode(errors="ignore").strip() or "GAN Art"
    return model + suffix


def image_source(model_file: str, seed: int, map_name: str = "") -> str:
    return f"{model_file}:{seed}" + (f":{map_name}" if map_name else "")


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
            save_path=None, options=None) -> tuple[object, list]:
    """Writes every texture into a new image, stores it, lets it replace the image made earlier
    for the same model file and seed, wires the material; returns it and the colour images.

    A texture's derived maps (texture.maps) become Non-Color images beside it, named
    '<model> <seed> Normal' etc., marked '<model file>:<seed>:normal', saved as '… Normal.png'
    (or out_normal.png beside a given out.png); `map_images` finds them. options:
    derived_maps.MapOptions, for the wiring (strengths, colour linked or not).

    On a failure before the images take over, the new images and PNG files are removed again and
    a StorageError says why; nothing in the file has changed.
    """
    made, written, colours = [], [], []
    maps_made = [{} for _ in result.textures]
    try:
        for index, texture in enumerate(result.textures):
            for map_name, pixels in [("", texture.pixels)] + list(texture.maps.items()):
                name = image_name(texture.model_name, texture.seed, map_name)
                space = image_io.DATA_COLOR_SPACE if map_name else image_io.COLOR_SPACE
                image = image_io.write_image(name, pixels, space)
                made.append(image)
                if map_name:
                    maps_made[index][map_name] = image
                else:
                    colours.append(image)
                image[SOURCE_KEY] = image_source(texture.model_file, texture.seed, map_name)
                if storage == "SAVE":
                    path = png_path(name, save_path, index, len(result.textures))
                    if map_name and path == png_path(image_name(texture.model_name, texture.seed), save_path,
                                                     index, len(result.textures)):
                        path = path.with_name(f"{path.stem}_{map_name}{path.suffix}")  # out.png → out_normal.png
                    if not path.exists():
                        written.append(path)
                    image_io.save_png(image, path)
                else:
                    image_io.pack_image(image)
    except (OSError, RuntimeError) as exc:
        _remove(made, written)
        raise StorageError(f"Could not store the texture ({first_line(exc)}); nothing was changed.") from None
    for image in made:
        _take_over(image)
    material = node_wiring.apply_images(plan, colours, maps_made, options)
    return material, colours


def map_images(image) -> dict:
    """{map name: image} of the derived maps made with this colour image (same model file and seed)."""
    source = image.get(SOURCE_KEY)
    found = {}
    for name in MAP_LABELS:
        other = generated_image(f"{source}:{name}") if source else None
        if other is not None:
            found[name] = other
    return found


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
