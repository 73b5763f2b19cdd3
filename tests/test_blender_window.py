"""The add-on in Debian's real Blender 3.4: in a window under Xvfb (the GAN Art tab, Generate,
a screenshot; once with PyTorch from another environment, once from the built zip with nothing
installed) and in background mode (NumPy, then PyTorch from another environment).

scripts/setup.sh installs blender, xvfb and xauth when it runs as root and they are missing.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from blender_ganart.core.model_catalog import BUNDLED_DIR, model_files
from helpers import node_box, overlapping

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "tests" / "blender_scripts"
SCREENSHOT_COPY = os.environ.get("GANART_SCREENSHOT_COPY")  # e.g. docs/screenshot_panel.png

pytestmark = pytest.mark.skipif(shutil.which("blender") is None or shutil.which("xvfb-run") is None,
                                reason="needs Debian's blender and xvfb-run (scripts/setup.sh installs them as root)")


def _run(command, env, cwd, timeout=240):
    out = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return out.returncode, out.stdout + out.stderr


def _assert_clean_log(log):
    assert "crash" not in log.lower(), log[-4000:]
    assert "Traceback" not in log and "Error:" not in log.replace("Error: Not freed memory", ""), log[-4000:]


def _window_session(config: dict, env: dict, tmp_path: Path) -> dict:
    """Runs window_session.py in Blender under Xvfb; its report, once it ended cleanly."""
    (tmp_path / "config.json").write_text(json.dumps(config))
    code, log = _run(["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "blender", "--factory-startup",
                      "--enable-event-simulate", "--python", str(SCRIPTS / "window_session.py"), "--",
                      str(tmp_path / "config.json")], env, tmp_path)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["errors"] == [], report["errors"]
    _assert_clean_log(log)
    assert code == 0, log[-4000:]
    return report


def test_window_tab_generate_and_screenshot(tmp_path, blender_env):
    env, model = blender_env
    from blender_ganart.core import model_catalog

    bundled = model_catalog.model_files(model_catalog.BUNDLED_DIR)
    model_id = f"bundled:{bundled[0].name}" if bundled else f"user:{model.name}"  # a real model looks best
    config = {"report": str(tmp_path / "report.json"), "site_packages": sysconfig.get_paths()["purelib"],
              "models_folder": str(model.parent), "model_id": model_id,
              "screenshot": str(tmp_path / "screenshot.png"), "node_layout": True, "open_maps": True}
    report = _window_session(config, env, tmp_path)
    assert report["invoke_result"] == ["RUNNING_MODAL"]  # the threaded path, not the synchronous one
    name = next(n for n in report["images"] if n.endswith(" 42"))
    assert report["images"][name] == [512, 512] and report["material"]
    assert "seed 42; 512×512 px in" in report["last_result"]
    assert report.get("maps_panel_drawn")  # the Maps sub-panel and its learned/derived note drew cleanly
    assert {f"{name} Normal" for name in report["images"] if name.endswith(" 42")} <= set(report["images"])
    from PIL import Image

    shot = Image.open(config["screenshot"])
    assert shot.size == (1280, 800) and np.asarray(shot.convert("L")).std() > 10  # a drawn window, not black
    if SCREENSHOT_COPY:
        shutil.copyfile(config["screenshot"], ROOT / SCREENSHOT_COPY)
    # The nodes every map and two variations add, at the sizes Blender drew them: none overlaps.
    boxes = {name: node_box(x, y, width, (drawn_w, drawn_h), report["ui_scale"])
             for name, (x, y, width, drawn_w, drawn_h) in report["nodes"].items()}
    assert sum(name.startswith("Image Texture") for name in boxes) >= 10 and len(boxes) >= 15, sorted(boxes)
    assert overlapping(boxes) == [], boxes


def test_window_built_zip_generates_without_pytorch(tmp_path, small_generator):
    """The first minute of a new user: install the zip, press Generate; nothing else installed."""
    from blender_ganart.core.model_file import ModelCard, save_model

    dist = tmp_path / "dist"
    done = subprocess.run([sys.executable, str(ROOT / "build.py"), "--out", str(dist)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (zip_path,) = dist.glob("blender_ganart-*.zip")
    models = tmp_path / "models"
    models.mkdir()
    save_model(models / "pebbles.ganart.pt", small_generator, ModelCard(name="Pebbles"))
    env = dict(os.environ, BLENDER_USER_SCRIPTS=str(tmp_path / "scripts"), BLENDER_USER_CONFIG=str(tmp_path / "config"))
    env.pop("PYTHONPATH", None)
    config = {"report": str(tmp_path / "report.json"), "install_zip": str(zip_path), "models_folder": str(models),
              "model_id": f"bundled:{model_files(BUNDLED_DIR)[0].name}",
              "screenshot": str(tmp_path / "screenshot.png")}
    report = _window_session(config, env, tmp_path)
    assert report["addon_file"].startswith(str(tmp_path / "scripts")), report["addon_file"]  # the zip's copy
    assert report["invoke_result"] == ["RUNNING_MODAL"] and not report["torch_loaded"]
    name = next(n for n in report["images"] if n.endswith(" 42"))
    assert report["images"][name] == [512, 512] and report["material"]
    assert "512×512 px in" in report["last_result"] and "with NumPy" in report["last_result"]


def test_background_without_then_with_pytorch(tmp_path, blender_env):
    env, model = blender_env
    config = {"report": str(tmp_path / "report.json"), "site_packages": sysconfig.get_paths()["purelib"],
              "model": str(model), "blend": str(tmp_path / "scene.blend")}
    (tmp_path / "config.json").write_text(json.dumps(config))
    code, log = _run(["blender", "--background", "--factory-startup", "--python",
                      str(SCRIPTS / "background_session.py"), "--", str(tmp_path / "config.json")], env, tmp_path)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["errors"] == [], report["errors"]
    assert report["enabled"] and not report["torch_before"]
    assert "PyTorch is not installed for this Python 3.11" in report["without_torch"]
    assert "Extra packages folder" in report["without_torch"] and report["unchanged_without_torch"]
    assert report["numpy_run"] == ["FINISHED"] and not report["torch_after_numpy_run"]
    assert "with NumPy; PyTorch not found" in report["numpy_result"]
    assert report["with_torch"] == ["FINISHED"] and "with PyTorch" in report["torch_result"]
    assert report["max_difference"] <= 0.5 / 255 + 1e-6
    assert report["runtimes_difference"] <= 1 / 255 + 1e-6  # 8-bit pixels: at most one step apart
    assert report["linked"] == "Pebbles 3" and report["reload_equal"]
    assert code == 0 and "crash" not in log.lower() and "Traceback" not in log, log[-4000:]


@pytest.mark.parametrize("runner", ["blender 3.4", "bpy module"])
def test_headless_example_runs(tmp_path, blender_env, runner):
    """The README's example, both ways it documents."""
    env, model = blender_env
    out = tmp_path / "example.blend"
    example = str(ROOT / "examples" / "headless_example.py")
    if runner == "blender 3.4":
        env = dict(env, PYTHONPATH=sysconfig.get_paths()["purelib"])
        command = ["blender", "--background", "--factory-startup", "--python", example, "--", str(out), str(model)]
    else:
        command = [sys.executable, example, str(out), str(model)]
    code, log = _run(command, env, tmp_path)
    assert code == 0 and "crash" not in log.lower() and "Traceback" not in log, log[-4000:]
    assert "generated 'Pebbles 42' (512, 512) into material 'Pebbles 42'" in log and out.is_file()
