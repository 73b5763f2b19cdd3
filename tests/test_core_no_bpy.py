"""The core cannot import bpy: every module under blender_ganart/core/ imports in a Python where
`import bpy` fails. The list is read from the folder, so a new module is checked the day it lands."""

import subprocess
import sys

import pytest

from helpers import ROOT

CORE = ROOT / "blender_ganart" / "core"
CORE_MODULES = sorted(f"blender_ganart.core.{p.stem}" for p in CORE.glob("*.py") if p.stem != "__init__")

# sys.modules['bpy'] = None makes every `import bpy` raise ImportError, as in a Python without Blender
# (the venv has the bpy module installed, so only this makes the test able to fail).
IMPORT_WITHOUT_BPY = """
import importlib, sys
sys.modules['bpy'] = None
importlib.import_module(sys.argv[1])
loaded = [m for m in sys.modules if m.startswith('bpy') and sys.modules[m] is not None]
assert not loaded, loaded
"""


def test_the_core_folder_holds_the_compute_modules():
    assert len(CORE_MODULES) >= 20, CORE_MODULES


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_without_bpy(module):
    result = subprocess.run([sys.executable, "-c", IMPORT_WITHOUT_BPY, module], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, f"{module} needs bpy:\n{result.stderr[-2000:]}"


def test_the_check_fails_for_a_module_that_imports_bpy(tmp_path):
    """The guard itself: a module with `import bpy` is caught."""
    (tmp_path / "needs_bpy.py").write_text("import bpy\n")
    result = subprocess.run([sys.executable, "-c", IMPORT_WITHOUT_BPY, "needs_bpy"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode != 0 and "bpy" in result.stderr
