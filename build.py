"""Builds the add-on zip that installs in Blender, and refuses to build one that would not work.

    python build.py                      -> dist/blender_ganart-<version>.zip
    python build.py --wheels --wheels-dir DIR
                                         -> also dist/blender_ganart-<version>-<platform>.zip,
                                            one per platform found among DIR's wheels

One zip serves both ways of installing. It holds a single folder, `blender_ganart/`, with
`__init__.py` (bl_info) and `blender_manifest.toml` side by side: Blender 3.4-4.1 extract the zip
into their add-ons folder and find the package with bl_info; Blender 4.2+ accept an extension
zip whose manifest sits in one top-level folder and install that folder's contents.

The same sources give the same bytes: entries are sorted and carry a fixed timestamp and fixed
permissions, and nothing from the build machine (owner, time, cache files) gets in. Before
anything reaches the output folder: the manifest must keep this project's rules (the ones
Blender's validator cannot know), the versions in the manifest, bl_info and pyproject.toml must
agree, every bundled model must load with the add-on's own loader, and every zip must pass
Blender's own extension validator (`blender --command extension validate`, run from the bpy
module's copy of it), which checks the manifest's fields the way Blender will when installing.

`--wheels` is for users whose Blender has no PyTorch: Blender 4.2+ installs the wheels listed in
an extension's manifest. Wheels are taken from a local folder (nothing is downloaded here), for
example one filled with
    pip download torch==2.13.0 --only-binary=:all: --python-version 3.11 \
        --platform manylinux_2_28_x86_64 --index-url https://download.pytorch.org/whl/cpu -d DIR
and each platform gets its own zip with its wheels plus the platform-independent ones.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

try:  # the project's environment (scripts/setup.sh): the add-on's model loader and PyTorch, packaging, tomli-w
    import tomli_w
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    from blender_ganart.core.errors import ModelFileError
    from blender_ganart.core.model_file import MODEL_SUFFIX, load_model
except ImportError as missing:
    sys.exit(f"build.py: needs the project's Python (.venv/bin/python build.py; scripts/setup.sh makes it): {missing}")

PACKAGE = "blender_ganart"
MANIFEST_NAME = "blender_manifest.toml"
MODELS_DIR = "models"

# 1980-01-01 is the earliest time a zip entry can hold; any fixed time makes the bytes repeatable.
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
ZIP_LEVEL = 9

KNOWN_PLATFORMS = ("windows-x64", "windows-arm64", "macos-x64", "macos-arm64", "linux-x64", "linux-arm64")
LICENSE = "SPDX:GPL-3.0-or-later"  # Blender add-ons are GPL
# A wheel's platform tag (win_amd64, manylinux_2_28_x86_64, macosx_11_0_universal2) → Blender's names.
WHEEL_SYSTEMS = (("win", "windows"), ("macosx", "macos"), ("manylinux", "linux"), ("musllinux", "linux"),
                 ("linux", "linux"))
WHEEL_MACHINES = (("_x86_64", ("x64",)), ("_amd64", ("x64",)), ("_arm64", ("arm64",)), ("_aarch64", ("arm64",)),
                  ("_universal2", ("x64", "arm64")))
# Blender's extension tool, as the bpy module ships it (bpy/<version>/scripts/...).
VALIDATOR_GLOB = "*/scripts/addons_core/bl_pkg/cli/blender_ext.py"

# Never shipped: interpreter caches, editor and merge leftovers, half-written files, and
# anything a developer keeps beside the add-on (tests, build output, stale wheel folders).
EXCLUDED_DIRS = {"__pycache__", "tests", "test", "build", "dist", "wheels", ".git", ".pytest_cache"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".tmp", ".orig", ".rej", ".swp", ".bak", "~", ".blend1")
MODEL_NOTE_SUFFIXES = (".md", ".txt", ".json")  # model cards, licence notes beside the models


class BuildError(Exception):
    """Base of every refusal; main() prints the message and exits with status 1."""


class ManifestError(BuildError):
    """blender_manifest.toml is missing, is not TOML, breaks a project rule, or Blender refuses it."""


class VersionMismatchError(BuildError):
    """The version is written in several files and they disagree."""


class BundledModelError(BuildError):
    """There is no bundled model, or one of them does not load."""


class WheelsError(BuildError):
    """The wheels folder is missing, empty, or holds a file that is not a usable wheel."""


@dataclass(frozen=True)
class Entry:
    """One file in the zip: its name inside the archive and its bytes."""

    arcname: str
    data: bytes


# ---- Checks ----------------------------------------------------------------------------------


def read_manifest(package_dir: Path) -> dict:
    path = package_dir / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(f"{path} is missing; Blender 4.2+ needs it to install the add-on.")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path} is not valid TOML: {exc}") from None


def check_manifest(manifest: dict) -> None:
    """This project's rules, which Blender's validator cannot know; it checks each field's form."""
    problems = []
    if manifest.get("id", PACKAGE) != PACKAGE:
        problems.append(f"'id' is {manifest['id']!r}; it must be the package folder's name {PACKAGE!r}")
    if manifest.get("type", "add-on") != "add-on":
        problems.append(f"'type' is {manifest['type']!r}; it must be \"add-on\"")
    minimum = str(manifest.get("blender_version_min", "4.2.0")).split(".")
    if all(part.isdigit() for part in minimum) and tuple(map(int, minimum)) < (4, 2):
        problems.append("'blender_version_min' must be 4.2.0 or later (extensions began with Blender 4.2)")
    if LICENSE not in manifest.get("license", [LICENSE]):
        problems.append(f"'license' must include \"{LICENSE}\" (Blender add-ons are GPL)")
    if "files" not in manifest.get("permissions", {"files": ""}):
        problems.append("'permissions' must ask for 'files': the add-on reads model files and writes images")
    if "wheels" in manifest:
        problems.append("leave 'wheels' out of the source manifest; build.py --wheels writes it into each platform's zip")
    platforms = manifest.get("platforms", [])
    problems += [f"unknown platform {p!r}; known: {', '.join(KNOWN_PLATFORMS)}"
                 for p in (platforms if isinstance(platforms, list) else []) if p not in KNOWN_PLATFORMS]
    if problems:
        raise ManifestError(f"{MANIFEST_NAME} is not usable: " + "; ".join(problems) + ".")


def bl_info_version(package_dir: Path) -> str:
    """Read without importing: bl_info must be a literal (legacy Blender parses it the same way)."""
    init = package_dir / "__init__.py"
    if not init.is_file():
        raise BuildError(f"{init} is missing; it is the add-on's entry point.")
    tree = ast.parse(init.read_text(encoding="utf-8"), filename=str(init))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["bl_info"]:
            try:
                version = ast.literal_eval(node.value)["version"]
            except (ValueError, KeyError, TypeError):
                break
            return ".".join(str(part) for part in version)
    raise VersionMismatchError(f"{init} has no literal bl_info with a 'version'.")


def pyproject_version(root: Path) -> str | None:
    path = root / "pyproject.toml"
    if not path.is_file():
        return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")).get("project", {}).get("version")
    except tomllib.TOMLDecodeError as exc:
        raise VersionMismatchError(f"{path} is not valid TOML, so its version cannot be checked: {exc}") from None


def check_versions(root: Path, package_dir: Path, manifest: dict) -> str:
    """The manifest is the source of truth; the other places must repeat it exactly."""
    version = manifest.get("version")
    if not isinstance(version, str):
        raise ManifestError(f"{MANIFEST_NAME} has no 'version' text such as \"1.2.3\"; the zip is named by it.")
    found = {f"{MANIFEST_NAME}": version, "bl_info in __init__.py": bl_info_version(package_dir)}
    project = pyproject_version(root)
    if project is not None:
        found["pyproject.toml"] = project
    if len(set(found.values())) != 1:
        listed = ", ".join(f"{where} says {value}" for where, value in found.items())
        raise VersionMismatchError(f"The versions disagree ({listed}); make them the same.")
    return version


def check_bundled_models(package_dir: Path) -> list[Path]:
    """Each model must load with the add-on's loader, so a broken file never reaches users."""
    models = sorted((package_dir / MODELS_DIR).glob(f"*{MODEL_SUFFIX}"))
    if not models:
        raise BundledModelError(
            f"No bundled model in {package_dir / MODELS_DIR} (expected *{MODEL_SUFFIX}); the add-on "
            f"needs at least one to generate anything out of the box."
        )
    for path in models:
        try:
            load_model(path)
        except ModelFileError as exc:
            raise BundledModelError(f"The bundled model {path.name} does not load: {exc}") from None
    return models


# ---- Contents --------------------------------------------------------------------------------


def addon_entries(package_dir: Path) -> list[Entry]:
    """The files that make the add-on, named `blender_ganart/...` inside the zip."""
    entries = []
    for path in sorted(package_dir.rglob("*")):
        relative = path.relative_to(package_dir)
        if not path.is_file() or not _is_shipped(relative):
            continue
        arcname = str(PurePosixPath(PACKAGE, *relative.parts))
        entries.append(Entry(arcname, path.read_bytes()))
    return entries


def _is_shipped(relative: Path) -> bool:
    parts = relative.parts
    if any(part.startswith(".") or part in EXCLUDED_DIRS or part.endswith(".egg-info") for part in parts):
        return False
    name = parts[-1]
    if name.endswith(EXCLUDED_SUFFIXES):
        return False
    if parts[0] == MODELS_DIR:
        # Only finished models and their notes: checkpoints and exports in progress stay out.
        return name.endswith(MODEL_SUFFIX) or name.endswith(MODEL_NOTE_SUFFIXES) or name.startswith("LICENSE")
    return True


def write_zip(path: Path, entries: list[Entry]) -> None:
    """Writes entries in name order with fixed metadata, so equal inputs give equal bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for entry in sorted(entries, key=lambda e: e.arcname):
            info = zipfile.ZipInfo(entry.arcname, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so that the permission bits below are honoured
            info.external_attr = (stat.S_IFREG | FILE_MODE) << 16
            archive.writestr(info, entry.data, compresslevel=ZIP_LEVEL)
    tmp.replace(path)


# ---- Wheels ----------------------------------------------------------------------------------


def wheel_platforms(filename: str) -> set[str] | None:
    """Blender platforms a wheel runs on; None means every platform (a pure-Python wheel).

    packaging reads the name (PEP 427), including compressed tag sets such as
    manylinux_2_17_x86_64.manylinux2014_x86_64; mapping a platform tag to Blender's names is ours.
    """
    try:
        tags = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename as exc:
        raise WheelsError(f"{filename!r} is not a wheel file name ({exc}).") from None
    found: set[str] = set()
    for tag in sorted({tag.platform for tag in tags}):
        if tag == "any":
            return None
        platforms = _blender_platforms_of_tag(tag)
        if not platforms:
            raise WheelsError(f"{filename!r}: its platform tag {tag!r} is not one Blender runs on.")
        found |= platforms
    return found


def _blender_platforms_of_tag(tag: str) -> set[str]:
    system = next((name for prefix, name in WHEEL_SYSTEMS if tag.startswith(prefix)), None)
    machines = next((names for suffix, names in WHEEL_MACHINES if tag.endswith(suffix)), ())
    if system is None or (len(machines) > 1 and system != "macos"):  # universal2 is macOS only
        return set()
    return {f"{system}-{machine}" for machine in machines}


def wheels_by_platform(wheels_dir: Path, only: list[str] | None = None) -> dict[str, list[Path]]:
    """Platform -> the wheels its zip needs (its own plus the pure-Python ones)."""
    if not wheels_dir.is_dir():
        raise WheelsError(f"Wheels folder not found: {wheels_dir}")
    wheels = sorted(wheels_dir.glob("*.whl"))
    if not wheels:
        raise WheelsError(f"No .whl files in {wheels_dir}.")
    universal: list[Path] = []
    specific: dict[str, list[Path]] = {}
    for wheel in wheels:
        platforms = wheel_platforms(wheel.name)
        if platforms is None:
            universal.append(wheel)
        for platform in platforms or ():
            specific.setdefault(platform, []).append(wheel)
    if only:
        unknown = [p for p in only if p not in KNOWN_PLATFORMS]
        if unknown:
            raise WheelsError(f"Unknown platform(s) {unknown}; known: {', '.join(KNOWN_PLATFORMS)}")
        missing = [p for p in only if specific and p not in specific]
        if missing:
            raise WheelsError(f"No wheels for {missing} in {wheels_dir}; it has wheels for {sorted(specific)}.")
        targets = sorted(set(only))
    else:
        targets = sorted(specific) if specific else ["any"]
    return {platform: sorted(universal + specific.get(platform, []), key=lambda p: p.name)
            for platform in targets}


def platform_zip_entries(base: list[Entry], manifest: dict, platform: str, wheels: list[Path]) -> list[Entry]:
    """The add-on's entries with its wheels, and a manifest that lists them and the platform."""
    manifest_arcname = f"{PACKAGE}/{MANIFEST_NAME}"
    platform_manifest = dict(manifest)
    platform_manifest["wheels"] = [f"./wheels/{wheel.name}" for wheel in wheels]
    if platform != "any":
        platform_manifest["platforms"] = [platform]
    else:
        platform_manifest.pop("platforms", None)
    entries = [e for e in base if e.arcname != manifest_arcname]
    entries.append(Entry(manifest_arcname, tomli_w.dumps(platform_manifest).encode("utf-8")))
    entries += [Entry(f"{PACKAGE}/wheels/{wheel.name}", wheel.read_bytes()) for wheel in wheels]
    return entries


# ---- Blender's own validator -----------------------------------------------------------------


def blender_validator() -> list[str]:
    """The command that runs Blender's extension validator from the bpy module (not imported)."""
    spec = importlib.util.find_spec("bpy")
    found = sorted(Path(spec.submodule_search_locations[0]).glob(VALIDATOR_GLOB)) if spec else []
    if not found:
        raise BuildError("Blender's extension validator was not found: it comes with the bpy module "
                         "(pip install 'bpy==4.5.*'; scripts/setup.sh installs it).")
    return [sys.executable, str(found[-1]), "validate"]


def validate_with_blender(zip_path: Path, name: str) -> None:
    """Runs `extension validate` on a zip; its complaints become one ManifestError."""
    done = subprocess.run([*blender_validator(), str(zip_path)], capture_output=True, text=True, timeout=300)
    if done.returncode == 0:
        return
    lines = [line.removeprefix("FATAL_ERROR:").strip() for line in (done.stdout + done.stderr).splitlines()]
    reasons = [line for line in lines if line and not line.startswith("Error parsing TOML")]
    raise ManifestError(f"Blender's extension validator refused {name}: " + "; ".join(reasons or ["no reason given"]))


# ---- Driver ----------------------------------------------------------------------------------


def build(
    source: Path,
    out_dir: Path,
    wheels_dir: Path | None = None,
    platforms: list[str] | None = None,
) -> list[Path]:
    """Checks everything first, then writes the zip(s); returns their paths."""
    source = source.resolve()
    package_dir = source / PACKAGE
    if not package_dir.is_dir():
        raise BuildError(f"{package_dir} not found; --source must be the folder holding {PACKAGE}/.")
    manifest = read_manifest(package_dir)
    check_manifest(manifest)
    version = check_versions(source, package_dir, manifest)
    check_bundled_models(package_dir)
    per_platform = wheels_by_platform(wheels_dir, platforms) if wheels_dir is not None else {}

    entries = addon_entries(package_dir)
    zips = {f"{PACKAGE}-{version}.zip": entries}
    for platform, wheels in per_platform.items():
        name = f"{PACKAGE}-{version}-{platform.replace('-', '_')}.zip"
        zips[name] = platform_zip_entries(entries, manifest, platform, wheels)
    with tempfile.TemporaryDirectory(prefix="ganart-build-") as staging:
        for name, zip_entries in zips.items():  # all of them pass Blender's validator, or none is written
            write_zip(Path(staging) / name, zip_entries)
            validate_with_blender(Path(staging) / name, name)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in zips:
            shutil.copyfile(Path(staging) / name, out_dir / f"{name}.tmp")
            (out_dir / f"{name}.tmp").replace(out_dir / name)
    return [out_dir / name for name in zips]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description="Build the blender_ganart add-on zip(s).")
    parser.add_argument("--source", type=Path, default=here,
                        help="folder that holds blender_ganart/ (default: this repository)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: SOURCE/dist)")
    parser.add_argument("--wheels", action="store_true",
                        help="also build one extension zip per platform with bundled wheels")
    parser.add_argument("--wheels-dir", type=Path, default=None,
                        help="local folder of .whl files for --wheels (nothing is downloaded)")
    parser.add_argument("--platforms", nargs="+", default=None, metavar="PLATFORM",
                        help=f"limit --wheels to these platforms ({', '.join(KNOWN_PLATFORMS)})")
    args = parser.parse_args(argv)
    if args.wheels and args.wheels_dir is None:
        parser.error("--wheels needs --wheels-dir DIR (a local folder of .whl files)")
    if args.wheels_dir is not None and not args.wheels:
        parser.error("--wheels-dir is only used with --wheels")
    if args.platforms and not args.wheels:
        parser.error("--platforms is only used with --wheels")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out_dir = args.out if args.out is not None else args.source / "dist"
    try:
        written = build(args.source, out_dir, args.wheels_dir if args.wheels else None, args.platforms)
    except BuildError as exc:
        print(f"build.py: refused: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"built {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
