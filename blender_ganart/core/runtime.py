"""Which runtime runs the generator: PyTorch when it is there (fast CPU, CUDA, Metal), NumPy always.

Every Blender ships NumPy, so the NumPy runtime (numpy_runtime.py) makes any texture in a stock
Blender; PyTorch is the optional speed and GPU path. Both give the same pixels. "auto" takes
PyTorch when it can be imported and NumPy otherwise, with a note saying so, never an error.
No torch import at module level and no bpy here.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass

from . import dependencies
from .errors import SynthesisOptionsError

RUNTIME_CHOICES = ("auto", "pytorch", "numpy")
LABELS = {"pytorch": "PyTorch", "numpy": "NumPy"}


@dataclass(frozen=True)
class RuntimeChoice:
    name: str  # "pytorch" or "numpy"
    note: str = ""  # why, when the user's choice was not simply followed

    @property
    def label(self) -> str:
        return LABELS[self.name]


def choose_runtime(choice: str = "auto", device: str = "auto") -> RuntimeChoice:
    """The runtime for a preference value and device; raises a GanArtError when none can serve.

    'pytorch' without PyTorch raises TorchMissingError (with the install hint); a GPU device
    needs PyTorch, since the NumPy runtime runs on the CPU only.
    """
    choice = str(choice).lower()
    if choice not in RUNTIME_CHOICES:
        raise SynthesisOptionsError(f"Unknown runtime '{choice}'; choose one of {', '.join(RUNTIME_CHOICES)}.")
    on_cpu = str(device).lower().split(":")[0] in ("auto", "cpu")
    if choice == "pytorch":
        dependencies.require_torch()
        return RuntimeChoice("pytorch")
    if choice == "numpy":
        _require_numpy()
        if not on_cpu:
            raise SynthesisOptionsError(
                f"Device '{device}' needs the PyTorch runtime; the NumPy runtime runs on the CPU.")
        return RuntimeChoice("numpy")
    if dependencies.torch_available():
        return RuntimeChoice("pytorch")
    if not on_cpu:
        raise SynthesisOptionsError(f"Device '{device}' needs PyTorch. {dependencies.install_hint()}")
    _require_numpy()
    return RuntimeChoice("numpy", "PyTorch not found, so NumPy ran it (PyTorch is optional: faster, and GPUs)")


def _require_numpy() -> None:
    """Blender's own builds ship NumPy; a distribution's Blender may run on a Python without it."""
    if importlib.util.find_spec("numpy") is None:
        raise dependencies.TorchMissingError(
            f"Neither NumPy nor PyTorch is installed for this Python {sys.version_info.major}."
            f"{sys.version_info.minor} ({sys.executable}); install NumPy (on Debian or Ubuntu: "
            f"apt install python3-numpy) or PyTorch.")


def network_for(model, runtime: str):
    """The network of `model` for that runtime: a torch Generator or a NumpyGenerator.

    model: a model_reader.ModelData (networks are built once and kept on it), a
    model_file.LoadedModel, a network.Generator or a numpy_runtime.NumpyGenerator.
    """
    from .model_reader import ModelData
    from .numpy_runtime import NumpyGenerator

    if isinstance(model, ModelData):
        if runtime not in model.networks:
            if runtime == "numpy":
                model.networks[runtime] = NumpyGenerator(model.config, model.weights)
            else:
                from .model_file import torch_generator

                model.networks[runtime] = torch_generator(model)
        return model.networks[runtime]
    if isinstance(model, NumpyGenerator):
        if runtime == "numpy":
            return model
        from .model_file import torch_generator

        return torch_generator(ModelData(model.config, None, model.weights))
    generator = getattr(model, "generator", model)  # a LoadedModel's network, or a network
    if runtime == "pytorch":
        return generator
    twin = getattr(model, "_numpy_twin", None)  # kept on a LoadedModel, made anew for a bare network
    if twin is None:
        twin = NumpyGenerator.from_torch(generator)
        if generator is not model:
            model._numpy_twin = twin
    return twin

