"""The plain Python API for scripts: `blender --background --python script.py`, or `import bpy`
in a Python that has the bpy module.

The add-on does not need to be enabled: these functions go through the same service layer
(service.py: checks, compute, node wiring) as the Generate operator, read the add-on preferences
when it is enabled (models folder, extra packages folder, device, memory limit) and use defaults
when it is not. They run synchronously and raise GanArtError subclasses (with a sentence a user can act on) instead of
reporting; on any error nothing in the file has been changed.

    import bpy
    from blender_ganart import api

    for entry in api.list_models():
        print(entry.name, entry.path, entry.bundled)
    image = api.generate(bpy.data.objects["Plane"], seed=7, width=512, height=512)
"""

import os

import bpy

from . import blender_output, preferences, service

from .core import jobs, model_catalog
from .core.map_options import MapOptions
from .core.model_catalog import ModelEntry

__all__ = ["ModelEntry", "list_models", "generate"]


def list_models() -> list[ModelEntry]:
    """Bundled models first, then the preferences' models folder; each with .name, .path, .card
    (None when unreadable, see .error) and .bundled."""
    return model_catalog.list_models(preferences.current().models_folder)


def generate(target=None, *, model: str | os.PathLike | None = None, seed: int | str = 0, width: int = 1024,
             height: int = 1024, tileable: bool = True, variation: float = 1.0, pack: bool = True,
             save_path: str | os.PathLike | None = None, maps=None):
    """Generates a texture and wires it to the Base Color of the target's material; returns the
    image, or with `maps` a dict of every image: {"color": …, "normal": …, …}.

    target: an Object (its active material; a mesh without one gets a new material), a Material,
        or None for the active object.
    model: a name from list_models(), a file path, or None for the first bundled model.
    pack: keep the image (as PNG) inside the .blend.
    save_path: also save it as a PNG there (a .png file or a folder). With pack=False and no
        save_path, the PNG goes next to the saved .blend.
    seed: an integer 0 to 2^64-1 or any text (hashed to one).
    maps: derived maps to make and wire: names ("normal", "roughness", "height", "ao"), a dict
        {name: strength} (None for the default strength), or a derived_maps.MapOptions (which can
        also leave the colour off Base Color). Normal → Normal Map node → Normal; roughness →
        Roughness; height → Displacement node → Material Output; AO multiplied into the colour.
    The image is named "<model name> <seed>" and marked with its model file and seed; calling
    again with the same model file and seed replaces that image (its nodes show the new one)
    instead of adding another. An image of yours with the same name is never touched.
    """
    options = MapOptions.from_spec(maps)
    storage = "PACK" if pack and save_path is None else "SAVE"
    prepared = service.prepare(bpy.context, model="" if model is None else str(model), seed=seed, width=width,
                               height=height, tileable=tileable, variation=variation, maps=options,
                               storage=storage, target=target, save_path=save_path)
    _material, images = service.deliver(prepared, jobs.run_now(service.work(prepared)))
    made = {"color": images[0], **blender_output.map_images(images[0])}
    if pack and storage == "SAVE":  # saved where asked and kept in the .blend as well
        for image in made.values():
            image.pack()
    return images[0] if options is None else made
