"""The run folder, file by file: what each file is called, how it is written and read back.

    RUN/config.json      the resolved options (rewritten on resume: the schedule may change)
    RUN/run.json         the command that started the run, each resume, and what data it read
    RUN/metrics.jsonl    one JSON record a line: losses every --log-every steps, SWD evaluations
    RUN/checkpoint.pt    the training state (trainer/state.py), written atomically
    RUN/summary.json     how the last session of the run ended
    RUN/best.pt          the generator that measured best, with --keep-best (trainer/best.py)
    RUN/samples/         step_NNNNNNN.png grids from fixed seeds, and final.png
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import write_text_atomically
from .config import TrainConfig, save_config
from .errors import CheckpointError

# The ratios an evaluation logs in metrics.jsonl (trainer/run_measure.py), each with its name in
# the summary and on the card of a kept generator (trainer/best.py).
RATIOS = {"full_ratio": "full density", "coarse_ratio": "4×", "normal_ratio": "normals"}

CONFIG_NAME = "config.json"
RUN_INFO_NAME = "run.json"
METRICS_NAME = "metrics.jsonl"
SUMMARY_NAME = "summary.json"
CHECKPOINT_NAME = "checkpoint.pt"
BEST_NAME = "best.pt"
SAMPLES_NAME = "samples"


@dataclass
class RunResult:
    """What a finished (or stopped) run reports."""

    run_dir: Path
    step: int
    images_seen: int
    stopped_by: str  # "done", "time", "SIGINT", "SIGTERM"
    seconds: float
    images_per_second: float
    final_metrics: dict = field(default_factory=dict)
    rank_digests: list[str] = field(default_factory=list)
    rank_augment_p: list[float] = field(default_factory=list)  # each rank's adaptive p (trainer/adaptive_augment.py)


def sample_path(run_dir: Path, step: int | None) -> Path:
    """The sample grid of a step, or the final one (step None)."""
    return run_dir / SAMPLES_NAME / ("final.png" if step is None else f"step_{step:07d}.png")


def prepare(run_dir: Path, config: TrainConfig, images, command: str, resume: bool, step: int) -> None:
    """A new run: config, run.json, an empty log. A resumed one: the config as it is now, the
    resume command added to run.json, the log cut back to the checkpoint's step."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if resume:
        info = read_run_info(run_dir)
        info.setdefault("resume_commands", []).append({"at_step": step, "command": command})
        truncate_metrics(run_dir, step)
    else:
        info = {"train_command": command, "resume_commands": [],
                "data": {"folder": str(Path(config.data.data).resolve()), "images": len(images),
                         "files": [str(p) for p in images.paths],
                         "skipped": [f"{p}: {why}" for p, why in images.skipped],
                         "upscaled": [str(p) for p in images.upscaled],
                         "texel_density": round(images.texel_density, 4)}}
        write_text_atomically(run_dir / METRICS_NAME, "")
        (run_dir / BEST_NAME).unlink(missing_ok=True)  # kept by an attempt stopped before its first checkpoint
    save_config(config, run_dir / CONFIG_NAME)  # on resume: records a changed schedule or learning rates
    write_text_atomically(run_dir / RUN_INFO_NAME, json.dumps(info, indent=2) + "\n")


def read_run_info(run_dir: Path) -> dict:
    """run.json ({} when absent); a damaged one is a CheckpointError line, not a traceback."""
    path = run_dir / RUN_INFO_NAME
    if not path.exists():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is damaged ({exc}); move it aside to continue without the run's "
                              f"history of commands") from None
    if not isinstance(info, dict):
        raise CheckpointError(f"{path} is damaged (it holds no record of the run)")
    return info


def truncate_metrics(run_dir: Path, step: int) -> None:
    """Drops log lines written after the checkpoint we resume from (they will be logged again),
    and any line a crash or a full disk left half-written; replaces the file in one step."""
    path = run_dir / METRICS_NAME
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a partial last line: what a kill or a full disk leaves
        if isinstance(record, dict) and isinstance(record.get("step", 0), (int, float)) and record.get("step", 0) <= step:
            kept.append(line)
    write_text_atomically(path, "".join(line + "\n" for line in kept))


def append_metrics(run_dir: Path, record: dict) -> None:
    """One line of metrics.jsonl (appended: a kill leaves at most a partial last line, which a
    resume drops)."""
    with open(run_dir / METRICS_NAME, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


class LossWindow:
    """Mean losses and throughput over the steps since the last metrics line."""

    def __init__(self) -> None:
        self.d_loss = self.g_loss = self.r1 = 0.0
        self.n = self.r1_n = self.images = 0
        self.t = time.monotonic()

    def add(self, d_loss: float, g_loss: float, images: int) -> None:
        self.d_loss += d_loss
        self.g_loss += g_loss
        self.n += 1
        self.images += images

    def add_r1(self, r1: float) -> None:
        self.r1 += r1
        self.r1_n += 1

    def images_per_second(self) -> float:
        return self.images / max(time.monotonic() - self.t, 1e-9)

    def record(self, step: int, images_seen: int, elapsed: float) -> dict:
        """The metrics.jsonl line for this window."""
        n = max(self.n, 1)
        record = {"step": step, "images": images_seen, "d_loss": round(self.d_loss / n, 5),
                  "g_loss": round(self.g_loss / n, 5), "images_per_s": round(self.images_per_second(), 2),
                  "elapsed_s": round(elapsed, 1)}
        if self.r1_n:
            record["r1"] = round(self.r1 / self.r1_n, 5)
        return record


def write_summary(run_dir: Path, result: RunResult, world_size: int) -> None:
    summary = {"step": result.step, "images_seen": result.images_seen, "stopped_by": result.stopped_by,
               "seconds": round(result.seconds, 1), "images_per_second": round(result.images_per_second, 2),
               "final_metrics": result.final_metrics, "world_size": world_size,
               "rank_weight_digests": result.rank_digests, "rank_augment_p": result.rank_augment_p,
               "ranks_identical": len(set(result.rank_digests)) == 1 and len(set(result.rank_augment_p)) <= 1}
    write_text_atomically(run_dir / SUMMARY_NAME, json.dumps(summary, indent=2) + "\n")


def summary_text(result: RunResult, run_dir: Path) -> str:
    """What the run ended with and the command to run next (resume or export)."""
    lines = [f"step {result.step}, {result.images_seen} images in {result.seconds / 60:.1f} min "
             f"({result.images_per_second:.1f} img/s)"]
    if result.stopped_by in ("SIGINT", "SIGTERM"):
        lines.append(f"stopped by {result.stopped_by}; checkpoint saved. Continue with: "
                     f"python -m trainer train --resume {shlex.quote(str(run_dir))}")
    elif result.stopped_by == "time":
        lines.append(f"stopped at the time limit; continue with: python -m trainer train --resume {shlex.quote(str(run_dir))}")
    m = result.final_metrics
    if m:
        lines.append(f"SWD {m['swd']:.2f} (per level {m['swd_levels']}), colour distance {m['colour']:.2f}")
        over_floor = [f"{name} {m[key]:.2f}" for key, name in RATIOS.items() if key in m]
        if over_floor:
            lines.append("SWD ÷ its real-vs-real floor: " + ", ".join(over_floor))
    lines.append(f"samples: {run_dir / SAMPLES_NAME}; export with: python -m trainer export "
                 f"{shlex.quote(str(run_dir))} --out NAME.ganart.pt --name NAME --license LICENSE")
    return "\n".join(lines)


def command_line(argv: list[str] | None = None) -> str:
    """The command as a user would retype it (recorded in the run and in exported model cards)."""
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python -m trainer", *(shlex.quote(a) for a in args)])
