"""The run's best generator by its own measurements, kept beside the checkpoint (`--keep-best`).

A GAN's last step is not its best: on the GPU (by the 0.5 report), a third sitting of the grass
model ended at 2.12 / 3.11 × its floor where the second had ended at 1.42 / 2.51, and metal's
second at 3.97 at the 4× scale where its first had 3.66. Keeping the EMA generator that measured best (every
--metrics-every steps, at its start and at its end) makes a sitting end no worse, by that
measure, than the generator it started from. `export` takes this generator when the run kept one.

The measure is the quality report's (trainer/quality.py): the SWD over its real-vs-real floor at
full texel density plus the same at the 4× structure scale (and, for a run that learns normals,
their SWD over their floor), so each scale counts alike, whatever its SWD's size. A step whose
normal maps face sideways beyond the data's steepest map (trainer/run_measure.py,
"steeper_than_data") ranks after every step that does not, however close its SWDs: an artist
would get that relief. (It is still kept while no step has faced out like the data.)

    RUN/best.pt   {"step", "score", "measure", "G_ema", "faces_out", "facing_judged_on"}: written
                  atomically, read like a checkpoint
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from .checkpoint import load_checkpoint, save_checkpoint
from .run_folder import BEST_NAME, RATIOS
from .state import cpu_state


def best_path(run_dir: Path) -> Path:
    return Path(run_dir) / BEST_NAME


def read_best(run_dir: Path) -> dict | None:
    """{"step", "swd", "G_ema"} of the kept generator, or None when the run kept none."""
    path = best_path(run_dir)
    return load_checkpoint(path) if path.exists() else None


class BestKeeper:
    """Offers each evaluation's generator; keeps it when it ranks first so far: a step whose normals
    face out like the data's before any that is steeper, then the lowest score."""

    def __init__(self, run_dir: Path, enabled: bool, resumed_at: int | None = None, judges_facing: str | None = None):
        """resumed_at: the checkpoint's step when the run resumes, None for a new run;
        judges_facing: for a run that learns normals, how its evaluations judge their facing out
        (run_measure.facing_judgement), None for a run without."""
        self.run_dir, self.enabled, self.judges_facing = Path(run_dir), enabled, judges_facing
        self.rank = (True, float("inf"))  # (steeper than the data, score): lowest first
        kept = read_best(run_dir) if enabled else None
        # A resumed run drops what was kept after its checkpoint: those steps are trained again, and
        # it must end as the uninterrupted run would. (A new run's folder starts without one:
        # run_folder.prepare removes what an attempt stopped before its first checkpoint kept.)
        if kept is not None and resumed_at is not None and int(kept["step"]) > resumed_at:
            best_path(run_dir).unlink()
            kept = None
        # One kept by an older trainer (by plain SWD, key "swd") cannot be compared: the next
        # evaluation's generator replaces it. One kept by a trainer that did not judge its normals,
        # or judged them otherwise (on one crop of each latent field, until 2026-11-28, or by another
        # --facing-at-least), may face sideways: `unjudged` until the run measures it (judge).
        self.unjudged: dict | None = None
        if kept is not None and "score" in kept:
            self.rank = (not kept.get("faces_out", True), float(kept["score"]))
            if judges_facing and kept.get("facing_judged_on") != judges_facing:
                self.unjudged = kept

    def judge(self, faces_out: bool) -> None:
        """Ranks the unjudged kept generator by its normals' facing, measured now, and records it
        in best.pt so that a later resume need not measure it again."""
        kept, self.unjudged = self.unjudged, None
        save_checkpoint(best_path(self.run_dir), dict(kept, faces_out=faces_out, facing_judged_on=self.judges_facing))
        self.rank = (not faces_out, float(kept["score"]))

    def offer(self, step: int, score: float, measure: str, generator: nn.Module, faces_out: bool = True) -> bool:
        """True when `generator` (at `step`, scoring `score` by `measure`; its normals, if any,
        facing out like the data's or not) is now the kept one."""
        rank = (not faces_out, score)
        if not self.enabled or not rank < self.rank:
            return False
        save_checkpoint(best_path(self.run_dir), {"step": int(step), "score": float(score), "measure": measure,
                                                  "G_ema": cpu_state(generator.state_dict()), "faces_out": faces_out,
                                                  "facing_judged_on": self.judges_facing})
        self.rank = rank
        return True


def kept_by(record: dict) -> float:
    """What --keep-best ranks by: the sum of the record's SWDs over their floors. A material model
    is kept for its relief as much as its colour: by the colour alone, a step whose normal maps
    had gone worse could be the one kept."""
    return sum(record[key] for key in RATIOS if key in record)


def measure_name(record: dict) -> str:
    """What kept_by measured in this record, for the card and the notes that name the kept generator."""
    return "SWD ÷ floor, " + " + ".join(name for key, name in RATIOS.items() if key in record)
