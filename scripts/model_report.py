"""Shows a model's quality instead of claiming it: the quality report and a contact sheet at 1:1.

Per model file this prints trainer/quality.py's report against the model's training images at
their own resolution (SWD at full texel density and at 4× downscale, each over its real-vs-real
floor; colour distance; lattice score beside the data's own; wrap-seam ratio) and writes
docs/models/<name>.jpg: real 256 px crops and generated 256 px textures side by side at the same
texel density (1 screen pixel = 1 texture pixel), one tileable texture tiled 2×2 (a seam would
show as a cross), and a 1024 px texture at half scale for its larger structure.

    python scripts/model_report.py                         # every bundled model
    python scripts/model_report.py my.ganart.pt --data data/wood --crops 256
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere in the checkout

from blender_ganart.core.model_file import MODEL_SUFFIX, load_model  # noqa: E402
from blender_ganart.core.synthesis import SynthesisOptions, synthesize  # noqa: E402
from trainer.data import CropSampler, ImageSet  # noqa: E402
from trainer.map_sets import load_training_images  # noqa: E402
from trainer.quality import texture_quality  # noqa: E402
from trainer.runs import card_data_options  # noqa: E402

BUNDLED = ROOT / "blender_ganart" / "models"
SHEET_DIR = ROOT / "docs" / "models"
TILE = 256  # contact-sheet cell: real crops and generated textures at 1:1
LABEL = 18
# Sheets are JPEG at quality 95 with full-resolution colour (4:4:4), about half the bytes of PNG,
# because the repository, docs included, must stay under the 64 MiB that travels to a GPU
# machine for training.
SHEET_JPEG = dict(quality=95, subsampling=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", type=Path, help=f"model files (default: {BUNDLED}/*{MODEL_SUFFIX})")
    parser.add_argument("--data", type=Path, help="training images (default: from the bundled-model recipe)")
    parser.add_argument("--crops", type=int, default=256, help="crops per set and scale for SWD")
    parser.add_argument("--crop", type=int, default=64, help="SWD crop at full texel density (4× that, downscaled, "
                                                             "for the structure scale)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="the textures judged are of seeds FIRST_SEED to FIRST_SEED + CROPS - 1 "
                             "(another draw of the model)")
    parser.add_argument("--out", type=Path, default=SHEET_DIR, help="folder for the contact sheets")
    parser.add_argument("--no-sheets", action="store_true", help="only the numbers")
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    models = args.models or sorted(BUNDLED.glob(f"*{MODEL_SUFFIX}"))
    if not models:
        print("error: no model files given and none bundled", file=sys.stderr)
        return 1
    torch.set_grad_enabled(False)
    rows = {}
    # Models compared on one --data folder are judged on the same images: a colour model beside a
    # full-material one is judged on the colour of the complete map sets too (a map-set folder
    # read as plain images would count its normal maps as colour textures).
    loaded = {path: load_model(path) for path in models}
    set_maps = max((model.card.maps for model in loaded.values()), key=len) if args.data else None
    stems = [path.name for path in loaded]
    for path, model in loaded.items():
        # Files of one name from several folders are told apart by their paths.
        name = path.name.removesuffix(MODEL_SUFFIX) if stems.count(path.name) == 1 else str(path)
        data = args.data or data_folder_for(path)
        # The data at its own resolution; a full-material model's colour against its sets' colour,
        # its normals' facing against their normal maps.
        seen_as = card_data_options(model.card.training_command)
        sets = load_training_images(data, set_maps or model.card.maps, args.crop, orient=seen_as["orient"])
        images = sets.colour_only()

        def make_texture(seed: int, size: int, tileable: bool):
            return synthesize(model, SynthesisOptions(seed, size, size, tileable=tileable))

        report = texture_quality(sets, make_texture, crop=args.crop, count=args.crops, first_seed=args.first_seed,
                                 cell=model.config.upsampling, rot90=seen_as["rot90"], maps=model.card.maps)
        rows[name] = report
        print(f"== {name} ({model.card.name}, data {data})\n{report.table()}\n", flush=True)
        if not args.no_sheets:
            args.out.mkdir(parents=True, exist_ok=True)
            contact_sheet(model, images).save(args.out / f"{path.name.removesuffix(MODEL_SUFFIX)}.jpg", **SHEET_JPEG)
    print(f"{'model':10s} {'full':>6s} {'4x down':>8s} {'colour':>7s} {'lattice':>8s} {'(data)':>7s} {'seam':>5s}")
    for name, r in rows.items():
        coarse = "n/a" if r.coarse_ratio is None else f"{r.coarse_ratio:.2f}"
        print(f"{name:10s} {r.full_ratio:6.2f} {coarse:>8s} {r.colour:7.1f} {r.lattice or 0:8.2f} "
              f"{r.lattice_real or 0:7.2f} {r.seam:5.2f}")
    if args.json:
        args.json.write_text(json.dumps({name: r.as_dict() for name, r in rows.items()}, indent=1))
    return 0


def data_folder_for(path: Path) -> Path:
    """The data/<family> folder a bundled model was trained on (its recipe in train_bundled.py)."""
    from train_bundled import RECIPES  # same folder as this script

    name = path.name.removesuffix(MODEL_SUFFIX)
    if name not in RECIPES:
        raise SystemExit(f"error: {path.name} is not a bundled model; pass --data <its training images>")
    return ROOT / "data" / RECIPES[name].family


def contact_sheet(model, images) -> Image.Image:
    """Row 1: real crops; row 2: seeds 0–3; row 3: seed 1 tiled 2×2, and seed 2 at 1024 px, 1:2."""
    width, height = 4 * TILE, 3 * LABEL + 2 * TILE + 2 * TILE
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    large = ImageSet([im for im in images.images if min(im.shape[:2]) >= TILE], [])
    real = CropSampler(large if len(large) else images, TILE, seed=3, flips=False, rot90=False).sample(4)
    draw.text((4, 3), f"training data, {TILE} px crops at 1:1", fill="black")
    for i, crop in enumerate(real):
        sheet.paste(to_image((crop.permute(1, 2, 0).numpy() + 1) / 2), (i * TILE, LABEL))
    top = LABEL + TILE
    draw.text((4, top + 3), f"{model.card.name}: seeds 0-3, {TILE} px at 1:1", fill="black")
    for seed in range(4):
        texture = synthesize(model, SynthesisOptions(seed, TILE, TILE, tileable=False))
        sheet.paste(to_image(texture), (seed * TILE, top + LABEL))
    top += LABEL + TILE
    draw.text((4, top + 3), "seed 1 tileable, tiled 2x2 (1:1)", fill="black")
    draw.text((2 * TILE + 4, top + 3), "seed 2 at 1024 px, shown at 1:2", fill="black")
    tiled = np.tile(synthesize(model, SynthesisOptions(1, TILE, TILE, tileable=True)), (2, 2, 1))
    sheet.paste(to_image(tiled), (0, top + LABEL))
    large = to_image(synthesize(model, SynthesisOptions(2, 4 * TILE, 4 * TILE, tileable=False))).reduce(2)
    sheet.paste(large, (2 * TILE, top + LABEL))
    return sheet


def to_image(texture: np.ndarray) -> Image.Image:
    return Image.fromarray((texture[..., :3] * 255 + 0.5).clip(0, 255).astype(np.uint8))


if __name__ == "__main__":
    sys.exit(main())
