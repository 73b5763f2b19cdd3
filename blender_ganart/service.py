"""One press of Generate on the Blender side: prepare → compute → deliver → summarise.

The Generate operator (operators.py) and the headless API (api.py) both go through here, so a
button press and a script make the same checks, run the same compute and wire the same nodes.
Nothing here draws or reports: the operator turns a GanArtError into one report line, the API
raises it. `prepare` is the one place a generation's options become the validated request
(core/options.py, core/generation.py); until `deliver`, nothing in Blender has changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import bpy

from . import blender_output, node_wiring, preferences

from .core import generation, jobs, model_catalog
from .core.errors import Cancelled, GanArtError
from .core.options import SynthesisOptions


@dataclass(frozen=True)
class Prepared:
    """A checked request and where its result goes; nothing in Blender has changed yet."""

    request: generation.GenerationRequest
    plan: node_wiring.Target
    destination: str = "NEW_NODE"
    storage: str = "PACK"  # or "SAVE" (blender_output.check_storage)
    save_path: str | os.PathLike | None = None
    # The object's and the material's names: a reference to a deleted ID raises when read, so a
    # worker thread's result finds its target again by name (plan_again).
    target_names: tuple[str, str] = ("", "")


def prepare(context, *, model: str = "", seed: int | str = 0, width: int = 1024, height: int = 1024,
            tileable: bool = True, variation: float = 1.0, count: int = 1, maps=None,
            destination: str = "NEW_NODE", storage: str = "PACK", target=None, save_path=None) -> Prepared:
    """Checks everything that can be checked before generating; raises GanArtError.

    model: a name from the catalog or a file path ('' = the first bundled model). seed: any
    integer 0 to 2⁶⁴−1 or any text. count: textures from consecutive seeds. maps:
    map_options.MapOptions or None (colour only). target: an Object, a Material or None (the
    active object). The device, runtime, models folder and memory limit come from the preferences.
    """
    options = SynthesisOptions(seed, width, height, tileable, variation)  # the seed's one check
    settings = preferences.current(context)
    preferences.apply_extra_packages(settings.extra_packages)
    plan = node_wiring.plan_target(target, destination, context)
    blender_output.check_storage(storage, save_path)
    model_path = model_catalog.resolve_model(model or None, settings.models_folder)
    request = generation.GenerationRequest(model_path, options, count, settings.device, settings.runtime, maps)
    generation.check_request(request, settings.memory_limit)
    names = (plan.obj.name if plan.obj else "", plan.material.name if plan.material else "")
    return Prepared(request, plan, destination, storage, save_path, names)


def work(prepared: Prepared) -> jobs.Work:
    """The compute, for a worker thread or jobs.run_now: plain data in, plain arrays out."""
    return lambda progress, should_cancel: generation.compute(
        prepared.request, model_catalog.CACHE.load, progress, should_cancel)


def plan_again(prepared: Prepared, context=None) -> Prepared:
    """The same target planned anew, after the user had the UI while a worker thread computed:
    the object or material is found again by name, and is refused if it was deleted meanwhile."""
    obj_name, material_name = prepared.target_names
    target = bpy.data.objects.get(obj_name) if obj_name else bpy.data.materials.get(material_name)
    if target is None:
        raise node_wiring.TargetError("The object or material was deleted while generating.")
    return replace(prepared, plan=node_wiring.plan_target(target, prepared.destination, context))


def deliver(prepared: Prepared, result: generation.GenerationResult) -> tuple[object, list]:
    """The textures into images, stored and wired (blender_output.deliver); the material and the
    colour images."""
    return blender_output.deliver(result, prepared.plan, prepared.storage, prepared.save_path,
                                  prepared.request.maps)


def summarise(result: generation.GenerationResult, request: generation.GenerationRequest, seconds: float) -> str:
    """'<model>, seed 7; 1024×1024 px in 1.20 s with PyTorch[; why that runtime]'."""
    first = result.textures[0]
    seeds = f"seed {first.seed}" if len(result.textures) == 1 else f"seeds {first.seed}–{result.textures[-1].seed}"
    ran = f"{request.options.width}×{request.options.height} px in {seconds:.2f} s with {result.runtime}"
    return "; ".join(part for part in (f"{first.model_name}, {seeds}", ran, result.note) if part)


def failure_message(exc: BaseException) -> str:
    """Any failure of a generation as the one line a user reads."""
    if isinstance(exc, Cancelled):
        return "Generation cancelled; nothing was changed."
    if isinstance(exc, GanArtError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "Not enough memory for this texture; choose a smaller size."
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"Generation failed ({type(exc).__name__}: {first})."
