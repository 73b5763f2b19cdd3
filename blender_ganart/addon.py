"""Registering the Blender side; called by __init__.register(), only inside Blender.

Each module owns a `classes` tuple; bpy.utils.register_classes_factory registers them in order
and unregisters them in reverse, and every property added to Blender's types is removed again, so
enabling and disabling the add-on any number of times leaves Blender as it was.

In the `bpy` module (a plain Python that imports bpy) nothing unregisters add-ons at exit, and a
PropertyGroup with a Python callback (`update=`, dynamic `items=`) still registered when bpy shuts
down hangs the process forever (bpy 4.5). So there, register() also arranges an unregister at
interpreter exit: a script ends, raises or calls sys.exit() and the process exits with its status.
"""

import atexit

import bpy

from . import operators, panels, preferences, properties

from .core import jobs, model_catalog

_register_classes, _unregister_classes = bpy.utils.register_classes_factory(
    preferences.classes + properties.classes + operators.classes + panels.classes)


def register() -> None:
    _register_classes()
    properties.register_properties()
    # PyTorch may live in the folder set in the preferences; make it importable from the start.
    preferences.apply_extra_packages(preferences.current().extra_packages)
    if running_as_module():
        atexit.register(_unregister_at_exit)


def unregister() -> None:
    atexit.unregister(_unregister_at_exit)
    running = jobs.ACTIVE.running()
    if running is not None:
        running.cancel()
    jobs.ACTIVE.job = None
    properties.unregister_properties()
    _unregister_classes()
    model_catalog.CACHE.clear()


def running_as_module() -> bool:
    """True in a plain Python that imported bpy; Blender's own executable has a binary path."""
    return not bpy.app.binary_path


def _unregister_at_exit() -> None:
    """atexit runs handlers last-in first-out, so this runs before bpy's own shutdown."""
    if properties.GANART_PG_settings.is_registered:
        unregister()
