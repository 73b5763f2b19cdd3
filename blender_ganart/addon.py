"""Registering the Blender side; called by __init__.register(), only inside Blender.

Each module owns a `classes` tuple; they are registered in order and unregistered in reverse, and
every property added to Blender's types is removed again, so enabling and disabling the add-on
any number of times leaves Blender as it was.
"""

import bpy

from . import jobs, model_catalog, operators, panels, preferences, properties

_MODULES = (preferences, properties, operators, panels)


def register() -> None:
    for module in _MODULES:
        for cls in module.classes:
            bpy.utils.register_class(cls)
    properties.register_properties()
    # PyTorch may live in the folder set in the preferences; make it importable from the start.
    preferences.apply_extra_packages(preferences.current().extra_packages)


def unregister() -> None:
    running = jobs.ACTIVE.running()
    if running is not None:
        running.cancel()
    jobs.ACTIVE.job = None
    properties.unregister_properties()
    for module in reversed(_MODULES):
        for cls in reversed(module.classes):
            bpy.utils.unregister_class(cls)
    model_catalog.CACHE.clear()
