"""Contact sheets of the derived maps: for each bundled model, one seed's colour texture beside
its height, normal, roughness and AO maps and the colour lit by a grazing light through the normal
map, in one PNG per model (docs/models/<model file stem>_maps.png).

    .venv/bin/python scripts/maps_sheet.py [--size 256] [--seed 1] [--out docs/models]

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
    from PIL import Image, ImageDraw

    from blender_ganart.core.derived_maps import derive_maps
    from blender_ganart.core.model_file import load_model
    from blender_ganart.core.synthesis import SynthesisOptions, synthesize

    model = load_model(model_path)
    color = synthesize(model, SynthesisOptions(seed, size, size))
    maps = derive_maps(color)
    panels = [("colour", color), ("height", maps["height"]), ("normal (OpenGL)", maps["normal"]),
              ("roughness", maps["roughness"]), ("AO", maps["ao"]), ("lit at 20°", lit(color, maps["normal"]))]
    gap = 4
    canvas = Image.new("RGB", (len(panels) * (size + gap) - gap, size + LABEL_HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for index, (label, values) in enumerate(panels):
        if values.ndim == 2:
            values = np.repeat(values[..., None], 3, axis=2)
        tile = Image.fromarray((np.clip(values, 0, 1) * 255 + 0.5).astype(np.uint8))
        x = index * (size + gap)
        canvas.paste(tile, (x, LABEL_HEIGHT))
        draw.text((x + 2, 4), label, fill=(0, 0, 0))
    draw.text((canvas.width - 8 * len(model.card.name) - 40, 4), f"{model.card.name}, seed {seed}", fill=(80, 80, 80))
    return canvas


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "models")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from blender_ganart.core.model_catalog import BUNDLED_DIR, model_files

    args.out.mkdir(parents=True, exist_ok=True)
    for path in model_files(BUNDLED_DIR):
        target = args.out / f"{path.name.split('.')[0]}_maps.png"
        sheet(path, args.size, args.seed).save(target)
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
