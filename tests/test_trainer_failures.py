"""The trainer given folders, files and disks that cannot be used (issue 14): each is one line on
stderr with exit status 2, checked before the data folder is read, and nothing is left behind."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trainer_support import quiet, tiny_cli_args, tiny_config, write_texture_folder
from trainer.checkpoint import load_checkpoint, save_checkpoint
from trainer.cli import main
from trainer.data import load_image_folder, load_rgb
from trainer.errors import CheckpointError
from trainer.loop import train
from trainer.run_folder import CHECKPOINT_NAME, METRICS_NAME, RUN_INFO_NAME

@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_texture_folder(tmp_path_factory.mktemp("textures"))


@pytest.fixture(scope="module")
def finished_run(data, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "run"
    train(tiny_config(data, run, steps=2), log=quiet)
    return run


def _one_line_error(capsys, argv, *patterns):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for pattern in patterns:
        assert pattern in err, err
    return err


@pytest.mark.parametrize("out, message", [
    ("FILE", "is a file; give a folder"),
    ("FILE/run", "is a file, not a folder"),
    ("/proc/ganart-run", "cannot be written"),
])
def test_unusable_out_folders_are_refused_before_reading_data(data, tmp_path, capsys, out, message):
    (tmp_path / "FILE").write_text("not a folder")
    out = out.replace("FILE", str(tmp_path / "FILE"))
    missing_data = tmp_path / "no-such-data"  # reading the data would fail differently
    argv = tiny_cli_args(data, Path(out), steps=1)
    argv[argv.index(str(data))] = str(missing_data)
    _one_line_error(capsys, argv, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FILE"]


def test_g_widths_and_extra_convs_have_the_model_files_bounds(data, tmp_path, capsys):
    argv = tiny_cli_args(data, tmp_path / "run", steps=1)
    _one_line_error(capsys, argv + ["--g-widths", "1000000,8,8", "--g-extra-convs", "0,0,0"], "widths must be 0 to 4096")
    _one_line_error(capsys, argv + ["--g-widths", "8,8,8", "--g-extra-convs", "10000000,0,0"],
                    "extra_convs must be 0 to 16")
    assert not (tmp_path / "run").exists()


def test_resume_before_the_first_checkpoint_says_so_and_how_to_start_again(data, tmp_path, capsys, finished_run):
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.json", RUN_INFO_NAME):
        (run / name).write_bytes((finished_run / name).read_bytes())
    _one_line_error(capsys, ["train", "--resume", str(run)], "has no checkpoint yet", "start it again with: python -m trainer")


def test_a_partial_metrics_line_is_tolerated_and_a_damaged_run_json_is_one_line(data, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(tiny_cli_args(data, run, steps=2)) == 0
    capsys.readouterr()
    with open(run / METRICS_NAME, "a") as handle:
        handle.write('{"step": 2, "d_lo')  # a kill or a full disk in mid-line
    assert main(["train", "--resume", str(run), "--steps", "3"]) == 0
    records = [json.loads(line) for line in (run / METRICS_NAME).read_text().splitlines()]
    assert records[-1]["step"] == 3
    (run / RUN_INFO_NAME).write_text('{"train_command": "python -m tra')
    capsys.readouterr()
    _one_line_error(capsys, ["train", "--resume", str(run), "--steps", "4"], "run.json is damaged")


def test_disk_full_during_a_checkpoint_keeps_the_old_one_and_leaves_no_temporary(finished_run, tmp_path):
    """The temporary file is /dev/full, so the write fails with the real ENOSPC."""
    run = tmp_path / "run"
    run.mkdir()
    old = (finished_run / CHECKPOINT_NAME).read_bytes()
    (run / CHECKPOINT_NAME).write_bytes(old)
    (run / (CHECKPOINT_NAME + ".tmp")).symlink_to("/dev/full")
    payload = load_checkpoint(run / CHECKPOINT_NAME)
    with pytest.raises(CheckpointError, match="No space left on device.*previous checkpoint is untouched"):
        save_checkpoint(run / CHECKPOINT_NAME, {k: v for k, v in payload.items() if k not in ("format", "version")})
    assert (run / CHECKPOINT_NAME).read_bytes() == old
    assert sorted(p.name for p in run.iterdir()) == [CHECKPOINT_NAME]


def test_a_checkpoint_that_asks_to_build_objects_is_refused_without_torchs_unsafe_advice(tmp_path):
    import torch

    path = tmp_path / CHECKPOINT_NAME
    torch.save({"format": "ganart.trainer.checkpoint", "surprise": Path("x")}, path)
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(path)
    message = str(raised.value)
    assert "refused" in message and len(message.splitlines()) == 1
    assert not any(advice in message for advice in ("weights_only", "can still be loaded", "trust"))


@pytest.mark.parametrize("out, message", [
    ("noext", "must end in .ganart.pt"),
    ("/proc/model.ganart.pt", "cannot be written"),
])
def test_export_to_an_unusable_out_is_one_line(finished_run, capsys, out, message):
    _one_line_error(capsys, ["export", str(finished_run), "--out", out], message)
    assert not Path("noext").exists()


def test_everything_left_out_of_the_data_is_named(tmp_path):
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    pixels = np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(root / "good.png")
    Image.fromarray(pixels).save(root / "anim.gif")
    (root / "loop").symlink_to(root)
    (root / "self.png").symlink_to(root / "self.png")
    (root / "dangling.png").symlink_to(tmp_path / "gone.png")
    os.mkfifo(root / "pipe.png")
    (root / "folder.png").mkdir()
    Image.fromarray(pixels).save(root / "folder.png" / "inner.png")
    warnings = []
    images = load_image_folder(root, 32, warn=warnings.append)
    assert [p.name for p in images.paths] == ["inner.png", "good.png"]
    text = "\n".join(warnings)
    for name in ("anim.gif", "loop", "self.png", "dangling.png", "pipe.png", "folder.png"):
        assert str(root / name) in text, (name, text)


def test_unreadable_folders_and_files_are_named_as_permission_problems():
    """Root reads everything, so the folder is read with the effective user switched to nobody."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch the effective user to nobody and back")
    with tempfile.TemporaryDirectory(dir="/tmp") as top:
        root = Path(top) / "data"
        (root / "locked").mkdir(parents=True)
        pixels = np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "good.png")
        Image.fromarray(pixels).save(root / "secret.png")
        os.chmod(root / "secret.png", 0o000)
        os.chmod(root / "locked", 0o000)
        os.chmod(top, 0o755)
        warnings = []
        os.seteuid(65534)
        try:
            images = load_image_folder(root, 32, warn=warnings.append)
        finally:
            os.seteuid(0)
    assert [p.name for p in images.paths] == ["good.png"]
    text = "\n".join(warnings)
    assert f"{root / 'locked'}: it cannot be listed (Permission denied)" in text
    assert f"{root / 'secret.png'}: cannot be read: Permission denied" in text
    assert "damaged" not in text


def test_pillows_exif_warnings_name_the_file(tmp_path):
    """Pillow warns about damaged EXIF without saying which file; the trainer's warning names it."""
    # Two IFD entries: ImageDescription claiming 100 bytes the file does not have, and an orientation
    # (so exif_transpose reads the block).
    exif = (b"Exif\x00\x00II*\x00\x08\x00\x00\x00" + b"\x02\x00"
            + b"\x0e\x01\x02\x00" + (100).to_bytes(4, "little") + (30).to_bytes(4, "little")
            + b"\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00" + b"\x00\x00\x00\x00")
    path = tmp_path / "exif.jpg"
    Image.new("RGB", (40, 40), "red").save(path, exif=exif)
    warnings = []
    load_rgb(path, warnings.append)
    assert any(w.startswith(f"{path}: ") and "Skipping tag" in w for w in warnings), warnings
