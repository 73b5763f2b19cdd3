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
writing anything, the manifest is checked field by field, the versions in the manifest, bl_info
and pyproject.toml must agree, and every bundled model must load with the add-on's own loader.

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
import json
import stat
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

PACKAGE = "blender_ganart"
MANIFEST_NAME = "blender_manifest.toml"
MODEL_SUFFIX = ".ganart.pt"
MODELS_DIR = "models"

# 1980-01-01 is the earliest time a zip entry can hold; any fixed time makes the bytes repeatable.
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
ZIP_LEVEL = 9

REQUIRED_FIELDS = (
    "schema_version", "id", "version", "name", "tagline", "maintainer", "type",
    "blender_version_min", "license",
)
PERMISSION_KEYS = ("files", "network", "clipboard", "camera", "microphone")
KNOWN_PLATFORMS = ("windows-x64", "windows-arm64", "macos-x64", "macos-arm64", "linux-x64", "linux-arm64")
TERSE_TEXT_LIMIT = 64  # Blender's limit for the tagline and permission reasons

# Never shipped: interpreter caches, editor and merge leftovers, half-written files, and
# anything a developer keeps beside the add-on (tests, build output, stale wheel folders).
EXCLUDED_DIRS = {"__pycache__", "tests", "test", "build", "dist", "wheels", ".git", ".pytest_cache"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".tmp", ".orig", ".rej", ".swp", ".bak", "~", ".blend1")
MODEL_NOTE_SUFFIXES = (".md", ".txt", ".json")  # model cards, licence notes beside the models


class BuildError(Exception):
    """Base of every refusal; main() prints the message and exits with status 1."""


class ManifestError(BuildError):
    """blender_manifest.toml is missing, is not TOML, or lacks or misstates a field."""


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


# ---------------------------------------------------------------------------------------------
# Checks


def read_manifest(package_dir: Path) -> dict:
    path = package_dir / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(f"{path} is missing; Blender 4.2+ needs it to install the add-on.")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path} is not valid TOML: {exc}") from None


def manifest_problems(manifest: dict) -> list[str]:
    """Every reason Blender would reject (or mis-list) this manifest, in one list."""
    problems = [f"the field '{name}' is missing" for name in REQUIRED_FIELDS if name not in manifest]
    text_fields = ("schema_version", "id", "version", "name", "tagline", "maintainer", "type",
                   "blender_version_min")
    for name in text_fields:
        if name in manifest and not (isinstance(manifest[name], str) and manifest[name].strip()):
            problems.append(f"'{name}' must be a non-empty text")
    if problems:
        return problems

    if manifest["id"] != PACKAGE:
        problems.append(f"'id' is {manifest['id']!r}; it must be the package folder's name {PACKAGE!r}")
    if manifest["type"] != "add-on":
        problems.append(f"'type' is {manifest['type']!r}; it must be \"add-on\"")
    if not _is_dotted_numbers(manifest["version"], parts=3):
        problems.append(f"'version' is {manifest['version']!r}; it must look like 1.2.3")
    if not _is_dotted_numbers(manifest["blender_version_min"], parts=3):
        problems.append(f"'blender_version_min' is {manifest['blender_version_min']!r}; it must look like 4.2.0")
    elif _version_tuple(manifest["blender_version_min"]) < (4, 2, 0):
        problems.append("'blender_version_min' must be 4.2.0 or later (extensions began with Blender 4.2)")
    problems += _terse_text_problems("tagline", manifest["tagline"])

    licenses = manifest["license"]
    if not (isinstance(licenses, list) and licenses and all(isinstance(x, str) for x in licenses)):
        problems.append("'license' must be a list of texts such as [\"SPDX:GPL-3.0-or-later\"]")
    elif not all(x.startswith("SPDX:") for x in licenses):
        problems.append("every 'license' entry must start with 'SPDX:'")
    elif "SPDX:GPL-3.0-or-later" not in licenses:
        problems.append("'license' must include \"SPDX:GPL-3.0-or-later\" (Blender add-ons are GPL)")

    permissions = manifest.get("permissions", {})
    if not isinstance(permissions, dict):
        problems.append("'permissions' must be a table such as [permissions] files = \"...\"")
    else:
        for key, reason in permissions.items():
            if key not in PERMISSION_KEYS:
                problems.append(f"unknown permission {key!r}; known: {', '.join(PERMISSION_KEYS)}")
            elif not isinstance(reason, str):
                problems.append(f"the reason for permission {key!r} must be a text")
            else:
                problems += _terse_text_problems(f"permissions.{key}", reason)
        if "files" not in permissions:
            problems.append("'permissions' must ask for 'files': the add-on reads model files and writes images")

    if "wheels" in manifest:
        problems.append("leave 'wheels' out of the source manifest; build.py --wheels writes it into each platform's zip")
    platforms = manifest.get("platforms", [])
    if not (isinstance(platforms, list) and all(isinstance(x, str) for x in platforms)):
        problems.append("'platforms' must be a list of texts")
    else:
        problems += [f"unknown platform {p!r}; known: {', '.join(KNOWN_PLATFORMS)}"
                     for p in platforms if p not in KNOWN_PLATFORMS]
    return problems


def _is_dotted_numbers(text: str, parts: int) -> bool:
    pieces = text.split(".")
    return len(pieces) == parts and all(piece.isdigit() for piece in pieces)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(piece) for piece in text.split("."))


def _terse_text_problems(name: str, text: str) -> list[str]:
    """Blender lists these in one line: short, one line, no closing full stop."""
    if not isinstance(text, str) or not text.strip():
        return [f"'{name}' must be a non-empty text"]
    if len(text) > TERSE_TEXT_LIMIT:
        return [f"'{name}' is {len(text)} characters; Blender allows at most {TERSE_TEXT_LIMIT}"]
    if text != text.strip() or any(ord(c) < 32 for c in text):
        return [f"'{name}' must be one line without leading or trailing spaces"]
    if not (text[-1].isalnum() or text[-1] in ")]}"):
        return [f"'{name}' must not end with punctuation ({text[-1]!r})"]
    return []


def check_manifest(manifest: dict) -> None:
    problems = manifest_problems(manifest)
    if problems:
        raise ManifestError(f"{MANIFEST_NAME} is not usable: " + "; ".join(problems) + ".")


def bl_info_version(package_dir: Path) -> str:
    """Read without importing: bl_info must be a literal (legacy Blender parses it the same way)."""
    init = package_dir / "__init__.py"
    if not init.is_file():
        raise BuildError(f"{init} is missing; it is the add-on's entry point.")
    tree = ast.parse(init.read_text(encoding="utf-8"), filename=str(init))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "bl_info" for t in node.targets
        ):
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
    version = manifest["version"]
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
    try:
        from blender_ganart.core.errors import ModelFileError
        from blender_ganart.core.model_file import load_model
    except ImportError as exc:
        raise BundledModelError(
            f"Checking the bundled models needs the add-on's loader and PyTorch ({exc}); run build.py "
            f"with the project's Python: .venv/bin/python build.py"
        ) from None

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


# ---------------------------------------------------------------------------------------------
# Contents


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


# ---------------------------------------------------------------------------------------------
# Wheels


def wheel_platforms(filename: str) -> set[str] | None:
    """Blender platforms a wheel runs on; None means every platform (a pure-Python wheel).

    The platform tag is the last dash-separated field of the name and may hold several tags
    joined by dots (manylinux_2_17_x86_64.manylinux2014_x86_64).
    """
    stem = filename[: -len(".whl")]
    fields = stem.split("-")
    if not filename.endswith(".whl") or len(fields) not in (5, 6):
        raise WheelsError(f"{filename!r} is not a wheel file name (name-version-python-abi-platform.whl).")
    found: set[str] = set()
    for tag in fields[-1].split("."):
        if tag == "any":
            return None
        platforms = _blender_platforms_of_tag(tag)
        if not platforms:
            raise WheelsError(f"{filename!r}: its platform tag {tag!r} is not one Blender runs on.")
        found |= platforms
    return found


def _blender_platforms_of_tag(tag: str) -> set[str]:
    if tag.startswith("win"):
        system = "windows"
    elif tag.startswith("macosx"):
        system = "macos"
    elif tag.startswith(("manylinux", "musllinux", "linux")):
        system = "linux"
    else:
        return set()
    if tag.endswith(("_x86_64", "_amd64")):
        machines = ["x64"]
    elif tag.endswith(("_arm64", "_aarch64")):
        machines = ["arm64"]
    elif tag.endswith("_universal2") and system == "macos":
        machines = ["x64", "arm64"]
    else:
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


def manifest_toml(manifest: dict) -> str:
    """TOML text for a manifest (texts, lists of texts, tables of texts: all a manifest holds).

    Used for the per-platform zips, whose manifest differs from the source by `wheels` and
    `platforms`; JSON string quoting is valid TOML basic-string quoting.
    """
    lines, tables = [], []
    for key, value in manifest.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, table in tables:
        lines.append(f"\n[{key}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return "[" + ", ".join(json.dumps(x, ensure_ascii=False) for x in value) + "]"
    raise ManifestError(f"cannot write {value!r} into a manifest (only texts and lists of texts)")


def platform_zip_entries(base: list[Entry], manifest: dict, platform: str, wheels: list[Path]) -> list[Entry]:
    manifest_arcname = f"{PACKAGE}/{MANIFEST_NAME}"
    platform_manifest = dict(manifest)
    platform_manifest["wheels"] = [f"./wheels/{wheel.name}" for wheel in wheels]
    if platform != "any":
        platform_manifest["platforms"] = [platform]
    else:
        platform_manifest.pop("platforms", None)
    entries = [e for e in base if e.arcname != manifest_arcname]
    entries.append(Entry(manifest_arcname, manifest_toml(platform_manifest).encode("utf-8")))
    entries += [Entry(f"{PACKAGE}/wheels/{wheel.name}", wheel.read_bytes()) for wheel in wheels]
    return entries


# ---------------------------------------------------------------------------------------------
# Driver


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
    written = [out_dir / f"{PACKAGE}-{version}.zip"]
    write_zip(written[0], entries)
    for platform, wheels in per_platform.items():
        path = out_dir / f"{PACKAGE}-{version}-{platform.replace('-', '_')}.zip"
        write_zip(path, platform_zip_entries(entries, manifest, platform, wheels))
        written.append(path)
    return written


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
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # the add-on's own model loader
    sys.exit(main())
