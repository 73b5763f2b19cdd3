"""Retrains any bundled model from scratch: fetch its data, run the project's trainer, export.

Each bundled model has one recipe here (its data family and trainer options); the exact command
that ran goes into the model card, so the card, this file and the trainer tell the same story.
Five shipped models were trained on a GPU for a fixed step count (129k–230k images: 40–70
minutes each at the 2-core build machine's 56 img/s); metal with the CPU recipe, bounded by --max-minutes, so the step
count it reaches depends on the machine (the card records it).

    python scripts/train_bundled.py wood                 # fetch data/wood, train, export
    python scripts/train_bundled.py --list
    python scripts/train_bundled.py all --device cuda
    python scripts/train_bundled.py grass --max-minutes 20 --batch 16   # the CPU recipe
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from blender_ganart.model_file import MODEL_SUFFIX, load_model, save_model  # noqa: E402

BUNDLED = ROOT / "blender_ganart" / "models"


@dataclass(frozen=True)
class Recipe:
    """How one bundled model is made. Options are trainer flags; the architecture is the default."""

    family: str  # data/<family>, as listed in scripts/texture_sources.toml
    title: str
    description: str
    options: dict = field(default_factory=dict)


# Crops of 64 px from images downscaled to at most 192 px: a crop covers a third of a source
# texture, so the model sees whole bricks and planks, not only their grain.
CPU = {"crop-size": 64, "max-side": 192, "batch": 16, "steps": 4000, "max-minutes": 20,
       "seed": 0, "sample-every": 500, "metrics-every": 0, "checkpoint-every": 200}

def gpu(steps: int, seed: int = 0) -> dict:
    """The GPU recipe. A batch of 32 costs a GPU what 16 does (the small network is launch-bound),
    and a step count replaces the time bound: the shipped GPU models ran under a time bound on a
    shared H100 (six runs side by side, ~510 img/s each), and the steps each reached are written
    into its recipe, so a rerun stops where it did. On the 2-core CPU (56 img/s) such a recipe
    takes 40–70 minutes per model; `--max-minutes 20 --batch 16` gives the CPU recipe."""
    return dict(CPU, batch=32, steps=steps, **{"max-minutes": 0}, seed=seed)


def directional(options: dict) -> dict:
    """Grain and brick courses run one way: 90° rotations of the real crops taught the generator
    both directions at once, and it drew them crossed (plaid) in one texture. Flips keep it."""
    return dict(options, rot90=False)


# Each recipe is what made the shipped file. Grass and ground were chosen among seeds 0–2 and
# metal between its CPU model and three GPU seeds, by scripts/model_report.py's SWD and a look at
# the contact sheets (see blender_ganart/models/README.md for the figures of every candidate).
RECIPES = {
    "bricks": Recipe("bricks", "Bricks", "Brick and block walls with mortar joints.", directional(gpu(6922))),
    "ground": Recipe("ground", "Ground", "Bare ground: soil, cracked mud, sand, gravelly dirt.", gpu(4185, seed=2)),
    "wood": Recipe("wood", "Wood", "Wood grain and planks.", directional(gpu(7188))),
    "rock": Recipe("rock", "Rock", "Natural rock faces and stone surfaces.", gpu(6908)),
    "metal": Recipe("metal", "Metal", "Metal plates: brushed, painted, worn and rusted.", CPU),
    "grass": Recipe("grass", "Grass", "Lawn and meadow grass from above, green to dry.", gpu(4045, seed=1)),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", help="a recipe name, or 'all'")
    parser.add_argument("--list", action="store_true", help="list the recipes and exit")
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs")
    parser.add_argument("--out", type=Path, default=BUNDLED, help="where the model file goes")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, help="override the recipe's step count")
    parser.add_argument("--max-minutes", type=float, help="override the recipe's time bound (0 = none)")
    parser.add_argument("--seed", type=int, help="override the recipe's seed")
    parser.add_argument("--batch", type=int, help="override the recipe's batch (a GPU takes 32 at the cost of 16)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = its default)")
    args = parser.parse_args(argv)
    if args.list or not args.model:
        for name, recipe in RECIPES.items():
            print(f"{name:8s} data/{recipe.family:8s} {recipe.description}")
        return 0
    names = list(RECIPES) if args.model == "all" else [args.model]
    for name in names:
        if name not in RECIPES:
            print(f"error: no bundled model '{name}'; choose from {', '.join(RECIPES)} or 'all'", file=sys.stderr)
            return 1
    for name in names:
        train_one(name, args)
    return 0


def train_one(name: str, args: argparse.Namespace) -> Path:
    recipe = RECIPES[name]
    data = args.data / recipe.family
    if not any(data.glob("*.png")):
        from fetch_textures import fetch  # same folder as this script

        fetch(Path(__file__).with_name("texture_sources.toml"), args.data, [recipe.family])
    options = dict(recipe.options, device=args.device, threads=args.threads)
    for flag in ("steps", "max-minutes", "batch", "seed"):  # the overrides given on the command line
        value = getattr(args, flag.replace("-", "_"))
        if value is not None:
            options[flag] = value
    run = args.runs / f"bundled-{name}"
    command = [sys.executable, "-m", "trainer", "train", "--data", str(data), "--out", str(run)]
    for flag, value in options.items():
        if isinstance(value, bool):  # the trainer's --flag / --no-flag switches
            command.append(f"--{flag}" if value else f"--no-{flag}")
        else:
            command += [f"--{flag}", str(value)]
    subprocess.run(command, cwd=ROOT, check=True)
    return export(name, run, data, args.out)


def export(name: str, run: Path, data: Path, out: Path) -> Path:
    """The trainer's export, with the bundled card: data source, licenses, the recipe's command."""
    from trainer.export import export_run

    recipe = RECIPES[name]
    out.mkdir(parents=True, exist_ok=True)
    manifest = [r for r in json.loads((data.parent / "manifest.json").read_text()) if r["family"] == recipe.family]
    packages = sorted({f"{r['package']} {r['package_version']}" for r in manifest})
    licenses = sorted({r["license"] for r in manifest})
    target, card = export_run(
        run, out / f"{name}{MODEL_SUFFIX}", name=recipe.title, description=recipe.description,
        data_license=f"{', '.join(licenses)} (per image in data/manifest.json, from each package's debian/copyright)",
        training_data=(
            f"{len(manifest)} texture images (family '{recipe.family}' of scripts/texture_sources.toml) from "
            f"the Debian packages {', '.join(packages)}; fetched by scripts/fetch_textures.py"
        ),
    )
    # The card's command says how to redo it from nothing, then what the trainer actually ran.
    ran = card.training_command.replace(f"{ROOT}/", "")  # paths relative to the checkout
    card.training_command = f"python scripts/train_bundled.py {name}  # ran: {ran}"
    save_model(target, load_model(target).generator, card, half=True)
    return target


if __name__ == "__main__":
    sys.exit(main())
