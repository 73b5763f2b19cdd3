"""build.py: the zip it writes installs in real Blenders, and what it refuses, it refuses clearly.

Most tests build from a copy of the add-on in a temporary folder with one tiny real model, so
they can plant junk, break the manifest or remove the model without touching the repository.
The install tests run Blender in a subprocess with its user folders pointed at temporary ones,
so nothing is installed into the developer's own Blender.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import build

ROOT = Path(__file__).resolve().parents[1]
MARK = "GANART_TEST_RESULT "


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture()
def source(tmp_path, small_generator):
    """A copy of the add-on's sources with one tiny model and its note, as the build sees them."""
    from blender_ganart.core.model_file import ModelCard, save_model

    tree = tmp_path / "src"
    shutil.copytree(ROOT / build.PACKAGE, tree / build.PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.ganart.pt", "*.tmp"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    models = tree / build.PACKAGE / "models"
    models.mkdir(exist_ok=True)
    save_model(models / "tiny.ganart.pt", small_generator, ModelCard(name="Tiny Test", native_size=32))
    (models / "README.md").write_text("Tiny Test: random weights, for tests only.\n")
    return tree


def manifest_path(tree: Path) -> Path:
    return tree / build.PACKAGE / build.MANIFEST_NAME


def edit_manifest(tree: Path, old: str, new: str) -> None:
    path = manifest_path(tree)
    text = path.read_text()
    assert old in text, f"test setup: {old!r} not in the manifest"
    path.write_text(text.replace(old, new))


def user_dirs(tmp_path: Path) -> dict[str, str]:
    """Blender's user folders redirected, so installs land in the test's own folder."""
    dirs = {name: tmp_path / "user" / name.lower() for name in
            ("BLENDER_USER_SCRIPTS", "BLENDER_USER_CONFIG", "BLENDER_USER_EXTENSIONS", "BLENDER_USER_DATAFILES")}
    for folder in dirs.values():
        folder.mkdir(parents=True)
    return {name: str(folder) for name, folder in dirs.items()}


def run_blender_script(command: list[str], script: str, tmp_path: Path, *args: str) -> dict:
    """Runs `script` in a fresh Blender process; returns the JSON it printed after MARK."""
    script_path = tmp_path / "blender_script.py"
    script_path.write_text(script)
    env = {**os.environ, **user_dirs(tmp_path)}
    done = subprocess.run([*command, str(script_path), "--", *args], env=env, capture_output=True,
                          text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    assert lines, f"no result (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"Blender exited with {done.returncode} after the checks:\n{done.stderr[-3000:]}"
    return json.loads(lines[-1][len(MARK):])


BPY_MODULE = [sys.executable]  # the bpy module: a Python that can `import bpy`

# Shared by the install scripts: a plane to put the texture on, the operator, what it made.
GENERATE_AND_REPORT = r'''
def generate_and_report(result, seed):
    import numpy as np
    bpy.ops.mesh.primitive_plane_add()
    outcome = bpy.ops.ganart.generate(seed=seed, width=48, height=32)
    images = [img for img in bpy.data.images if img.name.startswith("Tiny Test")]
    result["generate"] = sorted(outcome)
    result["images"] = [[img.name, list(img.size)] for img in images]
    if images:
        pixels = np.empty(len(images[0].pixels), dtype=np.float32)
        images[0].pixels.foreach_get(pixels)
        result["pixel_std"] = float(pixels.reshape(-1, 4)[:, :3].std())
    material = bpy.context.object.active_material
    result["material_images"] = sorted(
        node.image.name for node in material.node_tree.nodes if node.type == "TEX_IMAGE" and node.image
    ) if material else []
'''


def assert_generated(result: dict) -> None:
    assert result["generate"] == ["FINISHED"]
    assert result["images"] and result["images"][0][1] == [48, 32]
    assert result["material_images"] == [result["images"][0][0]]
    assert result["pixel_std"] > 1e-3, "the generated image is flat"


# ---------------------------------------------------------------------------------------------
# What goes into the zip


def test_zip_holds_the_addon_and_models_and_nothing_else(source, tmp_path):
    package = source / build.PACKAGE
    (package / "__pycache__").mkdir(exist_ok=True)
    (package / "__pycache__" / "api.cpython-311.pyc").write_bytes(b"\0")
    (package / "tests").mkdir()
    (package / "tests" / "test_x.py").write_text("")
    (package / "operators.py.orig").write_text("")
    (package / ".DS_Store").write_bytes(b"\0")
    (package / "models" / "run_step_4000.pt").write_bytes(b"checkpoint")
    (package / "models" / "half.ganart.pt.tmp").write_bytes(b"partial")

    [zip_path] = build.build(source, tmp_path / "dist")

    assert zip_path.name == "blender_ganart-0.1.0.zip"
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        assert archive.testzip() is None
        assert archive.read("blender_ganart/models/tiny.ganart.pt") == (package / "models" / "tiny.ganart.pt").read_bytes()
    expected = {f"blender_ganart/{p.relative_to(package).as_posix()}" for p in package.rglob("*.py")
                if "__pycache__" not in p.parts and "tests" not in p.parts}
    expected |= {"blender_ganart/blender_manifest.toml", "blender_ganart/models/tiny.ganart.pt",
                 "blender_ganart/models/README.md"}
    assert set(names) == expected
    assert names == sorted(names)


def test_same_sources_give_the_same_bytes(source, tmp_path):
    first = build.build(source, tmp_path / "one")[0].read_bytes()
    # Touch every file, change permissions, rewrite a file with the same content: none may show.
    for path in (source / build.PACKAGE).rglob("*"):
        if path.is_file():
            os.utime(path, (1_900_000_000, 1_900_000_000))
            path.chmod(0o600)
    api = source / build.PACKAGE / "api.py"
    api.write_bytes(api.read_bytes())
    second = build.build(source, tmp_path / "two")[0].read_bytes()
    assert first == second

    with zipfile.ZipFile(tmp_path / "two" / "blender_ganart-0.1.0.zip") as archive:
        for info in archive.infolist():
            assert info.date_time == build.FIXED_ZIP_TIME
            assert (info.external_attr >> 16) & 0o777 == 0o644


def test_the_repository_builds_with_every_bundled_model(tmp_path):
    """The real build, from the real sources: it needs at least one bundled model."""
    [zip_path] = build.build(ROOT, tmp_path)
    bundled = sorted(p.name for p in (ROOT / build.PACKAGE / "models").glob("*.ganart.pt"))
    with zipfile.ZipFile(zip_path) as archive:
        shipped = sorted(Path(n).name for n in archive.namelist() if n.endswith(".ganart.pt"))
    assert bundled and shipped == bundled


# ---------------------------------------------------------------------------------------------
# Refusals


@pytest.mark.parametrize(
    "old, new, error, words",
    [
        ('tagline = ', 'taglin = ', build.ManifestError, 'missing "tagline"'),
        ('id = "blender_ganart"\n', '', build.ManifestError, 'missing "id"'),
        ('version = "0.1.0"', 'version = 0.1.0', build.ManifestError, "not valid TOML"),
        ('version = "0.1.0"', 'version = "0.2.0"', build.VersionMismatchError, "bl_info in __init__.py says 0.1.0"),
        ('type = "add-on"', 'type = "theme"', build.ManifestError, "must be \"add-on\""),
        ('blender_version_min = "4.2.0"', 'blender_version_min = "3.4.0"', build.ManifestError, "4.2.0 or later"),
        ('license = ["SPDX:GPL-3.0-or-later"]', 'license = ["MIT"]', build.ManifestError,
         'must include "SPDX:GPL-3.0-or-later"'),
        ('tagline = "', 'tagline = "A far too long tagline that goes on and on and on past the limit ', build.ManifestError,
         "no longer than 64 characters"),
        ('files = "Read generator model files and save generated textures"', 'files = "Read files."',
         build.ManifestError, "must not end with punctuation"),
        ('[permissions]\n', '[permissions]\nteleport = "Beam me up"\n', build.ManifestError,
         'value of "teleport" must be a value in'),
        ('[permissions]\nfiles = ', '[permissions]\nnetwork = ', build.ManifestError, "must ask for 'files'"),
    ],
    ids=["missing-field", "missing-id", "bad-toml", "version-mismatch", "wrong-type", "old-blender",
         "license-not-gpl", "long-tagline", "punctuated-permission", "unknown-permission", "no-files-permission"],
)
def test_a_broken_manifest_is_refused_with_the_reason(source, tmp_path, old, new, error, words):
    """The project's own rules refuse some; Blender's own validator, which build.py runs, the rest."""
    edit_manifest(source, old, new)
    with pytest.raises(error) as caught:
        build.build(source, tmp_path / "dist")
    assert words in str(caught.value)
    assert not (tmp_path / "dist").exists(), "nothing may be written when the build is refused"


def test_a_missing_manifest_is_refused(source, tmp_path):
    manifest_path(source).unlink()
    with pytest.raises(build.ManifestError, match="blender_manifest.toml is missing"):
        build.build(source, tmp_path)


def test_pyproject_must_agree_on_the_version(source, tmp_path):
    pyproject = source / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"', 'version = "0.1.1"', 1))
    with pytest.raises(build.VersionMismatchError, match="pyproject.toml says 0.1.1"):
        build.build(source, tmp_path)


def test_no_bundled_model_is_refused(source, tmp_path):
    (source / build.PACKAGE / "models" / "tiny.ganart.pt").unlink()
    with pytest.raises(build.BundledModelError, match="No bundled model"):
        build.build(source, tmp_path / "dist")
    assert not (tmp_path / "dist").exists()


def test_a_model_that_does_not_load_is_refused_by_name(source, tmp_path):
    model = source / build.PACKAGE / "models" / "tiny.ganart.pt"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    with pytest.raises(build.BundledModelError, match=r"tiny\.ganart\.pt does not load: .*truncated or damaged"):
        build.build(source, tmp_path / "dist")


def test_the_command_line_prints_the_refusal_and_fails(source, tmp_path):
    edit_manifest(source, 'maintainer = ', 'maintainr = ')
    done = subprocess.run([sys.executable, str(ROOT / "build.py"), "--source", str(source), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "refused" in done.stderr and 'missing "maintainer"' in done.stderr
    assert "Traceback" not in done.stderr


def test_the_command_line_needs_a_wheels_folder_for_wheels(source, tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "build.py"), "--source", str(source), "--wheels"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--wheels needs --wheels-dir" in done.stderr


# ---------------------------------------------------------------------------------------------
# Wheels


@pytest.mark.parametrize(
    "name, platforms",
    [
        ("torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl", {"linux-x64"}),
        ("torch-2.13.0+cpu-cp311-cp311-win_amd64.whl", {"windows-x64"}),
        ("numpy-1.26.4-cp311-cp311-macosx_11_0_arm64.whl", {"macos-arm64"}),
        ("numpy-1.26.4-cp311-cp311-macosx_10_9_universal2.whl", {"macos-x64", "macos-arm64"}),
        ("numpy-1.26.4-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", {"linux-arm64"}),
        ("filelock-3.13.1-py3-none-any.whl", None),
    ],
)
def test_wheel_platform_tags_map_to_blender_platforms(name, platforms):
    assert build.wheel_platforms(name) == platforms


@pytest.mark.parametrize("name", ["torch.whl", "a-1-py3-none-any.zip", "a-1-cp311-cp311-freebsd_13_amd64.whl"])
def test_unusable_wheel_names_are_refused(name):
    with pytest.raises(build.WheelsError):
        build.wheel_platforms(name)


def make_wheel(tmp_path: Path, name: str, value: str, plat_name: str | None) -> Path:
    """A real wheel of a one-module package, built by pip from local sources (no network)."""
    project = tmp_path / f"wheel-src-{name}-{plat_name}"
    (project / name).mkdir(parents=True)
    (project / name / "__init__.py").write_text(f"VALUE = {value!r}\n")
    (project / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\n[tool.setuptools]\npackages = ["{name}"]\n')
    if plat_name:
        (project / "setup.cfg").write_text(f"[bdist_wheel]\nplat_name = {plat_name}\n")
    out = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(out), str(project)], check=True, capture_output=True, timeout=300)
    [wheel] = [w for w in out.glob(f"{name}-*.whl") if (plat_name or "any") in w.name]
    return wheel


@pytest.fixture()
def wheels_dir(tmp_path):
    make_wheel(tmp_path, "ganart_probe_pure", "pure", None)
    make_wheel(tmp_path, "ganart_probe_native", "linux", "manylinux2014_x86_64")
    make_wheel(tmp_path, "ganart_probe_native", "windows", "win_amd64")
    return tmp_path / "wheels"


def test_wheels_make_one_zip_per_platform_with_its_wheels(source, tmp_path, wheels_dir):
    written = build.build(source, tmp_path / "dist", wheels_dir=wheels_dir)
    names = [p.name for p in written]
    assert names == ["blender_ganart-0.1.0.zip", "blender_ganart-0.1.0-linux_x64.zip",
                     "blender_ganart-0.1.0-windows_x64.zip"]
    import tomllib

    for path, platform_name, native in ((written[1], "linux-x64", "manylinux2014_x86_64"),
                                        (written[2], "windows-x64", "win_amd64")):
        with zipfile.ZipFile(path) as archive:
            manifest = tomllib.loads(archive.read("blender_ganart/blender_manifest.toml").decode())
            wheels = sorted(n for n in archive.namelist() if n.endswith(".whl"))
        assert manifest["platforms"] == [platform_name]
        assert manifest["permissions"] == build.read_manifest(source / build.PACKAGE)["permissions"]
        assert [w.removeprefix("./") for w in manifest["wheels"]] == [w.removeprefix("blender_ganart/") for w in wheels]
        assert len(wheels) == 2 and any(native in w for w in wheels) and any("none-any" in w for w in wheels)
    with zipfile.ZipFile(written[0]) as archive:
        assert not [n for n in archive.namelist() if n.endswith(".whl")]
    again = build.build(source, tmp_path / "again", wheels_dir=wheels_dir)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in written]


def test_asking_for_a_platform_without_wheels_is_refused(source, tmp_path, wheels_dir):
    with pytest.raises(build.WheelsError, match=r"No wheels for \['macos-arm64'\]"):
        build.build(source, tmp_path / "dist", wheels_dir=wheels_dir, platforms=["macos-arm64"])


def test_an_empty_wheels_folder_is_refused(source, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(build.WheelsError, match="No .whl files"):
        build.build(source, tmp_path / "dist", wheels_dir=tmp_path / "empty")


# ---------------------------------------------------------------------------------------------
# Installing the zip in real Blenders


EXTENSION_INSTALL = r'''
import json, sys, bpy
zip_path = sys.argv[sys.argv.index("--") + 1]
result = {}
outcome = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
result["install"] = sorted(outcome)
result["addons"] = [addon.module for addon in bpy.context.preferences.addons if "ganart" in addon.module]
result["operator_module"] = bpy.types.GANART_OT_generate.__module__
''' + GENERATE_AND_REPORT + r'''
generate_and_report(result, 5)
print("GANART_TEST_RESULT " + json.dumps(result))
'''


def test_zip_installs_as_an_extension_and_generates(source, tmp_path):
    [zip_path] = build.build(source, tmp_path / "dist")
    result = run_blender_script([*BPY_MODULE], EXTENSION_INSTALL, tmp_path, str(zip_path))
    assert result["install"] == ["FINISHED"]
    assert result["addons"] == ["bl_ext.user_default.blender_ganart"]
    assert result["operator_module"].startswith("bl_ext.user_default.blender_ganart")
    assert_generated(result)
    installed = tmp_path / "user" / "blender_user_extensions"
    assert (installed / "user_default" / "blender_ganart" / "models" / "tiny.ganart.pt").is_file()


LEGACY_INSTALL = r'''
import json, sys, bpy
args = sys.argv[sys.argv.index("--") + 1:]
zip_path = args[0]
if len(args) > 1:
    sys.path.append(args[1])  # where PyTorch and NumPy are: this Blender's Python has neither
result = {"blender": list(bpy.app.version)}
result["install"] = sorted(bpy.ops.preferences.addon_install(filepath=zip_path))
result["enable"] = sorted(bpy.ops.preferences.addon_enable(module="blender_ganart"))
import blender_ganart
result["module_file"] = blender_ganart.__file__
''' + GENERATE_AND_REPORT + r'''
generate_and_report(result, 6)
print("GANART_TEST_RESULT " + json.dumps(result), flush=True)
'''


def test_zip_installs_as_a_legacy_addon_in_the_bpy_module(source, tmp_path):
    [zip_path] = build.build(source, tmp_path / "dist")
    result = run_blender_script([*BPY_MODULE], LEGACY_INSTALL, tmp_path, str(zip_path))
    assert result["install"] == ["FINISHED"] and result["enable"] == ["FINISHED"]
    assert result["module_file"].startswith(str(tmp_path / "user" / "blender_user_scripts" / "addons"))
    assert_generated(result)


@pytest.mark.skipif(shutil.which("blender") is None, reason="no Blender program (scripts/setup.sh installs Debian's)")
def test_zip_installs_as_a_legacy_addon_in_blender_3_4(source, tmp_path):
    """Debian's Blender 3.4 runs on the system Python 3.11; PyTorch comes from this venv."""
    import torch

    [zip_path] = build.build(source, tmp_path / "dist")
    site_packages = str(Path(torch.__file__).resolve().parents[1])
    command = ["blender", "--background", "--factory-startup", "--python"]
    result = run_blender_script(command, LEGACY_INSTALL, tmp_path, str(zip_path), site_packages)
    assert result["blender"][:2] < [4, 2]
    assert result["install"] == ["FINISHED"] and result["enable"] == ["FINISHED"]
    assert result["module_file"].startswith(str(tmp_path / "user" / "blender_user_scripts" / "addons"))
    assert_generated(result)


WHEELS_INSTALL = r'''
import json, sys, bpy
args = sys.argv[sys.argv.index("--") + 1:]
result = {}
for key, zip_path in zip(("windows", "linux"), args):
    outcome = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
    result[key] = [addon.module for addon in bpy.context.preferences.addons if "ganart" in addon.module]
import ganart_probe_native, ganart_probe_pure
result["native"] = ganart_probe_native.VALUE
result["pure"] = ganart_probe_pure.VALUE
result["native_file"] = ganart_probe_native.__file__
print("GANART_TEST_RESULT " + json.dumps(result))
'''


@pytest.mark.skipif(platform.system() != "Linux" or platform.machine() != "x86_64", reason="installs the linux-x64 zip")
def test_platform_zip_installs_its_wheels_and_refuses_other_platforms(source, tmp_path, wheels_dir):
    _, linux_zip, windows_zip = build.build(source, tmp_path / "dist", wheels_dir=wheels_dir)
    result = run_blender_script([*BPY_MODULE], WHEELS_INSTALL, tmp_path, str(windows_zip), str(linux_zip))
    assert result["windows"] == [], "Blender must refuse a zip made for another platform"
    assert result["linux"] == ["bl_ext.user_default.blender_ganart"]
    assert result["native"] == "linux" and result["pure"] == "pure"
    assert result["native_file"].startswith(str(tmp_path / "user" / "blender_user_extensions"))


def test_blenders_own_validator_accepts_every_zip(source, tmp_path, wheels_dir):
    written = build.build(source, tmp_path / "dist", wheels_dir=wheels_dir)
    for path in written:
        done = subprocess.run([*build.blender_validator(), str(path)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "Success" in done.stdout, done.stdout + done.stderr

    # build.py leaves the manifest's fields to this validator, so it must refuse what is wrong there:
    # a tagline ending in a full stop, in a zip build.py did not write.
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(written[0]) as original, zipfile.ZipFile(broken, "w") as copy:
        for info in original.infolist():
            data = original.read(info)
            if info.filename.endswith(build.MANIFEST_NAME):
                data = data.replace(b'generator"', b'generator."')
            copy.writestr(info, data)
    with pytest.raises(build.ManifestError, match="refused broken.zip: key \"tagline\" invalid: .*punctuation"):
        build.validate_with_blender(broken, broken.name)
