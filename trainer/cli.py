"""Command line: `train`, `export`, `sample`, `eval` (python -m trainer … / ganart-train …).

Exit status: 0 done, 2 bad input (options, data, run folder), 3 a diverged loss, 130/143 stopped
by Ctrl-C/SIGTERM after writing a checkpoint.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from blender_ganart.core.devices import resolve_device
from blender_ganart.core.errors import GanArtError
from blender_ganart.core.synthesis import SynthesisOptions, synthesize

from .config import TrainConfig, flag, load_config, override, refuse_fixed_options, resolve, resumable_options
from .errors import ConfigError, TrainerError
from .flags import add_train_arguments, given_train_options, int_tuple
from .loop import train
from .map_sets import load_training_images
from .run_folder import CONFIG_NAME, command_line
from .runs import check_resumable, check_run_folder
SIGNAL_STATUS = {"SIGINT": 130, "SIGTERM": 143}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainer",
        description="Train a seamless-texture GAN on your own texture folder and export it for the "
                    "blender_ganart add-on.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a new run, or continue one with --resume",
                       description="Train the texture generator. `train --data DIR --out RUN` alone "
                                   "makes a usable model; `train --resume RUN` continues a stopped run.")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in this folder (only "
                   + ", ".join(flag(n) for n in resumable_options()) + " may change)")
    add_train_arguments(p)

    p = sub.add_parser("export", help="write a run's generator as an add-on model file")
    p.add_argument("run_dir", help="the run folder")
    p.add_argument("--out", required=True, help="model file to write (name it *.ganart.pt)")
    p.add_argument("--name", default="", help="model name shown in the add-on (default: run folder name)")
    p.add_argument("--description", default="", help="one or two sentences about the textures")
    p.add_argument("--license", default="", dest="data_license", help="license of the training images")
    p.add_argument("--training-data", default="", help="where the training images came from "
                   "(default: image count and folder)")
    p.add_argument("--raw", action="store_true", help="export the raw generator instead of its EMA copy")
    p.add_argument("--last", action="store_true", help="export the generator at the last checkpoint even when "
                   "the run kept a better one (train --keep-best)")
    p.add_argument("--float32", action="store_true", help="store float32 weights (default: float16, half the size)")

    p = sub.add_parser("quiet", help="a copy of a model file with chosen levels' pixel noise at zero",
                       description="Writes MODEL with the pixel-noise strengths of --levels set to zero and "
                                   "nothing else changed: what train --g-quiet-levels holds while training "
                                   "(trainer/quiet_noise.py).")
    p.add_argument("model", help="a .ganart.pt model file")
    p.add_argument("--levels", required=True, type=int_tuple, help="levels, e.g. 5 (the full-resolution level "
                   "of the default widths)")
    p.add_argument("--out", required=True, help="model file to write (name it *.ganart.pt)")

    p = sub.add_parser("sample", help="a PNG grid of textures from fixed seeds")
    p.add_argument("source", help="a run folder or a .ganart.pt model file")
    p.add_argument("--out", help="PNG to write (default: RUN/samples/sample.png or MODEL.png)")
    p.add_argument("--seeds", default="0-15", help="seeds, e.g. 0-15 or 3,7,42 (default 0-15)")
    p.add_argument("--size", type=int, default=0, help="texture size in px (texture arch; default: 2× crop)")
    p.add_argument("--repeat", type=int, default=1, help="show each texture tiled N×N to check seams")
    p.add_argument("--raw", action="store_true", help="sample the raw generator of a run, not the EMA copy")
    p.add_argument("--last", action="store_true", help="a run's generator at its last checkpoint, not the best it kept")
    p.add_argument("--device", default="auto")

    p = sub.add_parser("eval", help="quality report: SWD at full texel density and 4× downscale over their "
                                    "real-vs-real floors, colour, lattice and seam")
    p.add_argument("source", help="a run folder or a .ganart.pt model file")
    p.add_argument("--data", help="image folder (default: the run's training data)")
    p.add_argument("--images", type=int, default=128, help="generated and real crops compared (default 128, as "
                   "scripts/model_report.py: the ratios depend on it)")
    p.add_argument("--crop-size", type=int, default=0, help="crop size (default: the training crop; the report "
                   "judges 64 px crops, or this size where it is smaller)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--raw", action="store_true", help="evaluate the raw generator of a run, not the EMA copy")
    p.add_argument("--last", action="store_true", help="a run's generator at its last checkpoint, not the best it kept")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            return cmd_train(args, argv)
        if args.command == "export":
            return cmd_export(args)
        if args.command == "sample":
            return cmd_sample(args)
        if args.command == "quiet":
            return cmd_quiet(args)
        return cmd_eval(args)
    except TrainerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_status
    except GanArtError as exc:  # e.g. a damaged model file or an unavailable device
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def cmd_train(args: argparse.Namespace, argv: list[str]) -> int:
    given = given_train_options(args)
    if args.resume:
        run_dir = Path(args.resume)
        refuse_fixed_options(given)
        check_resumable(run_dir)
        config = override(load_config(run_dir / CONFIG_NAME), {**given, "out": str(run_dir)})
        result = train(config, resume=True, command=command_line(argv))
    else:
        if not given.get("data"):
            raise ConfigError(f"{flag('data')} (a folder of texture images) is required, or --resume RUN_DIR")
        if not given.get("out"):
            raise ConfigError(f"{flag('out')} (the run folder to create) is required")
        given["data"] = str(Path(given["data"]).resolve())
        config = resolve(override(TrainConfig(), given))  # options, then the folder, before the data
        check_run_folder(config.run.out)
        result = train(config, resume=False, command=command_line(argv))
    return SIGNAL_STATUS.get(result.stopped_by, 0)


def cmd_export(args: argparse.Namespace) -> int:
    from .export import KEPT_NOTE, export_run

    path, card = export_run(args.run_dir, args.out, args.name, args.description, args.data_license,
                            args.training_data, use_ema=not args.raw, half=not args.float32, best=not args.last)
    if not args.data_license:
        print("warning: no --license given; the model card says the data license is not stated", file=sys.stderr)
    kept = " (the best the run kept; --last for its last)" if KEPT_NOTE in card.training_command else ""
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): '{card.name}', {card.training_steps} steps{kept}, "
          f"native size {card.native_size} px")
    return 0


def cmd_quiet(args: argparse.Namespace) -> int:
    from .quiet_noise import quiet_model_file

    if Path(args.out).resolve() == Path(args.model).resolve():
        raise ConfigError("--out names the model file itself; write the copy elsewhere")
    path = quiet_model_file(args.model, args.out, args.levels)
    print(f"wrote {path}: {args.model} with level {','.join(map(str, args.levels))}'s pixel noise at zero")
    return 0


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    try:
        for part in text.replace(" ", "").split(","):
            if "-" in part[1:]:  # a range like 0-15
                lo, hi = part.split("-", 1)
                seeds.extend(range(int(lo), int(hi) + 1))
            elif part:
                seeds.append(int(part))
    except ValueError:
        raise ConfigError(f"--seeds takes numbers and ranges like 0-15 or 3,7,42, got '{text}'") from None
    if not seeds or len(seeds) > 256 or min(seeds) < 0:
        raise ConfigError(f"--seeds must name 1 to 256 non-negative seeds, got '{text}'")
    return seeds


def cmd_sample(args: argparse.Namespace) -> int:
    from .runs import load_run_or_model
    from .sampling import save_grid, seed_images

    if args.repeat < 1 or args.repeat > 4:
        raise ConfigError("--repeat must be 1 to 4")
    seeds = parse_seeds(args.seeds)
    run = load_run_or_model(args.source, use_ema=not args.raw, best=not args.last)
    _say_which_generator(run)
    device = resolve_device(args.device)
    if run.config.model.arch == "texture":
        size = args.size or 2 * run.config.data.crop_size
        if not 16 <= size <= 2048:
            raise ConfigError("--size must be 16 to 2048 px")
        textures = [torch.from_numpy(synthesize(run.generator, SynthesisOptions(seed, size, size), device=device))
                    for seed in seeds]
        images = torch.stack(textures).permute(0, 3, 1, 2) * 2 - 1  # (N, 3, size, size) in [-1, 1]
    else:
        if args.size:
            raise ConfigError(f"--size needs the texture arch; a {run.config.model.arch} run makes "
                              f"{run.config.data.crop_size} px images")
        images = seed_images(run.arch, run.generator, device, seeds)
    images = images.repeat(1, 1, args.repeat, args.repeat)
    source = Path(args.source)
    out = Path(args.out) if args.out else (source / "samples" / "sample.png" if source.is_dir()
                                           else source.with_name(source.name.split(".")[0] + ".png"))
    save_grid(images, out)
    print(f"wrote {out} ({len(seeds)} seeds)")
    return 0


def _say_which_generator(run) -> None:
    """A run that kept a best generator is sampled and judged by that one, as export writes it."""
    if "best" in run.info:
        kept = run.info["best"]
        print(f"note: the best generator the run kept (step {kept['step']} of {kept['of_steps']}, "
              f"{kept['measure']} {kept['score']:.2f}); --last for its last checkpoint", file=sys.stderr)


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_run
    from .runs import load_run_or_model

    if not 2 <= args.images <= 4096:
        raise ConfigError("--images must be 2 to 4096")
    run = load_run_or_model(args.source, use_ema=not args.raw, crop_size=args.crop_size or None, best=not args.last)
    _say_which_generator(run)
    data = args.data or (run.config.data.data if run.run_dir else "")
    if not data:
        raise ConfigError("--data is required when evaluating a model file")
    # A full-material model is judged by its colour against the colour of the sets it learned from,
    # and by how much of its normals face out against their normal maps.
    images = load_training_images(data, run.config.map_list(), run.config.data.crop_size, run.config.data.max_side,
                                  warn=lambda m: print(f"warning: {m}", file=sys.stderr),
                                  orient=run.config.data.orient)
    result = evaluate_run(run, images, args.images, args.seed, resolve_device(args.device))
    print(json.dumps(result.as_dict()) if args.json else result.table())
    return 0
