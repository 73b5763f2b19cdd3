"""Full materials in Debian's real Blender 3.4 (background mode): the oldest Blender supported has
the Mix node's 'A_Color'/'B_Color' sockets and keeps the displacement method under
material.cycles; every map must be wired there as in 4.5."""

import json
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("blender") is None, reason="needs Debian's blender")


def test_every_map_wired_in_blender_3_4(tmp_path, blender_env):
    env, model = blender_env
    config = {"report": str(tmp_path / "report.json"), "site_packages": sysconfig.get_paths()["purelib"],
              "model": str(model)}
    (tmp_path / "config.json").write_text(json.dumps(config))
    out = subprocess.run(["blender", "--background", "--factory-startup", "--python",
                          str(ROOT / "tests" / "blender_scripts" / "maps_session.py"), "--",
                          str(tmp_path / "config.json")], env=env, capture_output=True, text=True, timeout=300)
    report = json.loads((tmp_path / "report.json").read_text())
    assert not report["errors"], report["errors"][0] + out.stdout[-2000:]
    links = {tuple(link) for link in report["links"]}
    assert ("TEX_IMAGE", "Pebbles 4", "Color", "MIX", "A_Color") in links
    assert ("TEX_IMAGE", "Pebbles 4 AO", "Color", "MIX", "B_Color") in links
    assert ("MIX", None, "Result_Color", "BSDF_PRINCIPLED", "Base Color") in links
    assert ("TEX_IMAGE", "Pebbles 4 Roughness", "Color", "BSDF_PRINCIPLED", "Roughness") in links
    assert ("TEX_IMAGE", "Pebbles 4 Normal", "Color", "NORMAL_MAP", "Color") in links
    assert ("NORMAL_MAP", None, "Normal", "BSDF_PRINCIPLED", "Normal") in links
    assert ("TEX_IMAGE", "Pebbles 4 Height", "Color", "DISPLACEMENT", "Height") in links
    assert ("DISPLACEMENT", None, "Displacement", "OUTPUT_MATERIAL", "Displacement") in links
    # two presses: the helper and map nodes were reused, only a second colour node was added
    assert report["node_types"].count("TEX_IMAGE") == 6 and report["node_types"].count("MIX") == 1
    assert report["displacement_method"] == "DISPLACEMENT"
    assert report["colour_spaces"]["Pebbles 4"] == "sRGB"
    maps = {space for name, space in report["colour_spaces"].items() if name.count(" ") == 2}  # "Pebbles 4 AO"
    assert maps == {"Non-Color"}
