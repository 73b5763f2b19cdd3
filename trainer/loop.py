"""The training loop: setup → real batch → D step(s) → G step → EMA → log / sample / checkpoint.

Everything that draws random numbers (crop sampler, latents, augmentations) draws from RNGs whose
states the checkpoint saves, and nothing outside the loop draws from them (samples and metrics
use their own fixed-seed generators), so on the CPU a run that is killed and resumed ends with
exactly the weights of a run that never stopped.
"""

from __future__ import annotations

import copy
import json
import shlex
import signal
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch

from blender_ganart.devices import resolve_device
from blender_ganart.errors import SynthesisOptionsError
from blender_ganart.seeds import mix

from . import augment as aug
from . import distributed as ddp
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .config import TrainConfig, resolve, save_config
from .data import CropSampler, load_image_folder
from .errors import CheckpointError, ConfigError, NonFiniteLossError
from .losses import LOSSES, gradient_penalty, r1_penalty
from .metrics import colour_distance, real_vs_real_floor, swd_per_level
from .networks import build_arch
from .progress import ProgressLine
from .sampling import generated_crops, save_grid, seed_images

CONFIG_NAME = "config.json"
RUN_INFO_NAME = "run.json"
METRICS_NAME = "metrics.jsonl"
SUMMARY_NAME = "summary.json"
EVAL_SEED = 20180203  # fixed latents and real crops for metrics, so numbers compare across steps
_DATA_STREAM, _NOISE_STREAM = 0xDA7A, 0x4015E

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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


class StopRequest:
    """Turns Ctrl-C / SIGTERM into a flag the loop checks after each step (then checkpoints)."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def _handle(self, signum, frame) -> None:  # noqa: ARG002 (signal handler signature)
        self.signal_name = signal.Signals(signum).name

    @contextmanager
    def installed(self):
        previous = {}
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread (e.g. called from a worker): no handlers
            pass
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def train(config: TrainConfig, resume: bool = False, command: str = "", log: Log = _stderr) -> RunResult:
    """Trains (or resumes) the run in config.run.out; returns when done, stopped or out of time.

    Raises DataError / ConfigError / CheckpointError for bad input and NonFiniteLossError if a
    loss diverges (the last checkpoint on disk is then left as it was).
    """
    # ---- setup --------------------------------------------------------------------------------
    config = resolve(config)
    c = config
    try:
        device = resolve_device(c.run.device)
    except SynthesisOptionsError as exc:
        raise ConfigError(str(exc)) from None
    info = ddp.init_distributed(device.type)
    try:
        return _train(config, c, device, info, resume, command, log)
    finally:
        ddp.shutdown(info)


def _train(config, c, device, info, resume, command, log) -> RunResult:
    if device.type == "cuda" and info.enabled:
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    if c.optim.batch % info.world_size:
        raise ConfigError(f"--batch {c.optim.batch} must divide evenly over {info.world_size} processes")
    if c.run.threads:
        torch.set_num_threads(c.run.threads)
    say = log if info.is_main else (lambda message: None)
    run_dir = Path(c.run.out)
    if not str(c.run.out):
        raise ConfigError("--out (the run folder) is required")
    if not resume and (run_dir / CHECKPOINT_NAME).exists():
        raise ConfigError(f"{run_dir} already holds a run; continue it with `train --resume {run_dir}` "
                          f"or choose another --out")
    fast = device.type == "cuda" and c.run.amp  # bfloat16 autocast + channels-last: CUDA only
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if fast else nullcontext
    layout = torch.channels_last if fast else torch.contiguous_format

    images = load_image_folder(c.data.data, c.data.crop_size, c.data.max_side,
                               warn=lambda message: say(f"warning: {message}"))
    say(f"data: {images.describe()} from {c.data.data}")

    torch.manual_seed(c.run.seed)  # the same initial weights on every rank
    arch = build_arch(config)
    G = arch.build_generator().to(device, memory_format=layout)
    D = arch.build_discriminator().to(device, memory_format=layout)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    betas = (c.optim.beta1, c.optim.beta2)
    opt_G = torch.optim.Adam(G.parameters(), lr=c.optim.g_lr, betas=betas)
    opt_D = torch.optim.Adam(D.parameters(), lr=c.optim.d_lr, betas=betas)
    sampler = CropSampler(images, c.data.crop_size, mix(c.run.seed, info.rank, _DATA_STREAM) >> 1,
                          c.data.flips, c.data.rot90)
    step, images_seen, elapsed_before = 0, 0, 0.0
    if resume:
        ckpt = load_checkpoint(run_dir / CHECKPOINT_NAME)
        G.load_state_dict(ckpt["G"])
        D.load_state_dict(ckpt["D"])
        G_ema.load_state_dict(ckpt["G_ema"])
        opt_G.load_state_dict(ckpt["opt_G"])
        opt_D.load_state_dict(ckpt["opt_D"])
        for opt, lr in ((opt_G, c.optim.g_lr), (opt_D, c.optim.d_lr)):  # a resume may lower them
            for group in opt.param_groups:
                group["lr"] = lr
        step, images_seen, elapsed_before = ckpt["step"], ckpt["images_seen"], ckpt["elapsed_s"]
        if len(ckpt["rng"]) == info.world_size:
            set_rng_state(ckpt["rng"][info.rank])
            sampler.set_state(ckpt["sampler"][info.rank])
        else:  # another number of processes: continue with fresh, still reproducible streams
            say(f"note: the run was saved with {len(ckpt['rng'])} processes, resumed with {info.world_size}; "
                f"data and noise streams are re-seeded")
            torch.manual_seed(mix(c.run.seed, info.rank, _NOISE_STREAM, step) >> 1)
            sampler = CropSampler(images, c.data.crop_size, mix(c.run.seed, info.rank, _DATA_STREAM, step) >> 1,
                                  c.data.flips, c.data.rot90)
        say(f"resuming {run_dir} at step {step}")
    else:
        if c.model.init_from:
            arch.warm_start(G, c.model.init_from)
            say(f"generator starts from {c.model.init_from}")
        ddp.broadcast_module(G, info)
        ddp.broadcast_module(D, info)
        G_ema.load_state_dict(G.state_dict())
        torch.manual_seed(mix(c.run.seed, info.rank, _NOISE_STREAM) >> 1)  # each rank its own noise
    if info.is_main:
        _prepare_run_dir(run_dir, config, images, command, resume, step)

    per_rank = c.optim.batch // info.world_size
    d_loss_fn, g_loss_fn = LOSSES[c.loss.loss]
    policy = config.augment_list()
    # Metrics compare the same real crops and the same latents at every evaluation.
    eval_count = c.run.metrics_images
    eval_real = CropSampler(images, c.data.crop_size, EVAL_SEED, c.data.flips, c.data.rot90).sample(2 * eval_count)
    evaluate = lambda: _evaluate(arch, G_ema, device, eval_real, eval_count)  # noqa: E731
    if info.is_main and not resume:
        floor = real_vs_real_floor(eval_real, seed=EVAL_SEED)
        _append_metrics(run_dir, {"step": 0, "swd_floor": round(floor, 3)})
        say(f"SWD real-vs-real floor ({eval_count} vs {eval_count} crops of {c.data.crop_size} px): {floor:.2f}")

    def for_d(real: torch.Tensor | None, fake: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
        """What D sees: the shared wrap-around seam shift, then independent augmentations."""
        if c.augment.seam_shift:
            if real is None:  # G step: the fake alone gets a shift from the same distribution
                fake = aug.seam_shift(fake, fake)[1]
            else:
                real, fake = aug.seam_shift(real, fake)
        if policy:
            fake = aug.augment(fake, policy)
            real = aug.augment(real, policy) if real is not None else None
        return real, fake

    def check_finite(name: str, value: torch.Tensor) -> None:
        bad = not bool(torch.isfinite(value).all())
        if ddp.any_rank(bad, info, device):
            what = "NaN" if bool(torch.isnan(value).any()) else "infinite" if bad else "non-finite on another process"
            raise NonFiniteLossError(
                f"the {name} loss became {what} at step {step + 1}; training stopped. "
                f"The last good checkpoint in {run_dir} is untouched (step {_checkpoint_step(run_dir)}). "
                f"Lower the learning rates (--g-lr/--d-lr), raise --r1-gamma, or try --loss hinge.")

    stop = StopRequest()
    progress = ProgressLine(c.run.steps, step, enabled=info.is_main)
    window = {"d_loss": 0.0, "g_loss": 0.0, "r1": 0.0, "n": 0, "r1_n": 0, "t": time.monotonic(), "images": 0}
    t_start = time.monotonic()
    stopped_by = "done"
    G.train()
    D.train()

    with stop.installed():
        while step < c.run.steps:
            # ---- D step(s): real vs. detached fakes -------------------------------------------
            G.requires_grad_(False)
            D.requires_grad_(True)
            for k in range(c.loss.d_steps):
                real = sampler.sample(per_rank).to(device, memory_format=layout)  # (n, 3, crop, crop) in [-1, 1]
                z = arch.sample_latents(per_rank).to(device)
                do_r1 = c.loss.r1_gamma > 0 and (step * c.loss.d_steps + k) % c.loss.r1_every == 0
                with autocast():
                    with torch.no_grad():
                        fake = arch.fake_batch(G, z)
                    real_in, fake_in = for_d(real, fake)
                    real_in = real_in.detach().requires_grad_(do_r1)
                    real_logits, fake_logits = D(real_in), D(fake_in)
                    d_loss = d_loss_fn(real_logits.float(), fake_logits.float())
                    total = d_loss
                    if do_r1:
                        r1 = r1_penalty(real_logits, real_in)
                        total = total + r1 * (c.loss.r1_gamma / 2 * c.loss.r1_every)
                        window["r1"] += float(r1.detach())
                        window["r1_n"] += 1
                    if c.loss.loss == "wgan-gp":
                        total = total + c.loss.gp_weight * gradient_penalty(D, real_in.detach(), fake_in.detach())
                check_finite("discriminator", total)
                opt_D.zero_grad(set_to_none=True)
                total.backward()
                ddp.average_gradients(D, info)
                opt_D.step()

            # ---- G step: fool the (frozen) D --------------------------------------------------
            G.requires_grad_(True)
            D.requires_grad_(False)
            z = arch.sample_latents(per_rank).to(device)
            with autocast():
                _, fake_in = for_d(None, arch.fake_batch(G, z))
                g_loss = g_loss_fn(D(fake_in).float())
            check_finite("generator", g_loss)
            opt_G.zero_grad(set_to_none=True)
            g_loss.backward()
            ddp.average_gradients(G, info)
            opt_G.step()

            # ---- EMA of G ---------------------------------------------------------------------
            images_seen += c.optim.batch
            _update_ema(G_ema, G, c.optim.ema_kimg, c.optim.batch, images_seen)
            step += 1

            # ---- log, samples, metrics, checkpoint ----------------------------------------------
            window["d_loss"] += float(d_loss.detach())
            window["g_loss"] += float(g_loss.detach())
            window["n"] += 1
            window["images"] += c.optim.batch
            rate = window["images"] / max(time.monotonic() - window["t"], 1e-9)
            progress.update(step, rate, float(d_loss.detach()), float(g_loss.detach()))
            if info.is_main and (step % c.run.log_every == 0 or step == c.run.steps):
                _append_metrics(run_dir, _window_record(window, step, images_seen, elapsed_before + time.monotonic() - t_start))
                window.update({"d_loss": 0.0, "g_loss": 0.0, "r1": 0.0, "n": 0, "r1_n": 0,
                               "t": time.monotonic(), "images": 0})
            if info.is_main and c.run.sample_every and step % c.run.sample_every == 0:
                save_grid(seed_images(arch, G_ema, device), run_dir / "samples" / f"step_{step:07d}.png")
            if info.is_main and c.run.metrics_every and step % c.run.metrics_every == 0 and step < c.run.steps:
                record = evaluate()
                _append_metrics(run_dir, {"step": step, **record})
                progress.note(f"step {step}: SWD {record['swd']:.2f}, colour distance {record['colour']:.2f}")

            elapsed = elapsed_before + time.monotonic() - t_start
            out_of_time = bool(c.run.max_minutes) and elapsed >= 60 * c.run.max_minutes
            halt = ddp.any_rank(stop.signal_name is not None or out_of_time, info, device)
            if halt or step % c.run.checkpoint_every == 0 or step == c.run.steps:
                _checkpoint(run_dir, info, step, images_seen, elapsed, config, G, D, G_ema, opt_G, opt_D, sampler)
            if halt:
                stopped_by = stop.signal_name or "time"
                break
    progress.close()

    # ---- the end: final samples, metrics and a summary ------------------------------------------
    seconds = time.monotonic() - t_start
    digests = ddp.gather_objects(ddp.weights_digest(G, D, G_ema), info)
    result = RunResult(run_dir, step, images_seen, stopped_by, elapsed_before + seconds,
                       images_seen / max(elapsed_before + seconds, 1e-9), rank_digests=digests)
    if info.is_main:
        if stopped_by in ("done", "time"):
            save_grid(seed_images(arch, G_ema, device), run_dir / "samples" / "final.png")
            result.final_metrics = {"step": step, **evaluate()}
            _append_metrics(run_dir, result.final_metrics)
        _write_summary(run_dir, result, info)
        say(_summary_text(result, run_dir))
    return result


def _evaluate(arch, g_ema, device, eval_real: torch.Tensor, count: int) -> dict:
    fake = generated_crops(arch, g_ema, count, device, EVAL_SEED)
    real = eval_real[:count]
    levels = swd_per_level(real, fake, seed=EVAL_SEED)
    return {"swd": round(sum(levels) / len(levels), 3), "swd_levels": [round(v, 3) for v in levels],
            "colour": round(colour_distance(real, fake), 3)}


@torch.no_grad()
def _update_ema(g_ema: torch.nn.Module, g: torch.nn.Module, ema_kimg: float, batch: int, images_seen: int) -> None:
    """G_ema ← lerp toward G with a half-life of ema_kimg thousand images, ramped up over the
    first 20× that many images (StyleGAN2-ADA) so early, bad weights fade quickly."""
    if ema_kimg <= 0:
        g_ema.load_state_dict(g.state_dict())
        return
    half_life = min(ema_kimg * 1000, images_seen * 0.05)
    beta = 0.5 ** (batch / max(half_life, 1e-8))
    for p_ema, p in zip(g_ema.parameters(), g.parameters()):
        p_ema.copy_(p.detach().lerp(p_ema, beta))
    for b_ema, b in zip(g_ema.buffers(), g.buffers()):
        b_ema.copy_(b)


def _checkpoint(run_dir, info, step, images_seen, elapsed, config, G, D, G_ema, opt_G, opt_D, sampler) -> None:
    """Gathers every rank's RNG states (so a DDP resume is exact too); rank 0 writes."""
    rngs = ddp.gather_objects(rng_state(), info)
    samplers = ddp.gather_objects(sampler.state(), info)
    for name, module in (("generator", G), ("discriminator", D)):  # identical on all ranks
        if not all(bool(torch.isfinite(p).all()) for p in module.parameters()):
            raise NonFiniteLossError(f"the {name}'s weights are no longer finite at step {step}; the last good "
                                     f"checkpoint (step {_checkpoint_step(run_dir)}) is untouched")
    if not info.is_main:
        return
    save_checkpoint(run_dir / CHECKPOINT_NAME, {
        "config": config.to_dict(), "step": step, "images_seen": images_seen, "elapsed_s": elapsed,
        "G": _cpu(G.state_dict()), "D": _cpu(D.state_dict()), "G_ema": _cpu(G_ema.state_dict()),
        "opt_G": opt_G.state_dict(), "opt_D": opt_D.state_dict(), "rng": rngs, "sampler": samplers,
    })


def _cpu(state: dict) -> dict:
    return {k: v.detach().cpu().contiguous() for k, v in state.items()}


def _checkpoint_step(run_dir: Path) -> str:
    path = run_dir / CHECKPOINT_NAME
    if not path.exists():
        return "none written yet"
    try:
        return str(load_checkpoint(path)["step"])
    except Exception as exc:  # only for a message; the real error surfaces elsewhere
        return f"unreadable: {exc}"


def _prepare_run_dir(run_dir: Path, config: TrainConfig, images, command: str, resume: bool, step: int) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    info_path = run_dir / RUN_INFO_NAME
    info = read_run_info(run_dir) if resume else {}
    if not resume:
        save_config(config, run_dir / CONFIG_NAME)
        info = {"train_command": command, "resume_commands": [],
                "data": {"folder": str(Path(config.data.data).resolve()), "images": len(images),
                         "files": [str(p) for p in images.paths],
                         "skipped": [f"{p}: {why}" for p, why in images.skipped],
                         "upscaled": [str(p) for p in images.upscaled],
                         "texel_density": round(images.texel_density, 4)}}
        (run_dir / METRICS_NAME).write_text("")
    else:
        save_config(config, run_dir / CONFIG_NAME)  # records changed schedule or learning rates
        info.setdefault("resume_commands", []).append({"at_step": step, "command": command})
        _truncate_metrics(run_dir / METRICS_NAME, step)
    _write_atomically(info_path, json.dumps(info, indent=2) + "\n")


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


def _truncate_metrics(path: Path, step: int) -> None:
    """Drops log lines written after the checkpoint we resume from (they will be logged again),
    and any line a crash or a full disk left half-written; replaces the file in one step."""
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
    _write_atomically(path, "".join(line + "\n" for line in kept))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _append_metrics(run_dir: Path, record: dict) -> None:
    with open(run_dir / METRICS_NAME, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def _window_record(window: dict, step: int, images_seen: int, elapsed: float) -> dict:
    n = max(window["n"], 1)
    record = {"step": step, "images": images_seen, "d_loss": round(window["d_loss"] / n, 5),
              "g_loss": round(window["g_loss"] / n, 5),
              "images_per_s": round(window["images"] / max(time.monotonic() - window["t"], 1e-9), 2),
              "elapsed_s": round(elapsed, 1)}
    if window["r1_n"]:
        record["r1"] = round(window["r1"] / window["r1_n"], 5)
    return record


def _write_summary(run_dir: Path, result: RunResult, info) -> None:
    summary = {"step": result.step, "images_seen": result.images_seen, "stopped_by": result.stopped_by,
               "seconds": round(result.seconds, 1), "images_per_second": round(result.images_per_second, 2),
               "final_metrics": result.final_metrics, "world_size": info.world_size,
               "rank_weight_digests": result.rank_digests,
               "ranks_identical": len(set(result.rank_digests)) == 1}
    (run_dir / SUMMARY_NAME).write_text(json.dumps(summary, indent=2) + "\n")


def _summary_text(result: RunResult, run_dir: Path) -> str:
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
    lines.append(f"samples: {run_dir / 'samples'}; export with: python -m trainer export "
                 f"{shlex.quote(str(run_dir))} --out NAME.ganart.pt --name NAME --license LICENSE")
    return "\n".join(lines)


def command_line(argv: list[str] | None = None) -> str:
    """The command as a user would retype it (recorded in the run and in exported model cards)."""
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python -m trainer", *(shlex.quote(a) for a in args)])


def is_run_dir(path: Path) -> bool:
    return (path / CONFIG_NAME).is_file()


