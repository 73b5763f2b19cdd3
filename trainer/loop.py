"""The training loop: setup → real batch → D step(s) → G step → EMA → log / sample / checkpoint.

Everything that draws random numbers (crop sampler, latents, augmentations) draws from RNGs whose
states the checkpoint saves, and nothing outside the loop draws from them (samples and metrics
use their own fixed-seed generators), so on the CPU a run that is killed and resumed ends with
exactly the weights of a run that never stopped.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from blender_ganart.core.devices import resolve_device
from blender_ganart.core.errors import SynthesisOptionsError
from blender_ganart.core.periodic import is_wave_parameter
from blender_ganart.core.seeds import mix

from . import distributed as ddp
from .adaptive_augment import AugmentStrength
from .archs import build_arch
from .best import BestKeeper, kept_by, measure_name
from .checkpoint import load_checkpoint, set_rng_state
from .config import TrainConfig, flag, resolve
from .data import CropSampler, ImageSet
from .errors import ConfigError
from .map_sets import load_training_images
from .progress import ProgressLine
from .run_measure import RunMeasure, facing_judgement
from .run_folder import (CHECKPOINT_NAME, LossWindow, RunResult, append_metrics, prepare, sample_path,
                         summary_text, write_summary)
from .sampling import save_grid, seed_images
from .signals import StopRequest
from .state import TrainState, saved_streams
from .steps import Setup, checkpoint, d_step, g_step, update_ema

_DATA_STREAM, _NOISE_STREAM = 0xDA7A, 0x4015E

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def train(config: TrainConfig, resume: bool = False, command: str = "", log: Log = _stderr) -> RunResult:
    """Trains (or resumes) the run in config.run.out; returns when done, stopped or out of time.

    Raises DataError / ConfigError / CheckpointError for bad input and NonFiniteLossError if a
    loss diverges (the last checkpoint on disk is then left as it was).
    """
    config = resolve(config)
    try:
        device = resolve_device(config.run.device)
    except SynthesisOptionsError as exc:
        raise ConfigError(str(exc)) from None
    info = ddp.init_distributed(device.type)
    try:
        s = _setup(config, device, info, resume)
        say = log if info.is_main else (lambda message: None)
        images = load_training_images(config.data.data, config.map_list(), config.data.crop_size,
                                      config.data.max_side, warn=lambda message: say(f"warning: {message}"),
                                      orient=config.data.orient)
        say(f"data: {images.describe()} from {config.data.data}")
        t = _initial_state(s, images, resume, say)
        if info.is_main:
            prepare(s.run_dir, config, images, command, resume, t.step)
        measure = _measurement(s, t, _evaluation(s, images, resume, say), resume)
        if config.run.keep_best and info.is_main and not resume:
            measure()  # the generator it starts from (a warm start's) is the first to beat
        stopped_by = _run_steps(s, t, measure)
        return _finish(s, t, stopped_by, measure, say)
    finally:
        ddp.shutdown(info)


def _run_steps(s: Setup, t: TrainState, measure: Callable[[], dict]) -> str:
    """Trains until the step count, the time limit or a signal; returns which ("done", "time", "SIGTERM", …)."""
    c = s.config
    stop, window = StopRequest(), LossWindow()
    progress = ProgressLine(c.run.steps, t.step, enabled=s.info.is_main)
    started = time.monotonic() - t.elapsed_s
    stopped_by = "done"
    t.G.train()
    t.D.train()
    with stop.installed():
        while t.step < c.run.steps:
            for k in range(c.loss.d_steps):
                d_loss, r1 = d_step(s, t, k)
                if r1 is not None:
                    window.add_r1(float(r1.detach()))
            g_loss = g_step(s, t)
            t.images_seen += c.optim.batch
            update_ema(t.G_ema, t.G, c.optim.ema_kimg, c.optim.batch, t.images_seen)
            t.step += 1

            d, g = float(d_loss.detach()), float(g_loss.detach())
            window.add(d, g, c.optim.batch)
            progress.update(t.step, window.images_per_second(), d, g)
            if s.info.is_main and (t.step % c.run.log_every == 0 or t.step == c.run.steps):
                append_metrics(s.run_dir, {**window.record(t.step, t.images_seen, time.monotonic() - started),
                                           **t.augment.record()})
                window = LossWindow()
            if s.info.is_main and c.run.sample_every and t.step % c.run.sample_every == 0:
                save_grid(seed_images(s.arch, t.G_ema, s.device), sample_path(s.run_dir, t.step))
            if s.info.is_main and c.run.metrics_every and t.step % c.run.metrics_every == 0 and t.step < c.run.steps:
                record = measure()
                kept = " (the best so far: kept)" if record.get("kept") else ""
                if "steeper_than_data" in record:
                    kept += f" (its normals are steeper than the data's: {record['steeper_than_data']})"
                if t.augment.adaptive:
                    kept += f" (augment p {t.augment.p:.2f})"
                progress.note(f"step {t.step}: SWD {record['swd']:.2f}, colour distance {record['colour']:.2f}, "
                              f"{measure_name(record)} {kept_by(record):.2f}{kept}")

            t.elapsed_s = time.monotonic() - started
            out_of_time = bool(c.run.max_minutes) and t.elapsed_s >= 60 * c.run.max_minutes
            halt = ddp.any_rank(stop.signal_name is not None or out_of_time, s.info, s.device)
            if halt or t.step % c.run.checkpoint_every == 0 or t.step == c.run.steps:
                checkpoint(s, t)
            if halt:
                stopped_by = stop.signal_name or "time"
                break
    progress.close()
    t.elapsed_s = time.monotonic() - started
    return stopped_by


def _setup(config: TrainConfig, device: torch.device, info: ddp.DistInfo, resume: bool) -> Setup:
    """Checks what the config alone cannot (processes, the run folder) and fixes the device."""
    if device.type == "cuda" and info.enabled:
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    if config.optim.batch % info.world_size:
        raise ConfigError(f"{flag('batch')} {config.optim.batch} must divide evenly over {info.world_size} processes")
    if config.run.threads:
        torch.set_num_threads(config.run.threads)
    run_dir = Path(config.run.out)
    if not str(config.run.out):
        raise ConfigError(f"{flag('out')} (the run folder) is required")
    if not resume and (run_dir / CHECKPOINT_NAME).exists():
        raise ConfigError(f"{run_dir} already holds a run; continue it with `train --resume {run_dir}` "
                          f"or choose another {flag('out')}")
    return Setup(config, build_arch(config), device, info, run_dir)


def _sampler(s: Setup, images: ImageSet, *reseed: int) -> CropSampler:
    """This process's crop sampler: its own stream of the run's seed (re-seeded at a step if given)."""
    d = s.config.data
    return CropSampler(images, d.crop_size, mix(s.config.run.seed, s.info.rank, _DATA_STREAM, *reseed) >> 1,
                       d.flips, d.rot90)


# The plane waves' parameters (core/periodic.py: their per-channel weights, which start at zero,
# and the map to wave vectors) learn at this multiple of G's rate. At G's own rate Adam moves a
# weight by about 2e-4 a step, and in the bricks sitting of 0.7 the waves' weights were still
# at most 0.021 after 1128 steps (scripts/wave_weights.py), beside features that PixelNorm holds near 1: the waves were
# barely used. ×10 is StyleGAN2's rate (0.002) for the same zero-started strengths.
WAVES_LR_GAIN = 10.0


def generator_groups(G: torch.nn.Module, lr: float) -> list[dict]:
    """G's parameters for its optimiser: one group, and the plane waves' in a second group at
    WAVES_LR_GAIN times the rate (its `lr_gain` key, which TrainState.set_learning_rates keeps)."""
    named = list(G.named_parameters())
    waves = [p for name, p in named if is_wave_parameter(name)]
    rest = [p for name, p in named if not is_wave_parameter(name)]
    if not waves:
        return [{"params": rest}]
    return [{"params": rest}, {"params": waves, "lr": lr * WAVES_LR_GAIN, "lr_gain": WAVES_LR_GAIN}]


def _initial_state(s: Setup, images: ImageSet, resume: bool, say: Log) -> TrainState:
    """New networks and optimisers, then either the checkpoint's state or a fresh start."""
    c = s.config
    torch.manual_seed(c.run.seed)  # the same initial weights on every rank
    G = s.arch.build_generator().to(s.device, memory_format=s.layout)
    D = s.arch.build_discriminator().to(s.device, memory_format=s.layout)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    betas = (c.optim.beta1, c.optim.beta2)
    t = TrainState(G, D, G_ema, torch.optim.Adam(generator_groups(G, c.optim.g_lr), lr=c.optim.g_lr, betas=betas),
                   torch.optim.Adam(D.parameters(), lr=c.optim.d_lr, betas=betas), _sampler(s, images),
                   AugmentStrength(c.augment.ada_target, c.augment.ada_kimg, p=0.0 if c.augment.ada_target else 1.0))
    if resume:
        ckpt = load_checkpoint(s.run_dir / CHECKPOINT_NAME)
        t.load_state_dict(ckpt)
        t.set_learning_rates(c.optim.g_lr, c.optim.d_lr)
        rngs, samplers = saved_streams(ckpt)
        if len(rngs) == s.info.world_size:
            set_rng_state(rngs[s.info.rank])
            t.sampler.set_state(samplers[s.info.rank])
        else:  # another number of processes: continue with fresh, still reproducible streams
            say(f"note: the run was saved with {len(rngs)} processes, resumed with {s.info.world_size}; "
                f"data and noise streams are re-seeded")
            torch.manual_seed(mix(c.run.seed, s.info.rank, _NOISE_STREAM, t.step) >> 1)
            t.sampler = _sampler(s, images, t.step)
        say(f"resuming {s.run_dir} at step {t.step}")
        return t
    if c.model.init_from:
        s.arch.warm_start(G, c.model.init_from, D)
        say(f"{'generator and discriminator start' if Path(c.model.init_from).is_dir() else 'generator starts'} "
            f"from {c.model.init_from}")
    ddp.broadcast_module(G, s.info)
    ddp.broadcast_module(D, s.info)
    G_ema.load_state_dict(G.state_dict())
    torch.manual_seed(mix(c.run.seed, s.info.rank, _NOISE_STREAM) >> 1)  # each rank its own noise
    return t


def _evaluation(s: Setup, images: ImageSet, resume: bool, say: Log) -> Callable[[nn.Module], dict]:
    """A generator's measurements (trainer/run_measure.py) against the same real crops and latents
    at every call; a new run first logs the real-vs-real floors."""
    if not s.info.is_main:  # only the main rank measures: spare the others drawing crops and floors
        return _measured_on_main_only
    d, count = s.config.data, s.config.run.metrics_images
    measure = RunMeasure(s.arch, images, count, d.flips, d.rot90, s.config.run.facing_at_least,
                         s.config.run.metrics_draws)
    if not resume:
        append_metrics(s.run_dir, {"step": 0, **{k: round(v, 3) for k, v in measure.floors.items()}})
        say(f"SWD real-vs-real floor ({count} vs {count} crops of {d.crop_size} px): {measure.floors['swd_floor']:.2f}")
    return lambda g: measure(g, s.device)


def _measured_on_main_only(g: nn.Module) -> dict:
    raise RuntimeError("evaluations run on the main rank only")


def _measurement(s: Setup, t: TrainState, evaluate: Callable[[nn.Module], dict], resume: bool) -> Callable[[], dict]:
    """An evaluation of G_ema logged to metrics.jsonl at the current step, whose generator is kept
    as the run's best when it is (trainer/best.py; "kept": true in its record)."""
    keeper = BestKeeper(s.run_dir, s.config.run.keep_best and s.info.is_main, resumed_at=t.step if resume else None,
                        judges_facing=facing_judgement(s.config.run.facing_at_least)
                        if "normal" in s.config.map_list() else None)
    if keeper.unjudged is not None:  # kept by a trainer that did not measure its normals' facing: now
        kept = copy.deepcopy(t.G_ema)
        kept.load_state_dict(keeper.unjudged["G_ema"])
        keeper.judge(faces_out="steeper_than_data" not in evaluate(kept))

    def measure() -> dict:
        record = {"step": t.step, **evaluate(t.G_ema)}
        if keeper.offer(t.step, kept_by(record), measure_name(record), t.G_ema,
                        faces_out="steeper_than_data" not in record):
            record["kept"] = True
        append_metrics(s.run_dir, record)
        return record

    return measure


def _finish(s: Setup, t: TrainState, stopped_by: str, measure: Callable[[], dict], say: Log) -> RunResult:
    """Final samples and metrics (unless stopped by a signal), summary.json and the closing lines."""
    digests = ddp.gather_objects(ddp.weights_digest(t.G, t.D, t.G_ema), s.info)
    result = RunResult(s.run_dir, t.step, t.images_seen, stopped_by, t.elapsed_s,
                       t.images_seen / max(t.elapsed_s, 1e-9), rank_digests=digests,
                       rank_augment_p=ddp.gather_objects(t.augment.p, s.info))
    if s.info.is_main:
        if stopped_by in ("done", "time"):
            save_grid(seed_images(s.arch, t.G_ema, s.device), sample_path(s.run_dir, None))
            result.final_metrics = measure()
        write_summary(s.run_dir, result, s.info.world_size)
        say(summary_text(result, s.run_dir))
    return result
