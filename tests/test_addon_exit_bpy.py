"""A script that registers the add-on in the `bpy` module (4.5) must exit, with its own status.

bpy 4.5 hangs at interpreter exit (every thread in a futex wait) while a PropertyGroup with a
Python callback is still registered; a CI job would then sit until its time limit. Each way out of
a script is run in its own process with a timeout.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("bpy")

ROOT = Path(__file__).resolve().parents[1]

ENDINGS = {
    "normal end": ("print('done')", 0),
    "uncaught exception": ("raise RuntimeError('boom')", 1),
    "sys.exit(3)": ("import sys; sys.exit(3)", 3),
}
ENABLES = {
    "register()": "import blender_ganart; blender_ganart.register()",
    "addon_utils.enable": "import addon_utils; addon_utils.enable('blender_ganart', default_set=True)",
}


@pytest.mark.parametrize("enable", ENABLES, ids=list(ENABLES))
@pytest.mark.parametrize("ending", ENDINGS, ids=list(ENDINGS))
def test_script_that_registered_the_addon_exits_with_its_status(enable, ending):
    body, status = ENDINGS[ending]
    script = f"import bpy\n{ENABLES[enable]}\nassert hasattr(bpy.types.Scene, 'ganart')\n{body}\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the script ({ending}) did not exit within 60 s")
    assert done.returncode == status, done.stderr[-2000:]


def test_unregister_before_the_end_still_exits_cleanly():
    script = "import bpy, blender_ganart\nblender_ganart.register()\nblender_ganart.unregister()\n"
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
