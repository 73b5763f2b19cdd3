"""The add-on preferences: where the user's models and PyTorch live, which runtime and device, memory cap.

`current()` gives plain values, with defaults when the add-on is not enabled, so the headless API
works with nothing registered.

The extra packages folder goes onto `sys.path` when the add-on registers and when the user changes
the folder (the property's update callback), never while drawing: draw() only reads.
"""

import sys
import textwrap
from dataclasses import dataclass

import bpy

from .core import dependencies
from .core.errors import GanArtError

# Legacy add-on: "blender_ganart"; extension: "bl_ext.<repo>.blender_ganart". Preferences are keyed by it.
ADDON_ID = __package__


@dataclass(frozen=True)
class AddonSettings:
    models_folder: str = ""
    extra_packages: str = ""
    device: str = "auto"
    memory_limit_gb: float = 0.0  # 0: the memory the system has available
    runtime: str = "auto"  # runtime.RUNTIME_CHOICES

    @property
    def memory_limit(self) -> int | None:
        return int(self.memory_limit_gb * 2**30) or None


def current(context=None) -> AddonSettings:
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    if addon is None or addon.preferences is None:
        return AddonSettings()
    prefs = addon.preferences
    return AddonSettings(bpy.path.abspath(prefs.models_folder), bpy.path.abspath(prefs.extra_packages),
                         prefs.device, prefs.memory_limit_gb, prefs.runtime)


def apply_extra_packages(folder: str) -> str:
    """Adds the folder to sys.path; returns '' or the problem in one line (never raises)."""
    try:
        dependencies.add_packages_folder(folder)
    except GanArtError as exc:
        return str(exc)
    return ""


def packages_folder_problem(folder: str) -> str:
    """'' or what is wrong with the extra packages folder, in one line; changes nothing."""
    try:
        path = dependencies.packages_folder(folder)
    except GanArtError as exc:
        return str(exc)
    if path is not None and str(path) not in sys.path:
        return f"{path} is not searched yet: choose the folder again to add it"
    return ""


def _extra_packages_changed(self, _context) -> None:
    apply_extra_packages(bpy.path.abspath(self.extra_packages))


class GANART_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    models_folder: bpy.props.StringProperty(
        name="Models folder",
        description="Folder with your own generator files (*.ganart.pt), listed after the bundled models",
        subtype="DIR_PATH",
    )
    extra_packages: bpy.props.StringProperty(
        name="Extra packages folder",
        description=(
            "Optional: a site-packages folder of another Python of the same version that has PyTorch "
            "installed, e.g. /path/to/venv/lib/python3.11/site-packages"
        ),
        subtype="DIR_PATH",
        update=_extra_packages_changed,
    )
    runtime: bpy.props.EnumProperty(
        name="Runtime",
        description="What runs the generator; both give the same texture",
        items=(
            ("auto", "Auto", "PyTorch if it can be imported, else NumPy"),
            ("pytorch", "PyTorch", "Faster on the CPU, and the only way to use a GPU; must be installed"),
            ("numpy", "NumPy", "Works in every Blender with nothing to install; CPU only"),
        ),
        default="auto",
    )
    device: bpy.props.EnumProperty(
        name="Device",
        description="Where the generator runs (GPUs through PyTorch); the texture is the same on every device",
        items=(
            ("auto", "Automatic", "The GPU when PyTorch can use one, else the CPU"),
            ("cpu", "CPU", "Always the CPU"),
            ("cuda", "CUDA", "An NVIDIA GPU"),
            ("mps", "Metal", "An Apple GPU"),
        ),
        default="auto",
    )
    memory_limit_gb: bpy.props.FloatProperty(
        name="Memory limit (GiB)",
        description="Refuse textures needing more memory than this; 0 uses the memory the system has free",
        min=0.0,
        soft_max=256.0,
        default=0.0,
    )

    def draw(self, _context):
        """Reads the settings and whether PyTorch can be found; changes nothing, imports nothing
        (it runs on every redraw)."""
        layout = self.layout
        layout.prop(self, "models_folder")
        layout.prop(self, "extra_packages")
        problem = packages_folder_problem(bpy.path.abspath(self.extra_packages))
        if problem:
            layout.label(text=problem, icon="ERROR")
        elif dependencies.torch_installed():
            layout.label(text="PyTorch found: Auto runs it (faster, and GPUs).", icon="CHECKMARK")
        else:
            layout.label(text="Generating works as it is, with NumPy. PyTorch is optional (faster, GPUs):",
                         icon="INFO")
            for line in textwrap.wrap(dependencies.install_hint(), 90, break_long_words=False,
                                       break_on_hyphens=False):
                layout.label(text=line)
        layout.prop(self, "runtime", expand=True)
        row = layout.row()
        row.prop(self, "device")
        row.prop(self, "memory_limit_gb")
        layout.label(text="This add-on never goes online; it needs no internet access.", icon="INFO")


classes = (GANART_AP_preferences,)
