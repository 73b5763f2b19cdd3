"""blender_ganart: seamless textures from a GAN generator, inside Blender.

This file is read by Blender for the add-on's metadata. It must stay importable without Blender:
the network, seed, model-file and synthesis modules are plain PyTorch/NumPy, and the trainer and
the tests import them from here. Everything that touches bpy is imported inside register().
"""

bl_info = {
    "name": "GAN Art Textures",
    "author": "blender_ganart contributors",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),
    "location": "3D Viewport / Shader Editor > Sidebar > GAN Art",
    "description": "Generate seamless textures from a seed with a bundled GAN and wire them into materials",
    "category": "Material",
}

__version__ = ".".join(str(part) for part in bl_info["version"])


def register() -> None:
    from . import addon

    addon.register()


def unregister() -> None:
    from . import addon

    addon.unregister()
