"""The demo of the main job: a small scene textured by the bundled models, rendered, saved, shipped.

    .venv/bin/python scripts/demo_scene.py [--out out/main_job] [--resolution 960 540] [--samples 32]

Headless, with the `bpy` module: for each bundled model (up to MAX_MODELS) a sphere and a rounded cube
get full materials (colour, and normal, roughness, height and AO maps derived from it: MAPS) generated
from two seeds through the add-on's Python API (`blender_ganart.api`), under a low, grazing sun,
the ground gets a third seed repeated six times over its surface (the texture is tileable, so
no seam shows), and a label under each pair names the model and seeds. The scene is saved as a
.blend with the textures packed inside, rendered with Cycles on the CPU to a PNG, and the
installable add-on zip is built with build.py. Every result's path is printed at the end.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MAX_MODELS = 6
GROUND_REPEATS = 6
SPACING = 3.4  # metres between the model columns
MAPS = ("normal", "roughness", "height", "ao")  # every map (the model's own, else derived from its colour), wired
SUN_ELEVATION = 18  # degrees above the horizon: grazing, so the normal maps' relief shows


@dataclass(frozen=True)
class DemoOptions:
    out_dir: Path
    addon_root: Path  # the folder holding blender_ganart/ (the repository, or a test's copy)
    resolution: tuple[int, int]
    samples: int
    texture_size: int
    docs_copy: Path | None


def parse_args(argv: list[str] | None) -> DemoOptions:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "main_job", help="folder for the results")
    parser.add_argument("--addon-root", type=Path, default=ROOT,
                        help="folder holding blender_ganart/ to demo and build (default: this repository)")
    parser.add_argument("--resolution", type=int, nargs=2, default=(960, 540), metavar=("W", "H"))
    parser.add_argument("--samples", type=int, default=32, help="Cycles samples per pixel (denoised)")
    parser.add_argument("--texture-size", type=int, default=512, help="texture height in pixels")
    parser.add_argument("--docs", action="store_true", help="also copy the render to docs/demo_render.png")
    args = parser.parse_args(argv)
    if min(args.resolution) < 16 or args.samples < 1 or not 16 <= args.texture_size <= 4096:
        parser.error("--resolution needs at least 16×16, --samples at least 1, --texture-size 16 to 4096")
    return DemoOptions(args.out.resolve(), args.addon_root.resolve(), tuple(args.resolution), args.samples,
                       args.texture_size, ROOT / "docs" / "demo_render.png" if args.docs else None)


def import_addon(addon_root: Path):
    """The add-on as a plain package; it need not be enabled for its Python API."""
    sys.path.insert(0, str(addon_root))
    from blender_ganart import api

    if not Path(api.__file__).resolve().is_relative_to(addon_root):
        raise SystemExit(f"blender_ganart was imported from {api.__file__}, not from {addon_root}")
    return api


# ---------------------------------------------------------------------------------------------
# Scene


def empty_scene(bpy):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.name = "GAN Art demo"
    return scene


def link(bpy, obj):
    bpy.context.scene.collection.objects.link(obj)
    return obj


def add_mesh(bpy, kind: str, name: str, location):
    """A sphere or a bevelled cube, smooth shaded, with the UVs its primitive comes with."""
    if kind == "sphere":
        bpy.ops.mesh.primitive_uv_sphere_add(segments=64, ring_count=32, radius=0.8, location=location)
    else:
        bpy.ops.mesh.primitive_cube_add(size=1.3, location=(location[0], location[1], 0.65))
        bevel = bpy.context.object.modifiers.new("Bevel", "BEVEL")
        bevel.width, bevel.segments = 0.12, 4
        bpy.context.object.rotation_euler.z = math.radians(20)
    obj = bpy.context.object
    obj.name = name
    bpy.ops.object.shade_smooth()
    return obj


def add_ground(bpy, width: float, depth: float):
    """A plane whose UVs span GROUND_REPEATS tiles, so the texture repeats across it."""
    bpy.ops.mesh.primitive_plane_add(size=1.0, location=(0, depth / 2 - 15, 0))  # front edge behind the camera
    ground = bpy.context.object
    ground.name = "Ground"
    ground.scale = (width, depth, 1)
    for loop in ground.data.uv_layers.active.data:
        loop.uv = (loop.uv[0] * GROUND_REPEATS, loop.uv[1] * GROUND_REPEATS * depth / width)
    return ground


def add_label(bpy, text: str, location):
    curve = bpy.data.curves.new(f"Label {text}", "FONT")
    curve.body, curve.size, curve.align_x = text, 0.2, "CENTER"
    label = link(bpy, bpy.data.objects.new(curve.name, curve))
    label.location = location
    material = bpy.data.materials.new("Label")
    material.use_nodes = True
    material.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (0.9, 0.9, 0.9, 1)
    curve.materials.append(material)
    return label


def add_camera_and_lights(bpy, columns: int):
    half_width = (columns - 1) * SPACING / 2
    camera_data = bpy.data.cameras.new("Camera")
    camera_data.lens = 35
    camera = link(bpy, bpy.data.objects.new("Camera", camera_data))
    # 35 mm sees about ±0.6 × distance across at the objects (59° down): room for the outer
    # objects plus a margin, however many models there are.
    distance = max(5.2 + 1.25 * half_width, (half_width + 2.4) / 0.6)
    camera.location = (0, -distance, 0.55 * distance)
    camera.rotation_euler = (math.radians(59), 0, 0)
    bpy.context.scene.camera = camera

    sun_data = bpy.data.lights.new("Sun", "SUN")
    # 3 W/m² at 40° elevation before; the low sun gets twice that, so the ground is as bright
    sun_data.energy, sun_data.angle = 6.0, math.radians(8)
    sun = link(bpy, bpy.data.objects.new("Sun", sun_data))
    sun.rotation_euler = (math.radians(90 - SUN_ELEVATION), 0, math.radians(35))

    fill_data = bpy.data.lights.new("Fill", "AREA")
    fill_data.energy, fill_data.size = 400.0, 6.0
    fill = link(bpy, bpy.data.objects.new("Fill", fill_data))
    fill.location = (-4, -5, 5)
    fill.rotation_euler = (math.radians(50), 0, math.radians(-40))

    world = bpy.data.worlds.new("Sky")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.55, 0.62, 0.75, 1)
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.35
    bpy.context.scene.world = world


@dataclass(frozen=True)
class Placed:
    """One object and the texture on it, for the summary."""

    obj: str
    model: str
    seed: int
    size: tuple[int, int]


def one_per_family(models: list) -> list:
    """Each family once (`rock` and `rock-maps` are one family), its full-material model where it
    has one: the demo shows what the add-on makes best, learned relief over derived relief."""
    chosen: dict[str, object] = {}
    for entry in models:
        family = entry.path.name.split(".")[0].removesuffix("-maps")
        if family not in chosen or len(entry.card.maps) > len(chosen[family].card.maps):
            chosen[family] = entry
    return list(chosen.values())


def build_scene(bpy, api, models, texture_size: int) -> list[Placed]:
    placed = []
    columns = len(models)
    for column, entry in enumerate(models):
        x = (column - (columns - 1) / 2) * SPACING
        seeds = (100 + column, 200 + column)
        sphere = add_mesh(bpy, "sphere", f"{entry.name} sphere", (x - 0.8, 0, 0.8))
        cube = add_mesh(bpy, "cube", f"{entry.name} cube", (x + 0.85, 0.5, 0))
        # A UV sphere's map is twice as wide as tall: a 2:1 texture keeps the pattern's proportions.
        for obj, seed, size in ((sphere, seeds[0], (2 * texture_size, texture_size)),
                                (cube, seeds[1], (texture_size, texture_size))):
            api.generate(obj, model=str(entry.path), seed=seed, width=size[0], height=size[1],
                         tileable=True, pack=True, maps=MAPS)
            placed.append(Placed(obj.name, entry.name, seed, size))
        add_label(bpy, f"{entry.name}\nseeds {seeds[0]}, {seeds[1]}", (x, -1.35, 0.01))

    ground = add_ground(bpy, width=columns * SPACING + 12, depth=40)
    ground_seed = 300
    # The floor takes the model made for floors when there is one (the "Ground" model).
    floor_model = next((entry for entry in models if entry.name.lower().startswith("ground")), models[0])
    api.generate(ground, model=str(floor_model.path), seed=ground_seed, width=texture_size, height=texture_size,
                 tileable=True, pack=True, maps=MAPS)
    placed.append(Placed(ground.name, floor_model.name, ground_seed, (texture_size, texture_size)))
    add_camera_and_lights(bpy, columns)
    return placed


def configure_render(bpy, options: DemoOptions, png: Path) -> None:
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = options.samples
    scene.cycles.use_adaptive_sampling = True
    scene.cycles.use_denoising = True
    scene.cycles.max_bounces = 4
    scene.render.resolution_x, scene.render.resolution_y = options.resolution
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.view_settings.view_transform = "Standard"  # show the textures' colours as generated
    scene.render.filepath = str(png)


# ---------------------------------------------------------------------------------------------
# Main


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    import bpy

    api = import_addon(options.addon_root)
    import build  # the repository's build.py, next to scripts/

    options.out_dir.mkdir(parents=True, exist_ok=True)
    blend, png, dist = options.out_dir / "demo_scene.blend", options.out_dir / "demo_render.png", options.out_dir / "dist"

    models = one_per_family([entry for entry in api.list_models() if entry.bundled and entry.usable])[:MAX_MODELS]
    if not models:
        print(f"No usable bundled model in {options.addon_root / 'blender_ganart' / 'models'}.", file=sys.stderr)
        return 1

    started = time.perf_counter()
    empty_scene(bpy)
    placed = build_scene(bpy, api, models, options.texture_size)
    textured = time.perf_counter()
    configure_render(bpy, options, png)
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), check_existing=False)
    saved = time.perf_counter()
    bpy.ops.render.render(write_still=True)
    rendered = time.perf_counter()
    try:
        zips = build.build(options.addon_root, dist)
    except build.BuildError as exc:
        print(f"The add-on zip was not built: {exc}", file=sys.stderr)
        return 1
    if options.docs_copy is not None:
        options.docs_copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, options.docs_copy)

    print("\nGAN Art demo: done")
    for item in placed:
        print(f"  {item.obj:<28} {item.model}, seed {item.seed}, {item.size[0]}×{item.size[1]} px")
    print(f"  textures generated in {textured - started:.1f} s; render "
          f"{options.resolution[0]}×{options.resolution[1]}, {options.samples} samples, in {rendered - saved:.1f} s")
    print(f"  scene (.blend, textures packed): {blend}")
    print(f"  render (PNG):                    {png}")
    for path in zips:
        print(f"  add-on zip:                      {path}")
    if options.docs_copy is not None:
        print(f"  render copied to:                {options.docs_copy}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # build.py
    sys.exit(main())
