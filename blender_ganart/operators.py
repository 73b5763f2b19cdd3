"""The add-on's operators. They gather options into a GenerationRequest, refuse early, and hand
the compute to generation.py (through a worker thread when there is a window) and the Blender
writing to blender_output.py. Every failure becomes one report line and CANCELLED."""

import random
import time

import bpy

from . import blender_output, node_wiring, preferences, properties

from .core import generation, jobs, model_catalog
from .core.errors import Cancelled, GanArtError
from .core.seeds import SEED_MAX, user_seed

OPTION_NAMES = ("tileable", "variation", "variations", "destination", "storage")
TIMER_STEP = 0.1  # seconds between progress checks; short enough for a snappy Cancel


def prepare(context, model: str, seed: int | str, width: int, height: int, tileable: bool, variation: float,
            count: int, destination: str, storage: str, target=None, save_path=None, maps=None):
    """Checks everything that can be checked before generating. Raises GanArtError.

    seed: any integer 0 to 2⁶⁴−1 or any text (see seeds.py). maps: derived_maps.MapOptions or
    None (colour only). Returns the request and the target plan; nothing in Blender has changed yet.
    """
    seed = user_seed(seed)
    settings = preferences.current(context)
    preferences.apply_extra_packages(settings.extra_packages)
    plan = node_wiring.plan_target(target, destination, context)
    blender_output.check_storage(storage, save_path)
    model_path = model_catalog.resolve_model(model or None, settings.models_folder)
    request = generation.GenerationRequest(model_path, seed, width, height, tileable, variation, count,
                                           settings.device, settings.runtime, maps=maps)
    generation.check_request(request, settings.memory_limit)
    return request, plan


def compute_work(request):
    """The worker-thread part: plain data in, plain arrays out."""
    return lambda progress, should_cancel: generation.compute(
        request, model_catalog.CACHE.load, progress, should_cancel)


def summary(result, request, seconds: float) -> str:
    first = result.textures[0]
    seeds = f"seed {first.seed}" if len(result.textures) == 1 else f"seeds {first.seed}–{result.textures[-1].seed}"
    ran = f"{request.width}×{request.height} px in {seconds:.2f} s with {result.runtime}"
    return "; ".join(part for part in (f"{first.model_name}, {seeds}", ran, result.note) if part)


class GANART_OT_generate(bpy.types.Operator):
    """Generate a seamless texture from a seed and put it into the active object's material"""

    bl_idname = "ganart.generate"
    bl_label = "Generate GAN Texture"
    bl_options = {"REGISTER", "UNDO"}

    model: bpy.props.StringProperty(
        name="Model", description="A model name from the list or a file path; empty uses the panel's choice")
    seed: bpy.props.IntProperty(name="Seed", min=0, description="The same seed gives the same texture")
    seed_text: bpy.props.StringProperty(
        name="Seed (any)", description="Any seed: an integer up to 2^64-1 or any text; used instead of Seed when set")
    width: bpy.props.IntProperty(name="Width", min=0, soft_min=16, soft_max=8192, default=1024, subtype="PIXEL")
    height: bpy.props.IntProperty(name="Height", min=0, soft_min=16, soft_max=8192, default=1024, subtype="PIXEL")
    tileable: bpy.props.BoolProperty(name="Tileable", default=True)
    variation: bpy.props.FloatProperty(name="Detail variation", min=0.0, max=4.0, soft_max=2.0, default=1.0)
    variations: bpy.props.IntProperty(name="Variations", min=1, max=generation.MAX_VARIATIONS, default=1)
    destination: bpy.props.EnumProperty(
        name="Destination",
        items=(("NEW_NODE", "Material", "Image Texture node on the Base Color"),
               ("SELECTED_NODE", "Selected Node", "Replace the selected Image Texture node's image")))
    storage: bpy.props.EnumProperty(
        name="Storage", items=(("PACK", "Pack", "Inside the .blend"), ("SAVE", "Save PNG", "Next to the .blend")))
    # Maps: the panel's names and defaults (properties.MAP_OPTION_NAMES)
    map_color: bpy.props.BoolProperty(name="Colour", default=True)
    map_normal: bpy.props.BoolProperty(name="Normal")
    map_roughness: bpy.props.BoolProperty(name="Roughness")
    map_height: bpy.props.BoolProperty(name="Height")
    map_ao: bpy.props.BoolProperty(name="AO")
    normal_strength: bpy.props.FloatProperty(name="Normal strength", min=0.0, max=100.0, default=2.0)
    roughness_strength: bpy.props.FloatProperty(name="Roughness strength", min=0.0, max=100.0, default=1.0)
    height_strength: bpy.props.FloatProperty(name="Height scale", min=0.0, max=100.0, default=0.02)
    ao_strength: bpy.props.FloatProperty(name="AO strength", min=0.0, max=100.0, default=1.0)

    @classmethod
    def poll(cls, context):
        if jobs.ACTIVE.running() is None:
            return True
        if hasattr(cls, "poll_message_set"):  # Blender 3.0+: scripts see why, not "context is incorrect"
            cls.poll_message_set("A texture is being generated; wait for it or cancel it first.")
        return False

    def invoke(self, context, _event):
        self._fill_unset_from_panel(context)
        if bpy.app.background:
            return self.execute(context)
        try:
            request, plan = self._prepare(context)
        except GanArtError as exc:
            return self._fail(str(exc))
        self._request, self._started = request, time.perf_counter()
        self._target_names = (plan.obj.name if plan.obj else "", plan.material.name if plan.material else "")
        self._job = jobs.Job(compute_work(request), f"{request.width}×{request.height}").start()
        jobs.ACTIVE.job = self._job
        wm = context.window_manager
        self._timer = wm.event_timer_add(TIMER_STEP, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC":
            self._job.cancel()
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        _redraw_panels(context)
        if not self._job.done:
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        jobs.ACTIVE.job = None
        if self._job.error is not None:
            return self._fail(_message(self._job.error))
        try:
            plan = node_wiring.plan_target(self._target_again(), self.destination, context)
            return self._finish(context, self._job.result, self._request, plan)
        except GanArtError as exc:
            return self._fail(str(exc))

    def execute(self, context):
        self._fill_unset_from_panel(context)
        started = time.perf_counter()
        self._started = started
        try:
            request, plan = self._prepare(context)
            result = jobs.run_now(compute_work(request))
            return self._finish(context, result, request, plan)
        except (GanArtError, RuntimeError, MemoryError) as exc:
            return self._fail(_message(exc))

    def _prepare(self, context):
        seed = self.seed_text if self.seed_text.strip() else self.seed
        return prepare(context, self.model, seed, self.width, self.height, self.tileable, self.variation,
                       self.variations, self.destination, self.storage, maps=properties.map_options(self))

    def _finish(self, context, result, request, plan):
        blender_output.deliver(result, plan, self.storage, options=request.maps)
        text = summary(result, request, time.perf_counter() - self._started)
        if hasattr(context.scene, "ganart"):
            context.scene.ganart.last_result = text
        _redraw_panels(context)
        self.report({"INFO"}, f"Generated {text}")
        return {"FINISHED"}

    def _fail(self, message: str):
        self.report({"ERROR"}, message.splitlines()[0] if message else "Generation failed.")
        return {"CANCELLED"}

    def _target_again(self):
        obj_name, material_name = self._target_names
        target = bpy.data.objects.get(obj_name) if obj_name else bpy.data.materials.get(material_name)
        if target is None:
            raise node_wiring.TargetError("The object or material was deleted while generating.")
        return target

    def _fill_unset_from_panel(self, context):
        settings = getattr(context.scene, "ganart", None)
        if settings is None:
            return
        for name in OPTION_NAMES + properties.MAP_OPTION_NAMES:
            if not self.properties.is_property_set(name):
                setattr(self, name, getattr(settings, name))
        if not (self.properties.is_property_set("seed") or self.properties.is_property_set("seed_text")):
            self.seed_text = settings.seed
        if not self.properties.is_property_set("model"):
            self.model = properties.model_path_for(properties.chosen_model(settings, context),
                                                   settings.model_file, context)
        width, height = settings.pixel_size()
        if not self.properties.is_property_set("width"):
            self.width = width
        if not self.properties.is_property_set("height"):
            self.height = height


class GANART_OT_cancel(bpy.types.Operator):
    """Stop the running generation; nothing is added to the file"""

    bl_idname = "ganart.cancel"
    bl_label = "Cancel Generation"

    @classmethod
    def poll(cls, context):
        return jobs.ACTIVE.running() is not None

    def execute(self, _context):
        jobs.ACTIVE.running().cancel()
        return {"FINISHED"}


class GANART_OT_random_seed(bpy.types.Operator):
    """Pick a new random seed"""

    bl_idname = "ganart.random_seed"
    bl_label = "Random Seed"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        context.scene.ganart.seed = str(random.randint(0, SEED_MAX))
        return {"FINISHED"}


class GANART_OT_refresh_models(bpy.types.Operator):
    """Read the models folders again (after adding or replacing model files)"""

    bl_idname = "ganart.refresh_models"
    bl_label = "Refresh Models"

    def execute(self, _context):
        model_catalog.CACHE.clear()
        return {"FINISHED"}


def _message(exc: BaseException) -> str:
    if isinstance(exc, Cancelled):
        return "Generation cancelled; nothing was changed."
    if isinstance(exc, GanArtError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "Not enough memory for this texture; choose a smaller size."
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"Generation failed ({type(exc).__name__}: {first})."


def _redraw_panels(context):
    screen = context.screen or (context.window.screen if context.window else None)
    for area in screen.areas if screen else ():
        if area.type in {"VIEW_3D", "NODE_EDITOR"}:
            area.tag_redraw()


classes = (GANART_OT_generate, GANART_OT_cancel, GANART_OT_random_seed, GANART_OT_refresh_models)
