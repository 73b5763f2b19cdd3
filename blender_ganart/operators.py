"""The add-on's operators: Blender's side of a press only. Generate gathers its options
(declared once in properties.GenerationOptions) and hands them to service.py, which checks,
computes (here in a worker thread when there is a window) and delivers; every failure becomes one
report line and CANCELLED."""

import random
import time

import bpy

from . import properties, service

from .core import jobs, model_catalog
from .core.errors import GanArtError
from .core.seeds import SEED_MAX

TIMER_STEP = 0.1  # seconds between progress checks; short enough for a snappy Cancel


class _GenerateInputs:
    """The Generate operator's own inputs. Listed after GenerationOptions among the bases:
    Blender registers the bases' properties last base first (seen in 4.5), so the redo panel
    shows these first, as it did before the options were shared."""

    model: bpy.props.StringProperty(
        name="Model", description="A model name from the list or a file path; empty uses the panel's choice")
    seed: bpy.props.IntProperty(name="Seed", min=0, description="The same seed gives the same texture")
    seed_text: bpy.props.StringProperty(
        name="Seed (any)", description="Any seed: an integer up to 2^64-1 or any text; used instead of Seed when set")


class GANART_OT_generate(properties.GenerationOptions, _GenerateInputs, bpy.types.Operator):
    """Generate a seamless texture from a seed and put it into the active object's material"""

    bl_idname = "ganart.generate"
    bl_label = "Generate GAN Texture"
    bl_options = {"REGISTER", "UNDO"}

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
            self._prepared, self._started = self._prepare(context), time.perf_counter()
        except GanArtError as exc:
            return self._fail(str(exc))
        self._job = jobs.Job(service.work(self._prepared)).start()
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
            return self._fail(service.failure_message(self._job.error))
        try:
            return self._finish(context, self._job.result, service.plan_again(self._prepared, context))
        except GanArtError as exc:
            return self._fail(str(exc))

    def execute(self, context):
        self._fill_unset_from_panel(context)
        self._started = time.perf_counter()
        try:
            prepared = self._prepare(context)
            return self._finish(context, jobs.run_now(service.work(prepared)), prepared)
        except (GanArtError, RuntimeError, MemoryError) as exc:
            return self._fail(service.failure_message(exc))

    def _prepare(self, context) -> service.Prepared:
        return service.prepare(
            context, model=self.model, seed=self.seed_text if self.seed_text.strip() else self.seed,
            width=self.width, height=self.height, tileable=self.tileable, variation=self.variation,
            count=self.variations, maps=properties.map_options(self), destination=self.destination,
            storage=self.storage)

    def _finish(self, context, result, prepared):
        service.deliver(prepared, result)
        text = service.summarise(result, prepared.request, time.perf_counter() - self._started)
        if hasattr(context.scene, "ganart"):
            context.scene.ganart.last_result = text
        _redraw_panels(context)
        self.report({"INFO"}, f"Generated {text}")
        return {"FINISHED"}

    def _fail(self, message: str):
        self.report({"ERROR"}, message.splitlines()[0] if message else "Generation failed.")
        return {"CANCELLED"}

    def _fill_unset_from_panel(self, context):
        """Options the caller did not set take the panel's values (what the button means)."""
        settings = getattr(context.scene, "ganart", None)
        if settings is None:
            return
        width, height = settings.pixel_size()
        panel = {name: getattr(settings, name) for name in properties.OPTION_NAMES}
        panel.update(width=width, height=height, seed_text=settings.seed)
        if not self.properties.is_property_set("model"):
            self.model = properties.model_path_for(properties.chosen_model(settings, context),
                                                   settings.model_file, context)
        if self.properties.is_property_set("seed"):
            del panel["seed_text"]  # an integer seed given: the panel's text seed must not override it
        for name, value in panel.items():
            if not self.properties.is_property_set(name):
                setattr(self, name, value)


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


def _redraw_panels(context):
    screen = context.screen or (context.window.screen if context.window else None)
    for area in screen.areas if screen else ():
        if area.type in {"VIEW_3D", "NODE_EDITOR"}:
            area.tag_redraw()


classes = (GANART_OT_generate, GANART_OT_cancel, GANART_OT_random_seed, GANART_OT_refresh_models)
