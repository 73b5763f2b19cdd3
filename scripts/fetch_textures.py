"""Fetches the real texture images the bundled models train on, reproducibly, from Debian packages.

Why Debian: its game-data packages carry thousands of hand-made textures under licenses that a
Debian maintainer has checked and written down (debian/copyright), and `apt-get download` gives
the same bytes to anyone. Nothing is installed: each .deb is unpacked with `dpkg-deb -x`.

The images to take are listed by hand in scripts/texture_sources.toml (chosen from contact sheets
of candidates). A map family (`[map_families.*]`, `maps_of = "<family>"`) holds map sets instead: those images of the
named family that have normal, specular or gloss maps beside them in their package (`_nm`, `_sm`,
`_gm`), each written as `<name>.png` with its maps as `<name>_nm.png` etc. (a normal map keeps its
alpha: the height), which trainer/map_sets.py groups back into sets; its `leave_out` names sets of
that family that would teach the full-material model a look its name does not promise (a map set
weighs far more among a dozen sets than its colour image does among seventy). This script downloads the packages, unpacks them, copies each listed image as an
RGB PNG into data/<family>/ and writes data/manifest.json with package, version, source path and
license per image (per-file license entries of a machine-readable copyright file are honoured).

A held-out set (`[held_out.*]`, `folder = "<package>:<folder>"`) is chosen by nobody: every colour
image directly in one package folder, less those the checks refuse (each named on stderr). It is
fetched only when named, and measures the default training recipe on data it was never tuned on.

    python scripts/fetch_textures.py                  # all families (not the held-out sets)
    python scripts/fetch_textures.py --families tex-nature
    python scripts/fetch_textures.py --families wood metal --data data
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

CATALOG = Path(__file__).with_name("texture_sources.toml")
MIN_SIDE = 128  # smaller images give too few distinct training crops
MAX_ASPECT = 2.2
MIN_STD = 6.0  # in 8-bit levels; flatter images are solid colours, not textures
MAP_SUFFIXES = ("_nm", "_sm", "_gm")  # maps beside a colour image: normal (+height in alpha), specular, gloss


class FetchError(Exception):
    """A step of fetching the texture data failed; the message says which and what to do."""


@dataclass
class ImageRecord:
    family: str
    file: str  # relative to the data folder
    package: str
    package_version: str
    source_path: str  # inside the package's texture archive
    license: str
    width: int
    height: int
    sha256: str  # of the written PNG's pixels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="output folder (git-ignored)")
    parser.add_argument("--families", nargs="*", help="families to fetch (default: all)")
    parser.add_argument("--catalog", type=Path, default=CATALOG)
    args = parser.parse_args(argv)
    try:
        records = fetch(args.catalog, args.data, args.families)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    counts: dict[str, int] = {}
    for record in records:
        counts[record.family] = counts.get(record.family, 0) + 1
    for family, count in counts.items():
        print(f"{family:10s} {count:4d} images in {args.data / family}")
    print(f"manifest: {args.data / 'manifest.json'}")
    return 0


def fetch(catalog_path: Path, data: Path, families: list[str] | None = None) -> list[ImageRecord]:
    catalog = load_catalog(catalog_path)
    held_out = catalog.get("held_out", {})
    every = {**catalog["families"], **catalog.get("map_families", {}), **held_out}
    wanted = families or [name for name in every if name not in held_out]  # held-out sets: by name only
    unknown = sorted(set(wanted) - set(every))
    if unknown:
        raise FetchError(f"unknown families {unknown}; the catalog has {sorted(every)}")
    cache = data / ".cache"
    archives: dict[str, tuple[zipfile.ZipFile, str, list]] = {}

    def package_archive(entry: str) -> tuple[zipfile.ZipFile, str, list]:
        package = entry.partition(":")[0]
        if package not in catalog["packages"]:
            raise FetchError(f"'{entry}' names package '{package}', which the catalog does not list")
        if package not in archives:
            archives[package] = open_package(package, catalog["packages"][package], cache)
        return archives[package]

    records: list[ImageRecord] = []
    for family in wanted:
        out_dir = data / family
        if out_dir.exists():
            shutil.rmtree(out_dir)  # a re-run gives exactly the catalog's images, no leftovers
        out_dir.mkdir(parents=True)
        seen: set[str] = set()
        spec = every[family]
        maps_of = spec.get("maps_of")
        if maps_of and maps_of not in catalog["families"]:
            raise FetchError(f"family '{family}' takes the maps of '{maps_of}', which the catalog does not list")
        if "folder" in spec:  # unchosen: every colour image of one folder, whatever it holds
            package, _, folder = spec["folder"].partition(":")
            entries = [package + ":" + path for path in colour_images_in(package_archive(spec["folder"])[0], folder)]
        else:
            entries = catalog["families"][maps_of]["images"] if maps_of else spec["images"]
        left_out = set(spec.get("leave_out", []))
        if left_out - set(entries):
            raise FetchError(f"family '{family}' leaves out {sorted(left_out - set(entries))}, "
                             f"which '{maps_of or family}' does not list")
        entries = [entry for entry in entries if entry not in left_out]
        for entry in entries:
            package, _, source_path = entry.partition(":")
            archive, version, copyright_rules = package_archive(entry)
            siblings = map_siblings(archive, source_path) if maps_of else []
            if maps_of and not siblings:
                continue  # a map-set family keeps the colour images that have maps
            try:
                image = read_texture(archive, package, source_path)
            except FetchError as refused:
                if "folder" not in spec:
                    raise  # a hand-picked image that fails the checks is a catalog error
                print(f"{family}: skipped, {refused}", file=sys.stderr)
                continue
            digest = hashlib.sha256(image.tobytes()).hexdigest()
            if digest in seen:  # the same picture ships in several games
                continue
            seen.add(digest)
            stem = package + "--" + source_path.replace("/", "_").rsplit(".", 1)[0]
            files = [(source_path, stem + ".png", image)]
            files += [(path, stem + suffix + ".png", read_map(archive, package, path)) for path, suffix in siblings]
            for path, name, picture in files:
                picture.save(out_dir / name)
                license_ = license_for(catalog["packages"][package], copyright_rules, path)
                records.append(ImageRecord(family, f"{family}/{name}", package, version, path, license_,
                                           picture.width, picture.height,
                                           hashlib.sha256(picture.tobytes()).hexdigest()))
    write_manifest(data, records)
    return records


def colour_images_in(archive: zipfile.ZipFile, folder: str) -> list[str]:
    """The images directly in one archive folder that are not a normal, specular or gloss map."""
    prefix = folder.rstrip("/") + "/"
    found = []
    for path in archive.namelist():
        name = path[len(prefix):]
        stem, _, ext = name.rpartition(".")
        if (path.startswith(prefix) and "/" not in name and ext.lower() in ("png", "jpg", "jpeg", "tga")
                and not stem.endswith(MAP_SUFFIXES)):
            found.append(path)
    return sorted(found)


def map_siblings(archive: zipfile.ZipFile, source_path: str) -> list[tuple[str, str]]:
    """(path in the archive, suffix) of the normal, specular and gloss maps stored beside a colour
    image under the game suffixes `_nm`, `_sm`, `_gm` (ufoai-textures' names)."""
    names = set(archive.namelist())
    stem = source_path.rsplit(".", 1)[0]
    return [(stem + suffix + ext, suffix) for suffix in MAP_SUFFIXES for ext in (".png", ".jpg", ".tga")
            if stem + suffix + ext in names]


def read_map(archive: zipfile.ZipFile, package: str, source_path: str) -> Image.Image:
    """A data map as stored, made RGB or RGBA (a normal map's alpha holds its height): none of
    read_texture's colour checks apply to it."""
    try:
        image = Image.open(io.BytesIO(archive.read(source_path)))
        image.load()
    except (KeyError, OSError, ValueError) as exc:
        raise FetchError(f"{package}:{source_path} cannot be read: {exc}") from None
    has_alpha = "A" in image.getbands() or (image.mode == "P" and "transparency" in image.info)
    return image.convert("RGBA" if has_alpha else "RGB")


def load_catalog(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            catalog = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise FetchError(f"cannot read the texture catalog {path}: {exc}") from None
    if not catalog.get("packages") or not catalog.get("families"):
        raise FetchError(f"the texture catalog {path} needs [packages.*] and [families.*] tables")
    return catalog


def open_package(package: str, spec: dict, cache: Path) -> tuple[zipfile.ZipFile, str, list]:
    """Downloads (once) and unpacks a .deb; returns its texture archive, version, copyright rules."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        run(["apt-get", "download", package], cwd=debs,
            hint="run 'apt-get update' first, or check that the package is in your Debian release")
        found = sorted(debs.glob(f"{package}_*.deb"))
        if not found:
            raise FetchError(f"apt-get download {package} produced no .deb file")
    deb = found[-1]
    version = run(["dpkg-deb", "-f", str(deb), "Version"]).strip()
    if version != spec.get("version"):
        print(f"note: {package} is version {version}; the catalog was made from {spec.get('version')}",
              file=sys.stderr)
    root = cache / "extract" / package
    if not (root / spec["archive"]).exists():
        root.mkdir(parents=True, exist_ok=True)
        run(["dpkg-deb", "-x", str(deb), str(root)])
    archive_path = root / spec["archive"]
    if not archive_path.exists():
        raise FetchError(f"{deb.name} has no {spec['archive']}; the catalog needs updating")
    copyright_file = root / "usr/share/doc" / package / "copyright"
    rules = parse_dep5(copyright_file.read_text(errors="replace")) if copyright_file.exists() else []
    return zipfile.ZipFile(archive_path), version, rules


def read_texture(archive: zipfile.ZipFile, package: str, source_path: str) -> Image.Image:
    """Decodes one listed image and refuses what would teach a texture model the wrong thing."""
    where = f"{package}:{source_path}"
    try:
        raw = archive.read(source_path)
    except KeyError:
        raise FetchError(f"{where} is not in the package; the catalog needs updating") from None
    try:
        image = Image.open(io.BytesIO(raw))
        image.load()
    except (OSError, ValueError) as exc:
        raise FetchError(f"{where} cannot be decoded: {exc}") from None
    if min(image.size) < MIN_SIDE or max(image.size) > MAX_ASPECT * min(image.size):
        raise FetchError(f"{where} is {image.size[0]}x{image.size[1]}: too small or too elongated")
    if "A" in image.getbands() or image.mode == "P":
        alpha = np.asarray(image.convert("RGBA"))[..., 3]
        if (alpha < 250).mean() > 0.01:
            raise FetchError(f"{where} has transparent cut-outs; it is not a full-frame texture")
    rgb = image.convert("RGB")
    if np.asarray(rgb, dtype=np.float32).reshape(-1, 3).std(axis=0).max() < MIN_STD:  # per channel
        raise FetchError(f"{where} is almost a solid colour")
    return rgb


def parse_dep5(text: str) -> list[tuple[list[str], str]]:
    """(file globs, license) per 'Files:' paragraph of a machine-readable debian/copyright."""
    if not text.startswith("Format:"):
        return []  # free-form copyright text: the catalog's package license applies
    rules = []
    for paragraph in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in paragraph.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Files" in fields and "License" in fields:
            license_name = fields["License"].splitlines()[0].strip()
            rules.append((fields["Files"].split(), license_name))
    return rules


def license_for(spec: dict, rules: list[tuple[list[str], str]], source_path: str) -> str:
    """The last matching 'Files:' paragraph wins, as the copyright-format spec says."""
    path = spec.get("copyright_path_prefix", "") + source_path
    found = spec["license"]
    for globs, license_name in rules:
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in globs):
            found = license_name
    return found


def write_manifest(data: Path, records: list[ImageRecord]) -> None:
    manifest = data / "manifest.json"
    old = json.loads(manifest.read_text()) if manifest.exists() else []
    families = {r.family for r in records}
    kept = [r for r in old if r.get("family") not in families]  # other families stay listed
    payload = kept + [asdict(r) for r in records]
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    tmp.replace(manifest)


def run(command: list[str], cwd: Path | None = None, hint: str = "") -> str:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise FetchError(f"'{command[0]}' is not available; this script needs a Debian system") from None
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise FetchError(f"'{' '.join(command)}' failed: {message}" + (f" ({hint})" if hint else ""))
    return done.stdout


if __name__ == "__main__":
    sys.exit(main())
