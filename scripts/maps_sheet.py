"""Contact sheets of the maps: for each bundled model, one seed's colour texture beside its
height, normal, roughness and AO maps (a full-material model's own where it learned them, else
derived from the colour; for such a model a second row shows the derived ones too) and the colour
lit by a grazing light through the normal map, in one JPEG per model
(docs/models/<model file stem>_maps.jpg).

    .venv/bin/python scripts/maps_sheet.py [--size 256] [--seed 1] [--out docs/models] [MODEL_FILE ...]

Run it again after the bundled models change; it needs PyTorch (to generate) and Pillow.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LIGHT = np.array([np.cos(np.radians(20)) * np.cos(np.radians(135)), np.cos(np.radians(20)) * np.sin(np.radians(135)),
                  np.sin(np.radians(20))])  # 20° above the horizon, from the upper left
LABEL_HEIGHT = 22


def lit(color, normal_encoded):
    """The colour shaded as a Lambertian surface lit from LIGHT through the normal map, plus a
    little ambient so the shadowed side keeps its colour."""
    n = normal_encoded * 2.0 - 1.0
    n /= np.linalg.norm(n, axis=2, keepdims=True)
    shade = np.maximum(n @ LIGHT, 0.0) / LIGHT[2]  # 1 where the surface faces up, as a flat plane would
    return np.clip(color * (0.15 + 0.85 * 0.5 * shade[..., None]), 0.0, 1.0)


def sheet(model_path: Path, size: int, seed: int):
    """One row: the colour, its maps as the add-on makes them, the colour lit through the normal map.
    A full-material model gets a second row: the maps derived from its colour, as a colour-only
    model would get them, so its learned relief can be compared with the estimate."""
    from PIL import Image, ImageDraw

    from blender_ganart.core.derived_maps import derive_maps
    from blender_ganart.core.generation import GenerationRequest, compute
    from blender_ganart.core.map_options import MAP_NAMES, MapOptions
    from blender_ganart.core.model_maps import makes_itself
    from blender_ganart.core.model_reader import read_model
    from blender_ganart.core.synthesis import SynthesisOptions

    model = read_model(model_path)
    request = GenerationRequest(str(model_path), SynthesisOptions(seed, size, size), maps=MapOptions.from_spec(MAP_NAMES))
    texture = compute(request, load_model=lambda _: model).textures[0]
    learned = makes_itself(model.card.maps)
    rows = [(texture.pixels, texture.maps, learned)]
    if learned:
        rows.append((texture.pixels, derive_maps(texture.pixels), ()))
    gap = 4
    width = 6 * (size + gap) - gap
    canvas = Image.new("RGB", (width, LABEL_HEIGHT + len(rows) * (size + LABEL_HEIGHT)), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for row, (color, maps, own) in enumerate(rows):
        def label(name: str, title: str) -> str:
            return f"{title} ({'learned' if name in own else 'derived'})"

        panels = [("colour", color), (label("height", "height"), maps["height"]),
                  (label("normal", "normal, OpenGL"), maps["normal"]), (label("roughness", "roughness"), maps["roughness"]),
                  (label("ao", "AO"), maps["ao"]), ("lit at 20°", lit(color, maps["normal"]))]
        top = LABEL_HEIGHT + row * (size + LABEL_HEIGHT)
        for index, (text, values) in enumerate(panels):
            if values.ndim == 2:
                values = np.repeat(values[..., None], 3, axis=2)
            tile = Image.fromarray((np.clip(values, 0, 1) * 255 + 0.5).astype(np.uint8))
            x = index * (size + gap)
            canvas.paste(tile, (x, top + LABEL_HEIGHT))
            draw.text((x + 2, top + 4), text, fill=(0, 0, 0))
    draw.text((2, 4), f"{model.card.name}, seed {seed}, {size} px at 1:1", fill=(80, 80, 80))
    return canvas


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path, help="model files (default: the bundled ones)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "models")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from blender_ganart.core.model_catalog import BUNDLED_DIR, model_files

    from model_report import SHEET_JPEG  # same folder as this script

    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.models or model_files(BUNDLED_DIR):
        target = args.out / f"{path.name.split('.')[0]}_maps.jpg"
        sheet(path, args.size, args.seed).save(target, **SHEET_JPEG)
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
