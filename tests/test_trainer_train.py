"""The training loop end to end on tiny real networks and real image files: outputs, export to a
model file the add-on loads, every loss, exact resume after a kill, divergence handling."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from blender_ganart.core.model_file import load_model
from blender_ganart.core.synthesis import SynthesisOptions, synthesize
from helpers import ROOT
from trainer_support import quiet, tiny_cli_args, tiny_config, write_texture_folder
from trainer.checkpoint import load_checkpoint, save_checkpoint
from trainer.cli import main
from trainer.errors import ConfigError, ExportError, NonFiniteLossError
from trainer.export import export_run
from trainer.loop import train
from trainer.runs import load_run, load_run_or_model



@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_texture_folder(tmp_path_factory.mktemp("textures"))


def _weights(run_dir: Path) -> dict:
    ckpt = load_checkpoint(run_dir / "checkpoint.pt")
    return {f"{net}.{k}": v for net in ("G", "D", "G_ema") for k, v in ckpt[net].items()}


def _assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs"


def test_cli_run_writes_checkpoint_metrics_samples_and_exports_a_loadable_model(data, tmp_path, capsys):
    run = tmp_path / "run"
    args = tiny_cli_args(data, run, steps=6) + ["--sample-every", "3", "--metrics-every", "3"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "SWD real-vs-real floor" in err and "export with:" in err
    for name in ("config.json", "run.json", "checkpoint.pt", "metrics.jsonl", "summary.json",
                 "samples/step_0000003.png", "samples/step_0000006.png", "samples/final.png"):
        assert (run / name).is_file(), name
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "d_loss" in r] == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in records if "swd" in r] == [3, 6]
    assert records[0]["swd_floor"] > 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["step"] == 6 and summary["stopped_by"] == "done" and summary["final_metrics"]["swd"] > 0

    model_path = tmp_path / "tiny.ganart.pt"
    assert main(["export", str(run), "--out", str(model_path), "--name", "Tiny stripes",
                 "--description", "test", "--license", "CC0-1.0"]) == 0
    model = load_model(model_path)
    card = model.card
    assert (card.name, card.data_license, card.native_size, card.training_steps) == ("Tiny stripes", "CC0-1.0", 32, 6)
    assert card.training_command.startswith("python -m trainer train --data")
    assert "6 images from" in card.training_data
    # The EMA generator with its batch norm re-estimated and folded into the convs, as float16.
    ema = load_run(run).generator.state_dict()
    assert "levels.0.0.bn.weight" in load_checkpoint(run / "checkpoint.pt")["G_ema"]
    for name, tensor in model.generator.state_dict().items():
        assert torch.allclose(tensor, ema[name].half().float())
    texture = synthesize(model, SynthesisOptions(seed=3, width=64, height=48))
    assert texture.shape == (48, 64, 3)

    assert main(["sample", str(model_path), "--seeds", "0-3", "--repeat", "2", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").is_file()
    assert main(["eval", str(run), "--images", "8", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["swd_full"] > 0 and result["swd_full_floor"] > 0 and result["crops"] == 8
    assert result["full_ratio"] == result["swd_full"] / result["swd_full_floor"]
    assert result["lattice"] > 0 and result["lattice_real"] > 0
    assert result["seam"] < 1.5  # tileable textures wrap without a visible seam


def test_export_keeps_raw_and_ema_generators_apart(data, tmp_path):
    run = tmp_path / "run"
    train(tiny_config(data, run, steps=4), log=quiet)
    _, card = export_run(run, tmp_path / "ema.ganart.pt", data_license="")
    export_run(run, tmp_path / "raw.ganart.pt", use_ema=False)
    assert "not stated" in card.data_license
    ema, raw = load_model(tmp_path / "ema.ganart.pt"), load_model(tmp_path / "raw.ganart.pt")
    assert any(not torch.equal(a, b) for a, b in zip(ema.generator.parameters(), raw.generator.parameters()))


def _score(record: dict) -> float:
    """What --keep-best ranks by, recomputed from the record: each scale's SWD over its floor."""
    return record["full_ratio"] + record.get("coarse_ratio", 0.0)


def test_keep_best_keeps_the_best_generator_by_swd_over_floor_and_export_takes_it(data, tmp_path, capsys):
    """--keep-best measures the starting generator, every --metrics-every steps and the last, and
    keeps the one with the lowest SWD over its floor: the very weights the run had at that step
    (a run stopped there has them in its checkpoint). Export takes it and says so on the card;
    --last does not."""
    run = tmp_path / "run"
    train(tiny_config(data, run, steps=8, metrics_every=2, keep_best=True), log=quiet)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    measured = [r for r in records if "swd" in r]
    assert [r["step"] for r in measured] == [0, 2, 4, 6, 8]
    assert all(r["full_ratio"] > 0 and "coarse_ratio" not in r for r in measured)  # no image is 4 crops wide
    running_best = [r["step"] for i, r in enumerate(measured) if _score(r) < min([_score(m) for m in measured[:i]] + [1e9])]
    assert [r["step"] for r in measured if r.get("kept")] == running_best
    best = min(measured, key=_score)
    kept = load_checkpoint(run / "best.pt")
    assert (kept["step"], round(kept["score"], 3), kept["measure"]) == (best["step"], _score(best), "SWD ÷ floor, full density")

    short = tmp_path / "short"  # the same run, stopped at the kept step
    train(tiny_config(data, short, steps=max(best["step"], 1), metrics_every=2, keep_best=True), log=quiet)
    at_step = load_checkpoint(short / "checkpoint.pt")["G_ema"]
    assert all(torch.equal(kept["G_ema"][k], at_step[k]) for k in at_step) or best["step"] == 0

    _, card = export_run(run, tmp_path / "best.ganart.pt")
    assert card.training_steps == best["step"]
    assert (f"exported the best by SWD it kept: step {best['step']} of 8 (SWD ÷ floor, full density {kept['score']:.2f})"
            in card.training_command)
    _, last = export_run(run, tmp_path / "last.ganart.pt", best=False)
    assert last.training_steps == 8 and "exported the best" not in last.training_command
    assert main(["export", str(run), "--out", str(tmp_path / "cli.ganart.pt"), "--last"]) == 0
    assert load_model(tmp_path / "cli.ganart.pt").card.training_steps == 8
    # sample and eval judge the generator export writes, and say so; --last the checkpoint's.
    assert load_run_or_model(run).step == best["step"] and load_run_or_model(run, best=False).step == 8
    assert main(["sample", str(run), "--seeds", "0", "--size", "32", "--out", str(tmp_path / "s.png")]) == 0
    assert f"the best generator the run kept (step {best['step']} of 8" in capsys.readouterr().err
    assert main(["sample", str(run), "--seeds", "0", "--size", "32", "--out", str(tmp_path / "s.png"), "--last"]) == 0
    assert "the best generator" not in capsys.readouterr().err


def test_keep_best_counts_the_structure_scale_where_the_data_is_four_crops_wide(tmp_path):
    """With images at least 4 crops wide, each evaluation also judges 4×-larger generated crops,
    box-downscaled, against the data's (the report's structure scale), and keeps the step with
    the lowest sum of both ratios; the floors are logged once, at the start."""
    data = write_texture_folder(tmp_path / "large", count=4, size=(80, 72))
    run = tmp_path / "run"
    train(tiny_config(data, run, steps=4, metrics_every=2, keep_best=True, crop_size=16), log=quiet)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    floors = [r for r in records if "full_floor" in r]
    assert len(floors) == 1 and floors[0]["step"] == 0 and floors[0]["coarse_floor"] > 0
    measured = [r for r in records if "swd" in r]
    assert all(r["coarse_ratio"] > 0 for r in measured)
    best = min(measured, key=_score)
    kept = load_checkpoint(run / "best.pt")
    assert (kept["step"], kept["measure"]) == (best["step"], "SWD ÷ floor, full density + 4×")
    assert kept["score"] == pytest.approx(_score(best), abs=2e-3)


def test_keep_best_on_resume_drops_what_was_kept_after_the_checkpoint(data, tmp_path):
    """Steps after the checkpoint are trained again on resume, so a generator kept from them is
    dropped (here a planted one nothing could beat); a new run's folder keeps none from before;
    one kept by an older trainer (ranked by plain SWD) is replaced at the next evaluation."""
    from trainer.checkpoint import save_checkpoint

    run = tmp_path / "run"
    train(tiny_config(data, run, steps=4, metrics_every=2, keep_best=True), log=quiet)
    planted = dict(load_checkpoint(run / "best.pt"), step=5, score=0.0)
    save_checkpoint(run / "best.pt", planted)
    train(tiny_config(data, run, steps=6, metrics_every=2, keep_best=True), resume=True, log=quiet)
    assert load_checkpoint(run / "best.pt")["score"] > 0
    # A planted one at or before the checkpoint's step stays: nothing beats a score of 0.
    save_checkpoint(run / "best.pt", dict(planted, step=6))
    train(tiny_config(data, run, steps=8, metrics_every=2, keep_best=True), resume=True, log=quiet)
    assert (load_checkpoint(run / "best.pt")["step"], load_checkpoint(run / "best.pt")["score"]) == (6, 0.0)
    # An older trainer's file, kept by an SWD of 0, is not comparable: the next evaluation replaces it.
    older = {"step": 8, "swd": 0.0, "G_ema": planted["G_ema"]}
    save_checkpoint(run / "best.pt", older)
    assert load_run(run, best=True).info["best"]["measure"] == "SWD"
    train(tiny_config(data, run, steps=10, metrics_every=2, keep_best=True), resume=True, log=quiet)
    assert load_checkpoint(run / "best.pt")["step"] == 10 and load_checkpoint(run / "best.pt")["score"] > 0
    # Without --keep-best nothing is kept, and a new run's folder drops one an attempt stopped
    # before its first checkpoint left (export would take it otherwise).
    (tmp_path / "plain").mkdir()
    save_checkpoint(tmp_path / "plain" / "best.pt", planted)
    train(tiny_config(data, tmp_path / "plain", steps=4, metrics_every=2), log=quiet)
    assert not (tmp_path / "plain" / "best.pt").exists()


@pytest.mark.parametrize("arch", ["dcgan", "mlp"])
def test_comparison_archs_train_and_sample_but_export_is_refused(data, tmp_path, arch, capsys):
    run = tmp_path / arch
    train(tiny_config(data, run, arch=arch, steps=2), log=quiet)
    assert (run / "samples" / "final.png").is_file()
    with pytest.raises(ExportError, match="only the texture generator"):
        export_run(run, tmp_path / "x.ganart.pt")
    assert main(["export", str(run), "--out", str(tmp_path / "x.ganart.pt")]) == 2
    assert "only the texture generator" in capsys.readouterr().err
    assert main(["sample", str(run), "--seeds", "1,2"]) == 0


@pytest.mark.parametrize("loss", ["ns", "minimax", "hinge", "lsgan", "wgan-gp"])
def test_every_loss_trains_with_finite_values(data, tmp_path, loss):
    result = train(tiny_config(data, tmp_path / "run", steps=2, loss=loss, d_steps=2, r1_every=1), log=quiet)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r for r in records if "d_loss" in r]
    assert result.step == 2 and len(losses) == 2
    assert all(torch.isfinite(torch.tensor([r["d_loss"], r["g_loss"]])).all() for r in losses)


def test_same_seed_gives_identical_weights_on_cpu_and_another_seed_does_not(data, tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        train(tiny_config(data, tmp_path / name, steps=3, seed=seed), log=quiet)
    _assert_same_weights(_weights(tmp_path / "a"), _weights(tmp_path / "b"))
    assert not torch.equal(_weights(tmp_path / "a")["G.to_output.weight"], _weights(tmp_path / "c")["G.to_output.weight"])


@pytest.mark.parametrize("arch", ["texture", "dcgan"])
def test_evaluations_leave_the_training_as_it_was(data, tmp_path, arch):
    """Measuring a run (every --metrics-every steps, and --keep-best's start) draws nothing from
    the training's random streams: a run measured every step ends with the weights of one never
    measured. The batch-norm-folded generator each evaluation builds drew its throwaway initial
    weights from torch's global RNG, so --metrics-every changed what a run learned, and an
    evaluation on resume (trainer/best.py's judge) set the run on another course."""
    train(tiny_config(data, tmp_path / "plain", arch=arch, steps=4, metrics_every=0), log=quiet)
    train(tiny_config(data, tmp_path / "measured", arch=arch, steps=4, metrics_every=1, keep_best=True), log=quiet)
    _assert_same_weights(_weights(tmp_path / "plain"), _weights(tmp_path / "measured"))


@pytest.mark.parametrize("arch", ["texture", "dcgan"])
def test_stop_and_resume_equals_an_uninterrupted_run(data, tmp_path, arch):
    train(tiny_config(data, tmp_path / "whole", arch=arch, steps=7), log=quiet)
    train(tiny_config(data, tmp_path / "split", arch=arch, steps=3), log=quiet)  # checkpoint at step 3
    result = train(tiny_config(data, tmp_path / "split", arch=arch, steps=7), resume=True, log=quiet)
    assert result.step == 7
    _assert_same_weights(_weights(tmp_path / "whole"), _weights(tmp_path / "split"))
    lines = (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()
    steps = [json.loads(line)["step"] for line in lines if "d_loss" in line]
    assert steps == [1, 2, 3, 4, 5, 6, 7]  # nothing logged twice


def test_adaptive_augmentation_moves_p_logs_it_and_resumes_bit_exactly(data, tmp_path):
    """--ada-target: p starts at 0 and moves by the images seen over --ada-kimg thousand every 4 D
    steps, up while D's E[sign D(real)] is above the target and down (to no lower than 0) below it,
    as metrics.jsonl shows; a run stopped between two adjustments (step 6 of 12) and resumed ends
    with the weights and the p of a run never stopped."""
    ada = dict(augment="translation,color,cutout", ada_target=0.01, ada_kimg=0.05)
    train(tiny_config(data, tmp_path / "whole", steps=12, **ada), log=quiet)
    train(tiny_config(data, tmp_path / "split", steps=6, **ada), log=quiet)
    assert load_checkpoint(tmp_path / "split" / "checkpoint.pt")["augment"]["steps"] == 2
    train(tiny_config(data, tmp_path / "split", steps=12, **ada), resume=True, log=quiet)
    _assert_same_weights(_weights(tmp_path / "whole"), _weights(tmp_path / "split"))
    whole = load_checkpoint(tmp_path / "whole" / "checkpoint.pt")["augment"]
    assert whole == load_checkpoint(tmp_path / "split" / "checkpoint.pt")["augment"]
    records = [json.loads(line) for line in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()]
    records = [r for r in records if "d_loss" in r]
    assert [r["augment_p"] for r in records[:3]] == [0.0] * 3 and "d_real_sign" not in records[2]
    p = 0.0
    for r in records[3::4]:  # steps 4, 8, 12: 16 real crops each time, 0.32 of the way from 0 to 1
        p = min(1.0, max(0.0, p + (0.32 if r["d_real_sign"] > 0.01 else -0.32)))
        assert r["augment_p"] == pytest.approx(p, abs=1e-4)
    assert whole["p"] == pytest.approx(p) and p > 0  # this tiny D is sure of the reals by step 12


def test_d_loss_windows_reads_a_runs_logged_losses_and_p_window_by_window(data, tmp_path, capsys):
    """scripts/d_loss_windows.py: each window's mean, lowest and highest logged D loss are those of
    the run's metrics.jsonl lines in it, and p is the window's last where the run adapted it."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import d_loss_windows

    run = tmp_path / "run"
    train(tiny_config(data, run, steps=10, augment="translation,cutout", ada_target=0.01, ada_kimg=0.05), log=quiet)
    records = d_loss_windows.loss_records(run)
    assert [r["step"] for r in records] == list(range(1, 11))
    assert [(first, last) for first, last, _ in d_loss_windows.windows(records, 4, 10)] == [(1, 4), (5, 8), (9, 10)]
    assert d_loss_windows.main([str(run), "--window", "4", "--up-to", "8"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert [row[1] for row in rows] == ["1-4", "5-8"]
    second = [r["d_loss"] for r in records[4:8]]
    assert [float(v) for v in rows[1][2:5]] == pytest.approx([sum(second) / 4, min(second), max(second)], abs=6e-4)
    assert float(rows[1][5]) == pytest.approx(records[7]["augment_p"], abs=6e-3)


def test_adaptive_augmentation_can_start_on_resume_from_every_image_augmented(data, tmp_path):
    """A run whose D won is continued with --ada-target: the option is resumable, and p goes on
    from 1 (what the run did until then) rather than dropping the augmentation at once."""
    run = tmp_path / "run"
    assert main(tiny_cli_args(data, run, steps=3)) == 0
    assert load_checkpoint(run / "checkpoint.pt")["augment"]["p"] == 1.0
    assert main(["train", "--resume", str(run), "--steps", "8", "--ada-target", "0.9", "--ada-kimg", "0.1"]) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if "d_loss" in line]
    assert [("augment_p" in r) for r in records] == [False] * 3 + [True] * 5
    assert records[3]["augment_p"] == 1.0 and records[-1]["augment_p"] < 1.0  # 0.96 or 1.04 → held at 1: moved down
    assert json.loads((run / "config.json").read_text())["augment"]["ada_target"] == 0.9


def test_a_checkpoint_from_before_adaptive_augmentation_resumes_as_augmenting_every_image(data, tmp_path):
    """Checkpoints written before p existed have no `augment` entry; their runs applied every
    augmentation to every image, so a resume with --ada-target starts p from 1."""
    run = tmp_path / "run"
    assert main(tiny_cli_args(data, run, steps=3)) == 0
    payload = load_checkpoint(run / "checkpoint.pt")
    del payload["augment"]
    save_checkpoint(run / "checkpoint.pt", {k: v for k, v in payload.items() if k not in ("format", "version")})
    assert main(["train", "--resume", str(run), "--steps", "4", "--ada-target", "0.9"]) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if "d_loss" in line]
    assert records[-1]["augment_p"] == 1.0 and load_checkpoint(run / "checkpoint.pt")["augment"]["steps"] == 1


def test_r1_can_start_on_resume(data, tmp_path):
    """A run whose discriminator wins is continued with R1 from its checkpoint: the penalty is
    applied (logged) from the resumed step on, and the run records the command that added it."""
    run = tmp_path / "run"
    assert main(tiny_cli_args(data, run, steps=3)) == 0
    assert main(["train", "--resume", str(run), "--steps", "6", "--r1-gamma", "1", "--r1-every", "1"]) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    with_r1 = [r["step"] for r in records if "r1" in r]
    assert with_r1 == [4, 5, 6], records
    assert json.loads((run / "config.json").read_text())["loss"]["r1_gamma"] == 1
    assert "--r1-gamma 1" in json.loads((run / "run.json").read_text())["resume_commands"][-1]["command"]


def test_sigterm_checkpoints_and_resume_continues_bit_exactly(data, tmp_path):
    """A real kill: SIGTERM to a training process at an arbitrary step, then --resume."""
    total = 60
    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "trainer", *tiny_cli_args(data, killed, steps=total)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = killed / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if metrics.exists() and '"step": 3,' in metrics.read_text():
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "stopped by SIGTERM; checkpoint saved" in err
    stopped_at = load_checkpoint(killed / "checkpoint.pt")["step"]
    assert 3 <= stopped_at < total

    assert main(["train", "--resume", str(killed)]) == 0
    train(tiny_config(data, tmp_path / "whole", steps=total), log=quiet)
    _assert_same_weights(_weights(tmp_path / "whole"), _weights(killed))
    info = json.loads((killed / "run.json").read_text())
    assert info["resume_commands"][0]["at_step"] == stopped_at


def test_a_diverging_loss_stops_with_a_clear_message_and_keeps_the_last_checkpoint(data, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(tiny_cli_args(data, run, steps=4)) == 0
    before = _weights(run)
    # Resume with an absurd learning rate: the first new step overflows.
    status = main(["train", "--resume", str(run), "--steps", "8", "--g-lr", "1e30", "--d-lr", "1e30"])
    assert status == 3
    err = capsys.readouterr().err
    assert "became NaN" in err and "last good checkpoint" in err and "(step 4)" in err
    _assert_same_weights(before, _weights(run))
    assert all(torch.isfinite(v).all() for v in before.values() if v.is_floating_point())
    # ...and the run continues from that checkpoint with sane learning rates.
    assert main(["train", "--resume", str(run), "--steps", "6", "--g-lr", "0.0005", "--d-lr", "0.0005"]) == 0
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 6


def test_non_finite_loss_raises_the_trainer_error(data, tmp_path):
    with pytest.raises(NonFiniteLossError, match="step 1"):
        train(tiny_config(data, tmp_path / "run", steps=3, g_lr=1e30, d_lr=1e30), log=quiet)
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_time_budget_stops_with_a_checkpoint(data, tmp_path):
    result = train(tiny_config(data, tmp_path / "run", steps=10_000, max_minutes=1e-6, checkpoint_every=1000), log=quiet)
    assert result.stopped_by == "time" and result.step == 1
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] == 1


def test_run_folder_mistakes_are_clear_errors(data, tmp_path, capsys):
    run = tmp_path / "run"
    train(tiny_config(data, run, steps=2), log=quiet)
    with pytest.raises(ConfigError, match="already holds a run"):
        train(tiny_config(data, run, steps=2), log=quiet)
    assert main(["train", "--resume", str(run), "--batch", "8"]) == 2
    assert "cannot change when resuming" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 2
    assert main(["train", "--out", str(tmp_path / "x")]) == 2
    assert "--data" in capsys.readouterr().err
    assert main(["export", str(run), "--out", str(tmp_path / "missing_dir" / "m.ganart.pt")]) == 2
    (run / "checkpoint.pt").write_bytes(b"PK\x03\x04 truncated")
    assert main(["export", str(run), "--out", str(tmp_path / "m.ganart.pt")]) == 2
    assert "damaged" in capsys.readouterr().err
