"""A run → one model file the add-on loads (`blender_ganart.core.model_file`), with a full model card."""

from __future__ import annotations

from pathlib import Path

from blender_ganart.core.model_file import MODEL_SUFFIX, ModelCard, save_model
from blender_ganart.core.model_maps import channel_names
from blender_ganart.core.writable import unwritable_reason

from .errors import ExportError
from .runs import load_run


KEPT_NOTE = "exported the best by SWD it kept"  # on the card of a run's kept generator (train --keep-best)


def export_run(run_dir: str | Path, out: str | Path, name: str = "", description: str = "",
               data_license: str = "", training_data: str = "", use_ema: bool = True,
               half: bool = True, best: bool = True) -> tuple[Path, ModelCard]:
    """Writes the run's EMA generator (or raw G) with its card; returns the path and the card.
    best: the generator the run kept as its best by SWD (`train --keep-best`), when it kept one."""
    run = load_run(run_dir, use_ema=use_ema, best=best)
    if run.config.model.arch != "texture":
        raise ExportError(
            f"this run trained the '{run.config.model.arch}' comparison architecture; the add-on's model "
            f"file holds only the texture generator (--arch texture). Use `sample` and `eval` on this run instead."
        )
    out = Path(out)
    if out.is_dir():
        raise ExportError(f"--out must be a file name ending in {MODEL_SUFFIX}, got the folder {out}")
    if not out.name.endswith(MODEL_SUFFIX):
        raise ExportError(f"--out must end in {MODEL_SUFFIX} (the add-on lists only such files), got '{out.name}'")
    if not out.parent.exists():
        raise ExportError(f"the folder for --out does not exist: {out.parent}")
    problem = unwritable_reason(out.parent)
    if problem:
        raise ExportError(f"--out {out} cannot be written: {problem}")
    data = run.info.get("data", {})
    if not training_data:
        training_data = f"{data.get('images', '?')} images from {data.get('folder', run.config.data.data)}"
    command = run.info.get("train_command", "")
    for resumed in run.info.get("resume_commands", []):
        command += f" ; resumed at step {resumed['at_step']}: {resumed['command']}"
    if "best" in run.info:
        kept = run.info["best"]
        command += f" ; {KEPT_NOTE}: step {kept['step']} of {kept['of_steps']} ({kept['measure']} {kept['score']:.2f})"
    card = ModelCard(
        name=name or Path(run_dir).resolve().name,
        description=description,
        training_data=training_data,
        data_license=data_license or "not stated (give it with export --license)",
        channels=channel_names(run.config.map_list()),
        maps=run.config.map_list(),
        native_size=run.config.data.crop_size,
        training_steps=run.step,
        training_command=command,
        texel_density=float(data.get("texel_density", 0.0)),
    )
    save_model(out, run.generator, card, half=half)
    return out, card
