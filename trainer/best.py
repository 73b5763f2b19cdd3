"""The run's best generator by its own SWD, kept beside the checkpoint (`--keep-best`).

A GAN's last step is not its best: on the GPU, a third sitting of the grass model ended at 2.12 /
3.11 × its floor where the second had ended at 1.42 / 2.51, and metal's second at 3.97 at the 4×
scale where its first had 3.66. Keeping the EMA generator with the lowest SWD the run measured
(every --metrics-every steps, at its start and at its end) makes a sitting end no worse, by that
measure, than the generator it started from. `export` takes this generator when the run kept one.

    RUN/best.pt   {"step", "swd", "G_ema"}: written atomically, read like a checkpoint
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from .checkpoint import load_checkpoint, save_checkpoint
from .run_folder import BEST_NAME
from .state import cpu_state


def best_path(run_dir: Path) -> Path:
    return Path(run_dir) / BEST_NAME


def read_best(run_dir: Path) -> dict | None:
    """{"step", "swd", "G_ema"} of the kept generator, or None when the run kept none."""
    path = best_path(run_dir)
    return load_checkpoint(path) if path.exists() else None


class BestKeeper:
    """Offers each evaluation's generator; keeps it when its SWD is the lowest so far."""

    def __init__(self, run_dir: Path, enabled: bool, resumed_at: int | None = None):
        """resumed_at: the checkpoint's step when the run resumes, None for a new run."""
        self.run_dir, self.enabled = Path(run_dir), enabled
        self.swd = float("inf")
        kept = read_best(run_dir) if enabled else None
        # A resumed run drops what was kept after its checkpoint: those steps are trained again, and
        # it must end as the uninterrupted run would. (A new run's folder starts without one:
        # run_folder.prepare removes what an attempt stopped before its first checkpoint kept.)
        if kept is not None and resumed_at is not None and int(kept["step"]) > resumed_at:
            best_path(run_dir).unlink()
            kept = None
        if kept is not None:
            self.swd = float(kept["swd"])

    def offer(self, step: int, swd: float, generator: nn.Module) -> bool:
        """True when `generator` (at `step`, measured at `swd`) is now the kept one."""
        if not self.enabled or not swd < self.swd:
            return False
        save_checkpoint(best_path(self.run_dir), {"step": int(step), "swd": float(swd), "G_ema": cpu_state(generator.state_dict())})
        self.swd = swd
        return True


def kept_by(record: dict) -> float:
    """What --keep-best ranks by: the colour's SWD, plus the normals' for a run that learns them.
    A material model is kept for its relief as much as its colour: by the colour alone, a step
    whose normal maps had gone worse could be the one kept."""
    return record["swd"] + record.get("swd_normal", 0.0)


def measure_name(maps: tuple[str, ...]) -> str:
    """What kept_by measured, for the card and the notes that name the kept generator."""
    return "SWD of colour + normals" if "normal" in maps else "SWD"
