"""Runs inside a real Blender window (Debian's Blender 3.4 under Xvfb), started by
tests/test_blender_window.py: enables the add-on like a user (optionally installing the built zip
first), points it at PyTorch when the config names a site-packages folder, opens the
"GAN Art" sidebar tab, presses Generate (the modal, threaded path), waits for the result, saves a
screenshot, optionally generates every map and reads the node sizes a Shader Editor draws, and
writes what it saw to a JSON file. Blender is started with --enable-event-simulate,
so the tab is opened with simulated clicks on the sidebar's tab strip, as a user would.

Arguments after '--': <json config path>.
"""

import json
import sys
import time
import traceback

import bpy

config = json.loads(open(sys.argv[sys.argv.index("--") + 1]).read())
report = {"steps": [], "drawn_progress": [], "errors": []}
state = {"step": 0, "clicks": 0, "started": None, "drawn": False}


def log(text):
    report["steps"].append(text)
    print("GANART-WINDOW:", text, flush=True)


def view3d():
    window = bpy.context.window_manager.windows[0]
    area = max((a for a in window.screen.areas if a.type == "VIEW_3D"), key=lambda a: a.width * a.height)
    sidebar = next(r for r in area.regions if r.type == "UI")
    main = next(r for r in area.regions if r.type == "WINDOW")
    return window, area, sidebar, main


def finish():
    with open(config["report"], "w") as handle:
        json.dump(report, handle, indent=1)
    bpy.ops.wm.quit_blender()


def setup():
    window = bpy.context.window_manager.windows[0]
    window.event_simulate(type="ESC", value="PRESS", x=10, y=10)  # close the first-run splash
    window.event_simulate(type="ESC", value="RELEASE", x=10, y=10)
    if config.get("install_zip"):  # as a user installs the built zip: Edit > Preferences > Install
        bpy.ops.preferences.addon_install(filepath=config["install_zip"])
        log("zip installed")
    bpy.ops.preferences.addon_enable(module="blender_ganart")
    prefs = bpy.context.preferences.addons["blender_ganart"].preferences
    if config.get("site_packages"):  # else: nothing but Blender and its Python's NumPy
        prefs.extra_packages = config["site_packages"]
    prefs.models_folder = config["models_folder"]
    report["addon_file"] = sys.modules["blender_ganart"].__file__
    log("add-on enabled")
    from blender_ganart import panels

    original = panels.VIEW3D_PT_ganart.draw

    def draw_and_note(self, context):  # the real draw; noting that the GAN Art tab is showing
        state["drawn"] = True
        from blender_ganart.core import jobs

        job = jobs.ACTIVE.running()
        if job is not None:
            report["drawn_progress"].append(round(job.progress, 3))
        original(self, context)

    panels.VIEW3D_PT_ganart.draw = draw_and_note
    settings = bpy.context.scene.ganart
    if config.get("open_maps"):  # the Maps sub-panel opened, with every map on: its note draws too
        open_maps_panel(panels, settings)
    settings.model = config["model_id"]
    settings.size = "512"
    settings.seed = "42"
    window, area, sidebar, _main = view3d()
    area.spaces.active.show_region_ui = True
    area.spaces.active.shading.type = "MATERIAL"


def open_maps_panel(panels, settings):
    """The sub-panel starts closed; registered again without DEFAULT_CLOSED it starts open, as if
    the artist had clicked it. Its real draw runs, noted in the report."""
    maps_panel = panels.VIEW3D_PT_ganart_maps
    original = maps_panel.draw

    def draw_and_note(self, context):
        report["maps_panel_drawn"] = True
        original(self, context)

    bpy.utils.unregister_class(maps_panel)
    maps_panel.bl_options = set()
    maps_panel.draw = draw_and_note
    bpy.utils.register_class(maps_panel)
    for toggle in ("map_normal", "map_roughness", "map_height", "map_ao"):
        setattr(settings, toggle, True)


def open_tab():
    """Clicks down the sidebar's tab strip, one spot per tick, until the GAN Art panel draws.

    The tab's position depends on fonts and scale, so it is found the way a user scans for it."""
    window, area, sidebar, _main = view3d()
    if state["drawn"]:
        log(f"GAN Art tab open after {state['clicks']} clicks on the tab strip")
        return True
    x = sidebar.x + sidebar.width - 10
    y = sidebar.y + sidebar.height - 15 - 20 * state["clicks"]
    if y < sidebar.y:
        raise RuntimeError("the GAN Art tab never showed")
    window.event_simulate(type="MOUSEMOVE", value="NOTHING", x=x, y=y)
    window.event_simulate(type="LEFTMOUSE", value="PRESS", x=x, y=y)
    window.event_simulate(type="LEFTMOUSE", value="RELEASE", x=x, y=y)
    state["clicks"] += 1
    return False


def press_generate():
    window, area, sidebar, _main = view3d()
    with bpy.context.temp_override(window=window, area=area, region=sidebar):
        result = bpy.ops.ganart.generate("INVOKE_DEFAULT")
    log(f"Generate pressed: {sorted(result)}")
    report["invoke_result"] = sorted(result)
    state["started"] = time.perf_counter()
    return True


def wait_result():
    from blender_ganart.core import jobs

    if jobs.ACTIVE.running() is not None:
        return False
    settings = bpy.context.scene.ganart
    report["last_result"] = settings.last_result
    report["images"] = {i.name: list(i.size) for i in bpy.data.images}
    report["seconds"] = time.perf_counter() - state["started"]
    report["torch_loaded"] = "torch" in sys.modules
    material = bpy.context.active_object.active_material
    report["material"] = material.name if material else None
    log(f"result: {settings.last_result}")
    return True


def screenshot():
    window, area, _sidebar, _main = view3d()
    for _ in range(3):
        bpy.ops.wm.redraw_timer(type="DRAW_WIN_SWAP", iterations=1)
    with bpy.context.temp_override(window=window):
        bpy.ops.screen.screenshot(filepath=config["screenshot"])
    log("screenshot saved")
    return True


def show_material_nodes():
    """With config["node_layout"]: Generate every map for two variations, twice (the second
    press reuses and adds nodes), then turn the biggest area into a Shader Editor showing them."""
    if not config.get("node_layout"):
        return True
    for seed in (3, 4):
        result = bpy.ops.ganart.generate("EXEC_DEFAULT", seed=seed, width=64, height=64, variations=2,
                                         map_normal=True, map_roughness=True, map_height=True, map_ao=True)
        log(f"Generate with maps: {sorted(result)}")
    window, area, _sidebar, _main = view3d()
    area.type = "NODE_EDITOR"
    area.ui_type = "ShaderNodeTree"
    return True


def read_node_sizes():
    """The nodes as drawn: location, width and node.dimensions (set only once a window drew them)."""
    if not config.get("node_layout"):
        return True
    bpy.ops.wm.redraw_timer(type="DRAW_WIN_SWAP", iterations=1)
    nodes = bpy.context.active_object.active_material.node_tree.nodes
    report["nodes"] = {n.name: [n.location.x, n.location.y, n.width, n.dimensions.x, n.dimensions.y]
                       for n in nodes if n.type != "FRAME"}
    report["ui_scale"] = bpy.context.preferences.system.ui_scale
    state["layout_tries"] = state.get("layout_tries", 0) + 1
    drawn = all(size[3] > 0 for size in report["nodes"].values())
    if not drawn and state["layout_tries"] > 20:
        raise RuntimeError("the Shader Editor never drew the material's nodes")
    return drawn


STEPS = [setup, open_tab, press_generate, wait_result, screenshot, show_material_nodes, read_node_sizes]


def tick():
    try:
        if state["step"] >= len(STEPS):
            finish()
            return None
        done = STEPS[state["step"]]()
        if done is None or done:
            state["step"] += 1
        return 0.3
    except Exception:  # noqa: BLE001 - recorded for the test to show, then Blender quits
        report["errors"].append(traceback.format_exc())
        finish()
        return None


bpy.app.timers.register(tick, first_interval=1.0)
