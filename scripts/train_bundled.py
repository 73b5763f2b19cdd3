"""Retrains any bundled model from scratch: fetch its data, run the project's trainer, export.

Each bundled model has one recipe here (its data family and trainer options); the exact command
that ran goes into the model card, so the card, this file and the trainer tell the same story.
The CPU recipe is bounded by --max-minutes, so the step count it reaches depends on the machine
(the card records it).

    python scripts/train_bundled.py wood                 # fetch data/wood, train, export
    python scripts/train_bundled.py --list
    python scripts/train_bundled.py all --device cuda
    python scripts/train_bundled.py grass --max-minutes 60              # a longer CPU budget
    python scripts/train_bundled.py grass --resume --max-minutes 90     # continue it to 90 minutes
    python scripts/train_bundled.py rock --from-model runs/gpu/rock.ganart.pt --data-note "..."
        # a model trained elsewhere (a GPU machine whose run folder stayed there) → the bundled file
    python scripts/train_bundled.py grass --continue-from blender_ganart/models/grass.ganart.pt
        # only the recipe's next sitting, from a file its earlier sittings made (its card says how many)
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

from blender_ganart.core.model_file import MODEL_SUFFIX, ModelCard, load_model, save_model  # noqa: E402
from trainer.data import find_image_files  # noqa: E402
from trainer.run_folder import CHECKPOINT_NAME  # noqa: E402

BUNDLED = ROOT / "blender_ganart" / "models"


@dataclass(frozen=True)
class Recipe:
    """How one bundled model is made. Options override the trainer's config (trainer/config.py
    option names); the architecture is the default."""

    family: str  # data/<family>, as listed in scripts/texture_sources.toml
    title: str
    description: str
    options: dict = field(default_factory=dict)
    # Later sittings, each a run that starts from the one before's export (--init-from) with a fresh
    # discriminator: how a model trained over several machines lent for minutes is redone.
    then: tuple[dict, ...] = ()
    # Later sittings start from the run folder before instead (--init-from a run: its generator and
    # the discriminator balanced against it, trainer/warm_start.py), for sittings that must keep
    # that D: a two-scale sitting makes it both its branches.
    then_from_run: bool = False
    # A recipe whose run starts from another recipe's run folder, runs/bundled-<name> (its first
    # sitting's, runs/bundled-<name>-1, where that recipe has several).
    start_from_run: str = ""

    @property
    def sitting_join(self) -> str:
        """What the card puts between one sitting's command and the next's."""
        return RUN_SITTING_JOIN if self.then_from_run else SITTING_JOIN

    def sittings_after(self, model_file: Path) -> tuple[dict, ...]:
        """The sittings still to run after a file these sittings made: its card chains one command
        per sitting that ran."""
        if self.then_from_run:
            raise SystemExit("error: --continue-from: this recipe's sittings start from the run folder before, "
                             "not a file: use --resume, or run the recipe from the start")
        ran = load_model(model_file).card.training_command.count(SITTING_JOIN) + 1
        if ran > len(self.then):
            raise SystemExit(f"error: --continue-from: {model_file} ran all {ran} sittings of its recipe already")
        return self.then[ran - 1:]


SITTING_JOIN = "; then from its export: "
RUN_SITTING_JOIN = "; then from its run folder: "


# The data at its own resolution (the trainer's default: no --max-side), 64 px crops: the model
# learns the source's texel density, which its card records. Time-bound on the CPU; the steps each
# run reached are on its card. On a GPU give a step count instead:
# `--device cuda --batch 32 --steps N --max-minutes 0` (a batch of 32 costs a GPU what 16 does).
CPU = {"crop_size": 64, "batch": 16, "steps": 100000, "max_minutes": 35,
       "seed": 0, "sample_every": 200, "metrics_every": 0, "checkpoint_every": 100}


# On a GPU: 256 px crops judged by the two-scale discriminator (trainer/two_scale.py), so the
# generator must draw a brick course, a plank or a boulder whole while a second D judges 64 px
# windows at full density. R1 with StyleGAN2's γ = 0.0002·side²/batch (0.8 for 256 px at 16)
# holds D back: it won early in every CPU run. But γ = 0.8 held it too far, at chance (logged loss
# near 2·ln 2) in four of the six runs, while γ = 0.1 left it learning (around 0.7; bricks, wood).
# Time-bound: each sitting shared one H200 with seven other runs for 7 or 7.5 minutes (~1900 and
# ~2200 steps); the steps reached are on each card.
GPU = {"crop_size": 256, "d_context_scale": 4, "batch": 16, "r1_gamma": 0.8, "steps": 100000, "max_minutes": 7,
       "seed": 0, "sample_every": 500, "metrics_every": 0, "checkpoint_every": 500}


def directional(options: dict) -> dict:
    """Grain and brick courses run one way: 90° rotations of the real crops taught the generator
    both directions at once, and it drew them crossed (plaid) in one texture. Flips keep it."""
    return dict(options, rot90=False)


# A second GPU sitting for a model the first one (or the CPU) made: the same two-scale recipe with
# γ = 0.2, between the 0.8 that held D at chance and the 0.1 that let bricks draw a lattice from
# scratch; a fresh D learns the current generator's faults first. On one H200 shared by eight runs
# (7.5 minutes, ~2200 steps each) it took grass from 2.54 / 3.68 to 1.42 / 2.51 × floor and
# ground from 1.76 / 1.90 to 1.44 / 1.53 (model_report); bricks collapsed to grey (4.55 / 5.49),
# so bricks keeps its one sitting. The full-material models of four families took it too. A later
# H200 shared by six runs (6.5 minutes, ~2400 steps) took rock from 2.99 / 2.61 to 1.85 / 2.60;
# there a third sitting for grass (to 2.12 / 3.11) and wood (2.46 / 2.00), and a second for metal
# from its CPU model (2.40 / 3.97 against 2.58 / 3.66), ended worse than they began, so those files
# were not shipped: run the next sittings with `keep_best=True, metrics_every=250` (trainer/best.py).
GPU_AGAIN = dict(GPU, r1_gamma=0.2, max_minutes=7.5)

# The same for 7 minutes, keeping the EMA generator that measured best every 250 steps
# (trainer/best.py; these runs ranked by the plain in-run SWD, before keep-best took the report's
# ratios). On one H100 shared by five runs (~2450 steps each) it made 0.6 grass's third sitting and,
# resumed there to 10 minutes, wood's third sitting, metal's GPU sitting (from its CPU model) and
# the metal-maps model (from that CPU model). A third sitting for rock did not ship: by
# model_report.py it was closer than its start on one draw of seeds and farther on the other
# (docs/model_history.md).
GPU_KEEP = dict(GPU_AGAIN, keep_best=True, metrics_every=250, max_minutes=7)
GPU_KEEP_10 = dict(GPU_KEEP, max_minutes=10)  # the runs that were resumed there to 10 minutes

# Bricks at one scale (0.8): data/bricks is the 27 walls whose courses are 10-26 px tall
# (texture_sources.toml, picked by scripts/course_heights.py). From scratch on the CPU with the
# trainer's defaults (64 px crops, batch 16, seed 0) but R1 at γ 0.1 (without it D won at once,
# loss 0.008) and no 90° rotations: 40 minutes on two threads (3821 steps), then resumed to 90
# with keep-best. The first Bricks that draws courses with mortar and head joints not locked to
# the latent cell. (Before: every bricks recipe, the two-scale GPU one and a CPU sitting with
# plane waves on top, trained on the 62 walls of 6-256 px courses and drew speckle and blotches.)
BRICKS_CPU = {"r1_gamma": 0.1, "steps": 100000, "max_minutes": 90}

# Bricks with level courses (1.0): the 0.8 run (BRICKS_CPU) went on from its run folder at 128 px
# crops judged at two scales (trainer/two_scale.py: its D as both branches, so the detail judge is
# the one G was balanced against and the context one sees whole 128 px of courses at 2× downscale),
# with four plane waves held level (trainer/level_waves.py), batch 8: 45 minutes on two threads,
# 1798 steps, the last exported. model_report 1.12 / 1.64 × floor against the 0.8's 1.44 / 2.62;
# the courses run level in most seeds. (256 px crops at 4× with a fresh context branch lost the
# texture's colours within 500 steps.)
BRICKS_LEVEL = {"crop_size": 128, "d_context_scale": 2, "batch": 8, "periodic_dim": 4, "periodic_axis": "rows",
                "r1_gamma": 0.1, "steps": 100000, "max_minutes": 45}

# Wood the bricks way (1.3), on data whose grain runs both ways in the files as stored (33 of 71
# upright): `--orient rows` turns those images 90° at load (trainer/line_direction.py), so every line
# runs level. From scratch on the CPU, 35 minutes, 64 px (level grain flecks, no boards), then from
# that run folder at 128 px, two-scale D, batch 8, 45 minutes: level grain, boards and knots in some
# seeds, the last generator exported. Without the plane waves of BRICKS_LEVEL: with them (learned
# 0.5-1.2 cycles per 32 px cell) the lattice check read 18.6, a grid; without, 2.3. Still, in 7 of
# 64 seeds its fine grain falls every 16 px on the cell's rows (scripts/cell_locked_lines.py;
# docs/model_history.md).
WOOD_CPU = dict(BRICKS_CPU, max_minutes=35, orient="rows")
WOOD_BOARDS = dict({k: v for k, v in BRICKS_LEVEL.items() if not k.startswith("periodic")},
                   orient="rows", sample_every=250)

# Rock (1.1) and grass (1.2): the bricks way from scratch on the CPU (R1 γ 0.1, 64 px crops, the images
# at their own resolution), 85 minutes on two threads, the generator keep-best measured best
# exported. Rock: 7000 steps, step 5750 kept; model_report 0.96 / 1.57 and 0.92 / 1.56 × floor on
# two draws, against the two-scale GPU model's 1.68 / 2.26 and 1.51 / 1.84: granular stone, no
# longer blobs with rims; the run's last step measured 2.09 / 2.81, so keep-best chose. Grass:
# 8332 steps, the last kept; 1.10 / 1.81 and 1.13 / 1.76 against three GPU sittings' 1.49 / 2.52
# and 1.35 / 2.34, colour 16.2 / 18.0 against their 12.7 (docs/model_history.md).
NATURE_CPU = dict(BRICKS_CPU, max_minutes=85, keep_best=True, metrics_every=250, sample_every=250)

# Each recipe is what made the shipped file, all at full resolution for the generator with bilinear
# upsampling and pixel noise: `then` holds the later sittings, each started from the export before it
# (or from the run folder before it, for a recipe with then_from_run).
RECIPES = {
    "bricks": Recipe("bricks", "Bricks", "Brick walls with mortar joints, 10-26 px courses.", directional(BRICKS_CPU),
                     then=(directional(BRICKS_LEVEL),), then_from_run=True),
    "ground": Recipe("ground", "Ground", "Bare ground: soil, cracked mud, sand, gravelly dirt.", CPU, then=(GPU_AGAIN,)),
    "wood": Recipe("wood", "Wood", "Wood grain and planks.", directional(WOOD_CPU),
                   then=(directional(WOOD_BOARDS),), then_from_run=True),
    "rock": Recipe("rock", "Rock", "Natural rock faces and stone surfaces.", NATURE_CPU),
    "metal": Recipe("metal", "Metal", "Metal plates: brushed, painted, worn and rusted.", CPU,
                    then=(GPU_KEEP_10,)),
    "grass": Recipe("grass", "Grass", "Lawn and meadow grass from above, green to dry.", NATURE_CPU),
}


def full_material(colour_model: str, options: dict) -> dict:
    """Colour, OpenGL normal and height learned together from ufoai's map sets (`<family>-maps`:
    a colour map, its `_nm` normal map, height in that map's alpha). The map sets are few (5-17
    per family), so the run starts from the bundled colour model: its colour output conv gives
    the colour channels, the relief channels start fresh, and every layer learns. (Training only
    the relief's output rows on the frozen colour model kept the colour exactly but drew noise
    for rock's normals in a 28-minute trial: the last 12-channel features carry no relief.)"""
    return dict(options, maps="colour,normal,height", init_from=f"blender_ganart/models/{colour_model}{MODEL_SUFFIX}")


# Full-material models, trained where a family's ufoai sets carry normal maps with height in
# alpha (all six have some: `<family>-maps` in texture_sources.toml). Metal on a GPU with keep-best
# (earlier metal runs without it drew normals facing sideways on up to 28 % of the pixels, its data
# 7 %). Grass and wood (1.5) and ground (1.6): the way the grass
# and wood colour models were trained (R1 γ 0.1, keep-best every 250 steps; wood's sets turned so
# their grain runs level, as 1.3's Wood draws it), 35 minutes alone on the 2-core CPU from today's
# colour model: grass 1.68 / 2.14 × floor where the two-scale GPU sitting it replaced had 4.15 /
# 4.14; wood (1.6, on its sets without the green-painted one) 2.63 / 3.31 where 1.5, the same recipe
# with it, had 3.20 / 5.14 on those sets; ground (1.6) 1.99 / 2.03 where 1.4, without R1 and
# keep-best, had 3.19 / 2.44 (docs/model_history.md). Bricks (material): below.
MATERIAL_CPU = dict(NATURE_CPU, max_minutes=35)
# Rock (1.7): the same from 1.1's Rock, 35 minutes, then resumed to 65 asking every one of the
# first 32 seed textures to face out on more than 0.95 of its pixels (--facing-at-least, what the
# bundled test asks of seeds 0-3; 4 of rock's 19 sets are below it, the lowest 0.896): the 35-minute run's
# closest step (1.55 / 2.00 × floor) had seed 3 at 0.946. Step 7250 of 7348 kept: 2.05 / 2.22
# where the file it replaced (110 minutes from 0.2's CPU Rock) had 2.43 / 2.80 (docs/model_history.md).
ROCK_MATERIAL = dict(MATERIAL_CPU, max_minutes=65, facing_at_least=0.95)
# Ground (1.8): the same with the full-resolution level's pixel noise held at zero
# (--g-quiet-levels 5, trainer/quiet_noise.py): that one noise map speckled 1.6's normal maps.
# 35 minutes, step 4000 of 4000 kept: 1.99 / 2.03 -> 2.03 / 1.56 x floor, colour 10.7 -> 9.3 (second
# draw of seeds 2.35 / 2.24 -> 2.41 / 1.61), normal-map SWD 66.3 -> 62.9. Ground (1.9): that run
# resumed to 65 minutes (its last step had been the best), step 6000 of 7445 kept: 2.03 / 1.56 ->
# 1.67 / 1.76 (second draw 2.41 / 1.61 -> 1.64 / 1.79), within 2x at both scales on both draws;
# colour distance 9.3 -> 16.2 and normal-map SWD 62.9 -> 72.0 farther (docs/model_history.md).
QUIET_MATERIAL = dict(MATERIAL_CPU, g_quiet_levels=(5,), max_minutes=65)
# Grass (2.0): the same as Ground's, from the colour model, 35 minutes then resumed to 65; step 7250
# of 7653 kept: 1.68 / 2.14 -> 1.38 / 1.62 x floor (second draw 1.73 / 2.12 -> 1.54 / 1.62), colour
# distance 13.2 -> 8.1; normal-map SWD 76.4 -> 74.5 over four draws of 32 textures (one draw read
# 47.9 -> 134.0), the normals far nearer one surface's slopes (residual 0.169 -> 0.032).
MATERIAL_BASE = {"ground": QUIET_MATERIAL, "rock": ROCK_MATERIAL, "grass": QUIET_MATERIAL,
                 "wood": dict(MATERIAL_CPU, orient="rows"), "metal": GPU_KEEP_10}
RECIPES.update({
    f"{name}-maps": Recipe(f"{name}-maps", f"{recipe.title} (material)",
                           f"{recipe.description} Colour, normal and height maps learned together.",
                           full_material(name, directional(base) if recipe.options.get("rot90") is False else base))
    for name, base in MATERIAL_BASE.items() for recipe in [RECIPES[name]]
})
# Bricks (material) on the 7 map sets of the 27 walls, from the colour run itself (--init-from its
# run folder): its generator and the discriminator balanced against it, whose weights on the relief
# channels start at zero (trainer/warm_start.py). BRICKS_CPU otherwise: 40 minutes on two threads,
# resumed to 70, the last generator exported (the run kept its step 2000 too, closer at 4x but read
# as a faint grid by the lattice check; docs/model_history.md). Earlier starts lost the bricks:
# from the 0.8 Bricks' model file (fresh batch norms, a fresh D) they were gone by step 500; from
# scratch it drew courses without head joints at step 2000; on the 12 sets of the 62 walls bricks
# had until 0.8 it drew courses locked to the 32 px cell or fabric.
RECIPES["bricks-maps"] = Recipe(
    "bricks-maps", "Bricks (material)", f"{RECIPES['bricks'].description} Colour, normal and height maps learned together.",
    directional(dict(BRICKS_CPU, maps="colour,normal,height", max_minutes=70, metrics_every=500, sample_every=250)),
    start_from_run="bricks")


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
    parser.add_argument("--from-model", type=Path, metavar="FILE",
                        help="no training: give this model file (the recipe's, trained on another machine) the "
                             "bundled card and write it to --out")
    parser.add_argument("--data-note", default="",
                        help="with --from-model: how the data it trained on differed from data/<family>, for the card")
    parser.add_argument("--continue-from", type=Path, metavar="FILE",
                        help="a recipe of several sittings: run only the sittings FILE's card has not run yet "
                             "(FILE: an export of the earlier ones, e.g. the bundled file), starting from it; the "
                             "card tells them all. With --from-model: the file that model's run started from")
    parser.add_argument("--resume", action="store_true",
                        help="continue runs/bundled-<name> (e.g. with a larger --max-minutes: CPU training spread "
                             "over sessions), then export")
    args = parser.parse_args(argv)
    if args.list or not args.model:
        for name, recipe in RECIPES.items():
            print(f"{name:12s} data/{recipe.family:12s} {recipe.description}")
        return 0
    names = list(RECIPES) if args.model == "all" else [args.model]
    for name in names:
        if name not in RECIPES:
            print(f"error: no bundled model '{name}'; choose from {', '.join(RECIPES)} or 'all'", file=sys.stderr)
            return 1
    if args.from_model:
        if len(names) != 1:
            print("error: --from-model takes one recipe name, not 'all'", file=sys.stderr)
            return 1
        print(adopt(names[0], args.from_model, args.data / RECIPES[names[0]].family, args.out, args.data_note,
                    before=args.continue_from))
        return 0
    for name in names:
        train_one(name, args)
    return 0


def train_one(name: str, args: argparse.Namespace) -> Path:
    recipe = RECIPES[name]
    data = args.data / recipe.family
    if not find_image_files(data):
        from fetch_textures import fetch  # same folder as this script

        fetch(Path(__file__).with_name("texture_sources.toml"), args.data, [recipe.family])
    if args.continue_from and not recipe.then:
        raise SystemExit(f"error: --continue-from: the recipe '{name}' is one run; it has no later sitting to continue with")
    run = args.runs / f"bundled-{name}"
    if not recipe.then:
        trained = run_trainer(first_sitting_options(name, args), data, run, args, resume=args.resume)
        return export(name, trained, data, args.out)
    if args.continue_from:
        before, sittings = args.continue_from, recipe.sittings_after(args.continue_from)
    elif args.resume:  # the last sitting's run, from the file the sitting before it exported
        before, sittings = args.runs / f"bundled-{name}-{len(recipe.then)}{MODEL_SUFFIX}", recipe.then[-1:]
    else:
        first_run = args.runs / f"bundled-{name}-1"
        before = export(name, run_trainer(first_sitting_options(name, args), data, first_run, args), data, args.runs,
                        first_run.name + MODEL_SUFFIX)
        sittings = recipe.then
    # Each sitting starts from the export before it (then_from_run: from its run folder). All but the
    # last export beside their run folders (runs/bundled-<name>-<number>); the last one's run and file
    # are the recipe's own.
    total = len(recipe.then) + 1
    for number, options in enumerate(sittings, start=total - len(sittings) + 1):
        last = number == total
        sitting_run = run if last else args.runs / f"bundled-{name}-{number}"
        start = args.runs / f"bundled-{name}-{number - 1}" if recipe.then_from_run else before
        trained = run_trainer(dict(options, init_from=str(start)), data, sitting_run, args, resume=args.resume and last)
        before = export(name, trained, data, args.out if last else args.runs,
                        "" if last else sitting_run.name + MODEL_SUFFIX, before=before)
    return before


def first_sitting_options(name: str, args: argparse.Namespace) -> dict:
    """The recipe's first run; one that starts from another recipe's run folder names it here."""
    recipe = RECIPES[name]
    if not recipe.start_from_run:
        return recipe.options
    several = RECIPES[recipe.start_from_run].then  # its first sitting: the one-D run at 64 px
    start = args.runs / f"bundled-{recipe.start_from_run}{'-1' if several else ''}"
    if not (start / CHECKPOINT_NAME).is_file() and not args.resume:
        raise SystemExit(f"error: '{name}' starts from the run of '{recipe.start_from_run}', which {start} "
                         f"does not hold: run `python scripts/train_bundled.py {recipe.start_from_run}` first")
    return dict(recipe.options, init_from=str(start))


def run_trainer(recipe_options: dict, data: Path, run: Path, args: argparse.Namespace, resume: bool = False) -> Path:
    """One `python -m trainer train` with the recipe's options and the command line's overrides."""
    from trainer.flags import as_flags

    options = dict(recipe_options, device=args.device, threads=args.threads)
    for option in ("steps", "max_minutes", "batch", "seed"):  # the overrides given on the command line
        if getattr(args, option) is not None:
            options[option] = getattr(args, option)
    if resume:  # only what may change on resume: the schedule, device and threads
        from trainer.config import resumable_options

        options = {k: v for k, v in options.items() if k in resumable_options()}
        start = ["--resume", str(run)]
    else:
        start = ["--data", str(data), "--out", str(run)]
    # Run as a command, so that the run (and the model card) records what a user would retype.
    command = [sys.executable, "-m", "trainer", "train", *start, *as_flags(options)]
    subprocess.run(command, cwd=ROOT, check=True)
    return run


def export(name: str, run: Path, data: Path, out: Path, file_name: str = "", before: Path | None = None) -> Path:
    """The trainer's export, with the bundled card: data source, licenses, the recipe's command."""
    from trainer.export import export_run

    out.mkdir(parents=True, exist_ok=True)
    target, _ = export_run(run, out / (file_name or f"{name}{MODEL_SUFFIX}"))
    return adopt(name, target, data, out, before=before, file_name=file_name)  # the same file, now with the bundled card


def adopt(name: str, model_file: Path, data: Path, out: Path, data_note: str = "", before: Path | None = None,
          file_name: str = "") -> Path:
    """A model the recipe trained on another machine, written with the bundled card. The weights,
    steps, texel density and the command that ran stay as that machine's export wrote them.
    `before`: the file its run started from (a two-run recipe's first run), whose commands and
    steps the card tells first."""
    model = load_model(model_file)
    card = bundled_card(name, model.card, data)
    if before is not None:
        first = bundled_card(name, load_model(before).card, data)
        card.training_command = (f"{first.training_command}{RECIPES[name].sitting_join}"
                                  f"{card.training_command.split('# ran:', 1)[1].strip()}")
        card.training_steps += first.training_steps
    if data_note:
        card.training_data += f"; {data_note}"
    out.mkdir(parents=True, exist_ok=True)
    target = out / (file_name or f"{name}{MODEL_SUFFIX}")
    save_model(target, model.generator, card, half=True)
    return target


def bundled_card(name: str, card: ModelCard, data: Path) -> ModelCard:
    """The bundled card: the recipe's title and description, the data's packages and licenses
    (data/manifest.json), and the command that redoes it from nothing before the one that ran."""
    recipe = RECIPES[name]
    manifest = [r for r in json.loads((data.parent / "manifest.json").read_text()) if r["family"] == recipe.family]
    packages = sorted({f"{r['package']} {r['package_version']}" for r in manifest})
    licenses = sorted({r["license"] for r in manifest})
    card.name, card.description = recipe.title, recipe.description
    card.data_license = f"{', '.join(licenses)} (per image in data/manifest.json, from each package's debian/copyright)"
    card.training_data = (
        f"{len(manifest)} texture images (family '{recipe.family}' of scripts/texture_sources.toml) from "
        f"the Debian packages {', '.join(packages)}; fetched by scripts/fetch_textures.py"
    )
    # The card's command says how to redo it from nothing, then what the trainer actually ran.
    ran = card.training_command.replace(f"{ROOT}/", "")  # paths relative to the checkout
    ran = ran.split("# ran:", 1)[-1].strip()  # a file that has the bundled card already keeps what ran
    card.training_command = f"python scripts/train_bundled.py {name}  # ran: {ran}"
    return card


if __name__ == "__main__":
    sys.exit(main())
