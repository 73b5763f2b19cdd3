"""Reading a finished or running run folder back: its config, networks and history, and a model
file's generator in the same shape, so `sample` and `eval` take either."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from torch import nn

from blender_ganart.core.model_file import MODEL_SUFFIX, load_model
from blender_ganart.core.network import GeneratorConfig
from blender_ganart.core.writable import unwritable_reason

from .archs import Arch, build_arch
from .best import read_best
from .checkpoint import load_checkpoint
from .config import DataOptions, ModelOptions, TrainConfig, flag, resolve
from .errors import CheckpointError, ConfigError
from .run_folder import CHECKPOINT_NAME, CONFIG_NAME, read_run_info
from .state import saved_config, saved_generator, saved_step


@dataclass
class LoadedRun:
    """A generator ready to sample, with what produced it."""

    config: TrainConfig
    arch: Arch
    generator: nn.Module  # the EMA generator unless raw weights were asked for
    step: int
    run_dir: Path | None
    info: dict


def check_run_folder(run_dir: str | Path) -> None:
    """Says in one line, before any data is read, why a new run's folder could not be made.

    Only checked, not made: a run that then stops on its data leaves no empty folder behind.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"{flag('out')} {run_dir} is a file; give a folder for the run")
    problem = unwritable_reason(run_dir)
    if problem:
        raise ConfigError(f"{flag('out')} {run_dir} cannot be used: {problem}")


def check_resumable(run_dir: str | Path) -> None:
    """A folder `--resume` can continue, or a line saying what it is instead and what to do."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"not a run folder: {run_dir}")
    info = read_run_info(run_dir)  # damaged: said now, before the data folder is read
    if not (run_dir / CHECKPOINT_NAME).exists() and (run_dir / CONFIG_NAME).is_file():
        command = info.get("train_command") or "python -m trainer train --data … --out …"
        raise CheckpointError(f"{run_dir} has no checkpoint yet: the run stopped before its first one was "
                              f"written, so there is nothing to resume; start it again with: {command}")


def load_run(run_dir: str | Path, use_ema: bool = True, best: bool = False) -> LoadedRun:
    """The run's generator at its checkpoint, or (best) the one it kept as its best by SWD
    (trainer/best.py) when it kept one; `info["best"]` then holds that generator's step and score."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"not a run folder: {run_dir}")
    ckpt = load_checkpoint(run_dir / CHECKPOINT_NAME)
    config = saved_config(ckpt)
    arch = build_arch(config)
    generator = arch.build_generator()
    kept = read_best(run_dir) if best and use_ema else None
    state, step = (kept["G_ema"], int(kept["step"])) if kept else (saved_generator(ckpt, use_ema), saved_step(ckpt))
    try:
        generator.load_state_dict(state)
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(f"the checkpoint in {run_dir} does not match its own configuration ({exc})") from None
    info = read_run_info(run_dir)
    if kept:
        # A file kept by an older trainer ranked by plain SWD (no "score" key).
        info["best"] = {"step": step, "score": float(kept.get("score", kept.get("swd", 0.0))), "of_steps": saved_step(ckpt),
                        "measure": kept.get("measure", "SWD")}
    generator = arch.inference_generator(generator.eval().requires_grad_(False))
    return LoadedRun(config, arch, generator, step, run_dir, info)


def card_data_options(training_command: str) -> dict:
    """How a model file's run saw its data, read from the command on its card (a model file keeps
    no config): whether its real crops were turned by 90° and its images oriented (--orient). A
    model is judged against its data as it saw it: a Wood trained on grain turned level is not
    compared with upright grain."""
    return {"rot90": "--no-rot90" not in training_command,
            "orient": "rows" if "--orient rows" in training_command else "as-stored"}


def load_model_as_run(path: str | Path, crop_size: int | None = None) -> LoadedRun:
    """An exported .ganart.pt model as a texture-arch run (crop = its native size unless given)."""
    model = load_model(path)
    g: GeneratorConfig = model.config
    crop = int(crop_size or model.card.native_size)
    config = resolve(TrainConfig(
        data=DataOptions(crop_size=crop, maps=",".join(model.card.maps),
                         **card_data_options(model.card.training_command)),
        model=ModelOptions(arch="texture", g_widths=g.widths, g_extra_convs=g.extra_convs,
                           local_dim=g.local_dim, global_dim=g.global_dim, g_upsample=g.upsample,
                           g_noise=g.noise)))
    return LoadedRun(config, build_arch(config), model.generator, model.card.training_steps, None,
                     {"card": model.card.to_dict()})


def load_run_or_model(source: str | Path, use_ema: bool = True, crop_size: int | None = None,
                      best: bool = True) -> LoadedRun:
    """A run folder's generator (the best it kept, as export would write it, unless best=False) or
    a model file's."""
    source = Path(source)
    if source.is_dir():
        run = load_run(source, use_ema, best=best)
        if crop_size and crop_size != run.config.data.crop_size:
            if run.config.model.arch != "texture":
                raise ConfigError(f"a {run.config.model.arch} generator makes {run.config.data.crop_size} px "
                                  f"images only; --crop-size {crop_size} needs the texture arch")
            config = replace(run.config, data=replace(run.config.data, crop_size=crop_size))
            run = LoadedRun(resolve(config), build_arch(resolve(config)), run.generator, run.step, run.run_dir, run.info)
        return run
    if source.name.endswith(MODEL_SUFFIX) or source.is_file():
        return load_model_as_run(source, crop_size)
    raise CheckpointError(f"{source} is neither a run folder nor a {MODEL_SUFFIX} model file")
