"""Shows a model's quality instead of claiming it: a contact sheet and SWD next to its floor.

Per model file this writes docs/models/<name>.png: a row of real training crops (what it should
look like), a grid of seeds (256 px textures, 8 latent cells), and one seed tiled 2×2 (any seam
would show as a cross through the middle). It prints the sliced Wasserstein distance (the
trainer's own SWD, the metric the trainer logs) between generated crops (native size, cut from
256 px textures) and training crops, next
to the real-vs-real floor: SWD between two independent sets of training crops, i.e. the value a
perfect model would reach with this many crops. A model is as good as its ratio to the floor.

    python scripts/model_report.py                         # every bundled model
    python scripts/model_report.py my.ganart.pt --data data/wood --crops 256
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere in the checkout

from blender_ganart.model_file import MODEL_SUFFIX, load_model  # noqa: E402
from blender_ganart.synthesis import synthesize  # noqa: E402
from trainer.data import CropSampler, load_image_folder  # noqa: E402
from trainer.metrics import colour_distance, real_vs_real_floor, swd  # noqa: E402

BUNDLED = ROOT / "blender_ganart" / "models"
SHEET_DIR = ROOT / "docs" / "models"
CELL = 192  # pixels per contact-sheet cell
SEED_COLUMNS, SEED_ROWS = 4, 2
TILED_SEED = 1
FIELD_CELLS = 8  # default --texture-cells: generated crops come from textures this many latent cells wide


@dataclass
class Report:
    model: str
    family_data: str
    crops: int
    crop_size: int
    swd_fake: float
    swd_floor: float
    colour_fake: float  # RGB Fréchet distance in 8-bit levels: SWD is blind to colour shifts
    colour_floor: float
    sheet: str

    @property
    def ratio(self) -> float:
        return self.swd_fake / self.swd_floor if self.swd_floor > 0 else float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", type=Path, help=f"model files (default: {BUNDLED}/*{MODEL_SUFFIX})")
    parser.add_argument("--data", type=Path, help="training images (default: from the bundled-model recipe)")
    parser.add_argument("--crops", type=int, default=256, help="crops per set for SWD")
    parser.add_argument("--out", type=Path, default=SHEET_DIR, help="folder for the contact sheets")
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    parser.add_argument("--texture-cells", type=int, default=FIELD_CELLS,
                        help="width in latent cells of the textures the generated crops are cut from "
                             "(2 = a tileable texture only as wide as a 64 px crop)")
    args = parser.parse_args(argv)
    models = args.models or sorted(BUNDLED.glob(f"*{MODEL_SUFFIX}"))
    if not models:
        print("error: no model files given and none bundled", file=sys.stderr)
        return 1
    torch.set_grad_enabled(False)
    if args.texture_cells < 1:
        parser.error("--texture-cells must be at least 1")
    reports = [report(path, args.data or data_folder_for(path), args.crops, args.out, args.texture_cells)
               for path in models]
    print(f"{'model':10s} {'crops':>5s} {'crop':>4s} {'SWD fake':>9s} {'SWD floor':>9s} {'ratio':>6s}"
          f" {'colour fake':>11s} {'colour floor':>12s}")
    for r in reports:
        print(f"{r.model:10s} {r.crops:5d} {r.crop_size:4d} {r.swd_fake:9.2f} {r.swd_floor:9.2f} {r.ratio:6.2f}"
              f" {r.colour_fake:11.2f} {r.colour_floor:12.2f}")
    if args.json:
        args.json.write_text(json.dumps([dict(vars(r), ratio=r.ratio) for r in reports], indent=1))
    return 0


def data_folder_for(path: Path) -> Path:
    """The data/<family> folder a bundled model was trained on (its recipe in train_bundled.py)."""
    from train_bundled import RECIPES  # same folder as this script

    name = path.name.removesuffix(MODEL_SUFFIX)
    if name not in RECIPES:
        raise SystemExit(f"error: {path.name} is not a bundled model; pass --data <its training images>")
    return ROOT / "data" / RECIPES[name].family


def report(path: Path, data: Path, crops: int, out: Path, cells: int = FIELD_CELLS) -> Report:
    model = load_model(path)
    size = model.card.native_size
    command = model.card.training_command
    images = load_image_folder(data, size, max_side=max_side_of(command))
    rot90 = "--no-rot90" not in command  # real crops as the model saw them in training
    real_a = CropSampler(images, size, seed=1, rot90=rot90).sample(crops)  # (N, 3, S, S) in [-1, 1]
    real_b = CropSampler(images, size, seed=2, rot90=rot90).sample(crops)
    fake = torch.stack([generated_crop(model, seed, size, cells) for seed in range(crops)])
    swd_fake = swd(real_a, fake)
    swd_floor = real_vs_real_floor(torch.cat([real_a, real_b]))  # n vs n, like the line above
    colour_fake = colour_distance(real_a, fake)
    colour_floor = colour_distance(real_a, real_b)
    out.mkdir(parents=True, exist_ok=True)
    sheet = out / (path.name.removesuffix(MODEL_SUFFIX) + ".png")
    contact_sheet(model, real_b[: SEED_COLUMNS + 2], size).save(sheet, optimize=True)
    return Report(path.name.removesuffix(MODEL_SUFFIX), str(data), crops, size, swd_fake, swd_floor,
                  colour_fake, colour_floor,
                  str(sheet.relative_to(ROOT) if sheet.is_relative_to(ROOT) else sheet))


def generated_crop(model, seed: int, size: int, cells: int) -> torch.Tensor:
    """One native-size crop of a texture `cells` latent cells wide, at a per-seed offset.

    Measured this way because artists generate large textures (1024 px is 32 cells): a texture
    only as wide as the crop wraps a 2×2-cell field onto itself, which the generator never saw
    in training (its fields are a cell wider than the crop). `--texture-cells 2` measures that
    case; it scores about twice as far from the data (rock: SWD 156 vs 80 at 8 cells).
    """
    side = max(cells * model.config.upsampling, size)
    texture = synthesize(model, seed=seed, width=side, height=side)  # [0, 1], (side, side, 3)
    y, x = (seed * 37) % (side - size + 1), (seed * 101) % (side - size + 1)
    crop = torch.from_numpy(np.ascontiguousarray(texture[y : y + size, x : x + size])).permute(2, 0, 1)
    return crop * 2 - 1  # SWD compares in the trainer's [-1, 1]


def max_side_of(command: str) -> int:
    """The --max-side the model was trained with, so real crops are cut at the same scale."""
    words = command.split()
    for flag, value in zip(words, words[1:]):
        if flag == "--max-side":
            return int(value)
    return 2048  # the trainer's default


def contact_sheet(model, real: torch.Tensor, native: int) -> Image.Image:
    """Real crops on top; seeds in a grid below; right: one seed tiled 2×2."""
    side = 4 * native  # each seed as a texture 4 crops wide: its larger-scale structure too
    label = 18
    width = SEED_COLUMNS * CELL + 2 * CELL
    height = label + CELL + label + SEED_ROWS * CELL
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 3), f"training crops ({native} px, shown at {CELL} px)", fill="black")
    for i, crop in enumerate(real):
        pixels = ((crop.permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
        sheet.paste(Image.fromarray(pixels).resize((CELL, CELL), Image.NEAREST), (i * CELL, label))
    top = label + CELL
    draw.text((4, top + 3), f"{model.card.name}: seeds 0-{SEED_COLUMNS * SEED_ROWS - 1}, {side} px each", fill="black")
    draw.text((SEED_COLUMNS * CELL + 4, top + 3), f"seed {TILED_SEED} tiled 2x2 ({side} px tile)", fill="black")
    for seed in range(SEED_COLUMNS * SEED_ROWS):
        tile = to_image(synthesize(model, seed=seed, width=side, height=side)).resize((CELL, CELL), Image.LANCZOS)
        sheet.paste(tile, ((seed % SEED_COLUMNS) * CELL, top + label + (seed // SEED_COLUMNS) * CELL))
    # Tile at full resolution, then shrink the whole: shrinking each copy alone would blur the seam.
    tiled = np.tile(synthesize(model, seed=TILED_SEED, width=side, height=side), (2, 2, 1))
    sheet.paste(to_image(tiled).resize((2 * CELL, 2 * CELL), Image.LANCZOS), (SEED_COLUMNS * CELL, top + label))
    return sheet


def to_image(texture: np.ndarray) -> Image.Image:
    return Image.fromarray((texture * 255 + 0.5).clip(0, 255).astype(np.uint8))


if __name__ == "__main__":
    sys.exit(main())
