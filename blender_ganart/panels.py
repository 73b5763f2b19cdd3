"""The "GAN Art" sidebar tab in the 3D Viewport and the Shader Editor. Panels only draw."""

import textwrap

import bpy

from . import preferences, properties

from .core import jobs, model_catalog, model_maps

SIDEBAR_CHARACTERS = 27  # what the default sidebar width shows of a label in Blender's default font


class _GanArtPanel:
    """Shared drawing; the subclasses only say which editor they live in."""

    bl_region_type = "UI"
    bl_category = "GAN Art"
    bl_label = "GAN Art Texture"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.ganart
        self._draw_model(context, layout, settings)

        col = layout.column(align=True)
        row = col.row(align=True)
        row.prop(settings, "seed")
        row.operator("ganart.random_seed", text="", icon="FILE_REFRESH")
        col.prop(settings, "size")
        if settings.size == "CUSTOM":
            row = col.row(align=True)
            row.prop(settings, "width")
            row.prop(settings, "height")
        col = layout.column()
        col.prop(settings, "tileable")
        col.prop(settings, "variation")
        col.prop(settings, "variations")
        layout.prop(settings, "destination", expand=True)
        layout.prop(settings, "storage", expand=True)

        job = jobs.ACTIVE.running()
        if job is None:
            layout.operator("ganart.generate", icon="SHADING_TEXTURE")
        else:
            row = layout.row(align=True)
            if hasattr(row, "progress"):  # Blender 4.0+
                row.progress(factor=job.progress, type="BAR", text=f"Generating {job.progress:.0%}")
            else:
                row.label(text=f"Generating… {job.progress:.0%}", icon="TIME")
            row.operator("ganart.cancel", text="", icon="CANCEL")
        if settings.last_result:
            col = layout.column(align=True)
            for index, part in enumerate(settings.last_result.split("; ")):
                col.label(text=part, icon="CHECKMARK" if index == 0 else "TIME")

    def _draw_model(self, context, layout, settings):
        row = layout.row(align=True)
        row.prop(settings, "model", text="")
        row.operator("ganart.refresh_models", text="", icon="FILE_REFRESH")
        choice = properties.chosen_model(settings, context)
        if choice == properties.FILE_CHOICE:
            layout.prop(settings, "model_file", text="")
            return
        entry = _chosen_entry(context, choice)
        if entry is None:
            layout.label(text="No models found: set a models folder in the preferences.", icon="INFO")
            return
        box = layout.box().column(align=True)
        if entry.error:
            box.label(text=entry.error, icon="ERROR")
            return
        card = entry.card
        box.label(text=card.name, icon="TEXTURE")
        lines = [card.description, f"Native size: {card.native_size} px · {', '.join(card.maps).capitalize()}",
                 card.texel_note(), f"Data license: {card.data_license}" if card.data_license else ""]
        for line in lines:  # wrapped: the sidebar is narrow and Blender cuts a long label's middle out
            for part in textwrap.wrap(line, SIDEBAR_CHARACTERS):
                box.label(text=part)


def _chosen_entry(context, model_id: str):
    """The entry chosen, or with no choice stored yet the first one (what Generate then uses)."""
    entries = model_catalog.list_models(preferences.current(context).models_folder)
    for entry in entries:
        if properties.model_id(entry) == model_id or (not model_id and entry.bundled):
            return entry
    return None


class _MapsPanel:
    """The "Maps" sub-panel: which maps go into the material, and how strong."""

    bl_region_type = "UI"
    bl_category = "GAN Art"
    bl_label = "Maps"
    bl_options = {"DEFAULT_CLOSED"}

    # (toggle, its strength)
    ROWS = (("map_color", None), ("map_normal", "normal_strength"), ("map_roughness", "roughness_strength"),
            ("map_height", "height_strength"), ("map_ao", "ao_strength"))

    def draw(self, context):
        settings = context.scene.ganart
        col = self.layout.column(align=True)
        for toggle, strength in self.ROWS:
            row = col.row(align=True)
            row.prop(settings, toggle)
            if strength is not None:
                sub = row.row(align=True)
                sub.active = getattr(settings, toggle)
                sub.prop(settings, strength, text="")  # the row's toggle names it; the narrow sidebar cut "Strength" to "Stre"
        wanted = properties.map_options(settings).derived
        if wanted:
            choice = properties.chosen_model(settings, context)
            entry = None if choice == properties.FILE_CHOICE else _chosen_entry(context, choice)
            maps = entry.card.maps if entry is not None and entry.card is not None else None
            col = self.layout.column(align=True)
            for line in model_maps.source_note(maps, wanted):
                col.label(text=line, icon="INFO" if line.endswith(":") else "BLANK1")


class VIEW3D_PT_ganart(_GanArtPanel, bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_idname = "VIEW3D_PT_ganart"


class NODE_PT_ganart(_GanArtPanel, bpy.types.Panel):
    bl_space_type = "NODE_EDITOR"
    bl_idname = "NODE_PT_ganart"

    @classmethod
    def poll(cls, context):
        space = context.space_data
        return space is not None and getattr(space, "tree_type", "") == "ShaderNodeTree"


class VIEW3D_PT_ganart_maps(_MapsPanel, bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_idname = "VIEW3D_PT_ganart_maps"
    bl_parent_id = "VIEW3D_PT_ganart"


class NODE_PT_ganart_maps(_MapsPanel, bpy.types.Panel):
    bl_space_type = "NODE_EDITOR"
    bl_idname = "NODE_PT_ganart_maps"
    bl_parent_id = "NODE_PT_ganart"


classes = (VIEW3D_PT_ganart, NODE_PT_ganart, VIEW3D_PT_ganart_maps, NODE_PT_ganart_maps)
