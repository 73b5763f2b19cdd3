"""Map sets: a folder's colour images grouped with their normal, height, roughness, gloss, specular
and AO maps by the names texture libraries give them, decoded into one aligned uint8 stack each.

Names (case-insensitive; a trailing Poly Haven resolution such as `_2k` is ignored):
- ambientCG: `X_Color`, `X_NormalGL`, `X_NormalDX`, `X_Roughness`, `X_Displacement`, `X_AmbientOcclusion`;
- Poly Haven: `X_diff`, `X_nor_gl`, `X_nor_dx`, `X_rough`, `X_disp`, `X_ao`;
- game suffixes: colour `X` itself, normal `X_nm`/`X_n`/`X_norm`, specular `X_s`/`X_sm`/`X_spec`,
  gloss `X_gm`/`X_gloss`, height `X_h`/`X_height`.
Files of one set lie in one folder. A map file whose set has no colour image is skipped with a
warning, except a lone `X_n`, `X_s` or `X_h`: that is read as a colour image whose name happens to
end in a letter (and then skipped as a set without maps).

Normals are stored as OpenGL: `*NormalDX`/`*_nor_dx` have G flipped on load. Game normal maps
name no convention: when the alpha of one holds a height that explains its normals
(normals.detect_from_height), that height says the convention and becomes the set's height map
(unless the set has a height file). Otherwise the convention is the one in which the normals are
the slopes of one surface (normals.fit_surface: read in the wrong one, about half their energy
is curl), and that surface, integrated, becomes the set's height map; a map that fits no surface
in either is taken as DirectX, the convention of most ufoai-textures `_nm` maps (measured: see the
README's "Full-material models"), without a height. Every normal is renormalised to unit length
(some game maps are not).

The policy for incomplete sets: the run learns the maps it is asked for (`--maps`), no fewer; a set
lacking one of them is skipped with a warning naming the set and what it lacks, and if no set is
complete the run stops with a line counting which maps the sets have. A map whose size differs
from its colour image's is resampled to it (a note names the file) when both have the same aspect
ratio; a map of another shape cannot be aligned, so its set is skipped with a warning naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from blender_ganart.core.model_maps import MAP_CHANNELS

from . import normals
from .data import ImageSet, UnusableImage, Warn, find_image_files, load_image_folder, load_rgb
from .errors import DataError
from .line_direction import turn_lines_to_rows

# suffix (lower case, without the underscore) → (map, normal convention: "gl", "dx", "game" or "").
SUFFIXES = {
    "color": ("colour", ""), "diff": ("colour", ""),
    "normalgl": ("normal", "gl"), "nor_gl": ("normal", "gl"),
    "normaldx": ("normal", "dx"), "nor_dx": ("normal", "dx"),
    "nm": ("normal", "game"), "n": ("normal", "game"), "norm": ("normal", "game"),
    "displacement": ("height", ""), "disp": ("height", ""), "h": ("height", ""), "height": ("height", ""),
    "roughness": ("roughness", ""), "rough": ("roughness", ""),
    "gm": ("gloss", ""), "gloss": ("gloss", ""),
    "s": ("specular", ""), "sm": ("specular", ""), "spec": ("specular", ""),
    "ambientocclusion": ("ao", ""), "ao": ("ao", ""),
}
_SUFFIX = re.compile(r"^(?P<stem>.+?)_(?P<suffix>" + "|".join(sorted(SUFFIXES, key=len, reverse=True))
                     + r")(?:_\d+k)?$", re.IGNORECASE)
HEIGHT_AGREEMENT = 0.3  # normals.detect_from_height: below this the alpha is no height of the map
ASPECT_TOLERANCE = 0.02


@dataclass
class MapSet:
    """One set's files: its colour image and {map name: (file, normal convention)}."""

    key: str  # folder/stem, for messages
    colour: Path | None = None
    files: dict[str, tuple[Path, str]] = field(default_factory=dict)


def map_role(path: Path) -> tuple[str, str, str]:
    """(set stem, map name, normal convention) of a file from its name; plain names are colour."""
    match = _SUFFIX.match(path.stem)
    if not match:
        return path.stem, "colour", ""
    return (match["stem"], *SUFFIXES[match["suffix"].lower()])


def group_sets(files: list[Path], warn: Warn) -> list[MapSet]:
    """Files → sets by folder and stem, in file order; a second file for one map is ignored with a note."""
    sets: dict[tuple[Path, str], MapSet] = {}
    for path in files:
        stem, name, convention = map_role(path)
        key = (path.parent, stem.lower())
        group = sets.setdefault(key, MapSet(str(path.parent / stem)))
        if name == "colour":
            if group.colour is not None:
                warn(f"note: {path} and {group.colour} are both colour images of {group.key}; using the first")
            else:
                group.colour = path
        elif name in group.files:
            warn(f"note: {path} is a second {name} map of {group.key}; using {group.files[name][0].name}")
        else:
            group.files[name] = (path, convention)
    # A lone `X_n.png`, `X_s.png` or `X_h.png` with no `X`: a colour image whose name ends in a letter.
    for group in sets.values():
        if group.colour is None and len(group.files) == 1:
            (path, _), = group.files.values()
            if path.stem.lower()[-2:] in ("_n", "_s", "_h"):
                group.colour, group.files, group.key = path, {}, str(path.with_suffix(""))
    return list(sets.values())


def load_map_sets(root: str | Path, maps: tuple[str, ...], crop_size: int, max_side: int = 0,
                  warn: Warn | None = None) -> ImageSet:
    """Every complete set under root as a (H, W, C) uint8 stack in `maps` order; DataError if none."""
    warn = warn or (lambda message: None)
    root = Path(root)
    if not str(root) or not root.is_dir():
        raise DataError(f"the data folder does not exist or is not a folder: {root}")
    files = find_image_files(root, warn)
    sets = group_sets(files, warn)
    result = ImageSet(images=[], paths=[], maps=tuple(maps))
    have = {name: 0 for name in maps}
    for group in sets:
        if group.colour is None:
            warn(f"skipping {', '.join(p.name for p, _ in group.files.values())} in {Path(group.key).parent}: "
                 f"no colour image {Path(group.key).name} beside them")
            continue
        try:
            layers = _load_set(group, maps, warn)
        except UnusableImage as exc:
            warn(f"skipping the set {group.key}: {exc}")
            result.skipped.append((group.colour, str(exc)))
            continue
        for name in layers:
            have[name] += 1
        missing = [name for name in maps if name not in layers]
        if missing:
            why = ""
            if "height" in missing and group.files.get("normal", (None, ""))[1] == "game":
                why = " (its normal map holds no height in its alpha, and its normals fit no one surface to integrate)"
            warn(f"skipping the set {group.key}: it has no {' or '.join(missing)} map{why}")
            result.skipped.append((group.colour, f"no {' or '.join(missing)} map"))
            continue
        _add(result, group.colour, layers, maps, crop_size, max_side)
    if not result.images:
        counts = ", ".join(f"{name} {have[name]}" for name in maps)
        raise DataError(f"no complete {'+'.join(maps)} map set in {root}: of {len(sets)} sets, these have each map: "
                        f"{counts} (see the warnings above; --maps chooses the maps to learn)")
    if result.upscaled:
        warn(f"{len(result.upscaled)} map sets smaller than the {crop_size} px crop were upscaled to fit it")
    return result


def _load_set(group: MapSet, maps: tuple[str, ...], warn: Warn) -> dict[str, np.ndarray]:
    """{map: (H, W, channels) uint8} at the colour image's size, for the maps it has of `maps`."""
    colour = load_rgb(group.colour, warn)
    size = colour.shape[:2]
    layers = {"colour": colour}
    normal_height = None
    if "normal" in group.files and ("normal" in maps or "height" in maps):
        path, convention = group.files["normal"]
        layers["normal"], normal_height, integrated = _load_normal(path, convention, warn)
    for name in maps:
        if name in ("colour", "normal"):
            continue
        if name in group.files:
            gray = load_rgb(group.files[name][0], warn).mean(axis=2)
            layers[name] = np.round(gray).astype(np.uint8)[:, :, None]
        elif name == "height" and normal_height is not None:
            layers[name] = normal_height
            if integrated:
                warn(f"note: the set {group.key} has no height map; its height is integrated from its normal map")
    layers = {name: layer for name, layer in layers.items() if name in maps}
    for name, layer in layers.items():
        if layer.shape[:2] != size:
            source = group.files[name][0] if name in group.files else group.files["normal"][0]
            if abs(layer.shape[1] / layer.shape[0] - size[1] / size[0]) > ASPECT_TOLERANCE * size[1] / size[0]:
                raise UnusableImage(f"{source.name} is {layer.shape[1]}x{layer.shape[0]} px but its colour image "
                                    f"is {size[1]}x{size[0]}: another shape, so it cannot be aligned")
            warn(f"note: {source} is {layer.shape[1]}x{layer.shape[0]} px; its {name} map is resampled to its "
                 f"colour image's {size[1]}x{size[0]}")
            layers[name] = resize_map(name, layer, size)
    return layers


def _load_normal(path: Path, convention: str, warn: Warn) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """(OpenGL unit normals as uint8 (H, W, 3), a height as (H, W, 1) or None, whether that
    height was integrated from the normals rather than read from the alpha)."""
    rgba = load_rgb(path, warn, keep_alpha=True)
    vectors = normals.decode(rgba[:, :, :3])
    height, source = None, ""
    if convention == "game":
        convention, height, source = read_game_normal(rgba, vectors)
    if convention == "dx":
        vectors[..., 1] *= -1.0
    return normals.encode_unit(vectors), height, source == "integrated"


def read_game_normal(rgba: np.ndarray, vectors: np.ndarray | None = None) -> tuple[str, np.ndarray | None, str]:
    """A game normal map (H, W, 4) uint8 → (its convention "gl" or "dx", a height (H, W, 1) uint8
    or None, where that came from: "alpha height", "alpha depth", "integrated" or "" for none).

    The alpha's height decides when it explains the normals; otherwise the convention in which
    the normals are one surface's slopes, and that surface; otherwise DirectX and no height.
    `vectors`: the map decoded (normals.decode), when the caller has it already."""
    rgb, alpha = rgba[:, :, :3], rgba[:, :, 3]
    if alpha.std() > 1.0:
        found, depth, agreement = normals.detect_from_height(rgb, alpha)
        if agreement >= HEIGHT_AGREEMENT:
            return found, (255 - alpha if depth else alpha)[:, :, None], "alpha depth" if depth else "alpha height"
    vectors = normals.decode(rgb) if vectors is None else vectors
    fits = {name: normals.fit_surface(vectors, name) for name in ("gl", "dx")}
    best, other = sorted(fits, key=lambda name: fits[name][1])
    if fits[best][1] <= normals.INTEGRABLE and fits[other][1] >= 2 * fits[best][1]:
        return best, normals.height_as_uint8(fits[best][0]), "integrated"
    return "dx", None, ""


def resize_map(name: str, layer: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w, k) uint8 → (H, W, k) at size (H, W), bicubic; normals are resampled as vectors and
    renormalised, so a resampled normal map still holds unit normals."""
    h, w = size
    if name == "normal":
        vectors = normals.decode(layer)
        planes = [np.asarray(Image.fromarray(vectors[..., c].astype(np.float32), mode="F")
                             .resize((w, h), Image.Resampling.BICUBIC)) for c in range(3)]
        return normals.encode_unit(np.stack(planes, axis=-1))
    if layer.shape[2] == 1:
        return np.asarray(Image.fromarray(layer[:, :, 0]).resize((w, h), Image.Resampling.BICUBIC))[:, :, None]
    return np.asarray(Image.fromarray(layer).resize((w, h), Image.Resampling.BICUBIC))


def _add(result: ImageSet, colour_path: Path, layers: dict, maps: tuple[str, ...], crop: int, max_side: int) -> None:
    """Scales a set as load_image_folder scales an image (max_side, then the crop), stacks it."""
    h, w = layers["colour"].shape[:2]
    source_long, scale = max(h, w), 1.0
    if max_side and max(h, w) > max_side:
        scale = max_side / max(h, w)
        result.downscaled.append(colour_path)
    if min(h, w) * scale < crop:
        scale = crop / min(h, w)
        result.upscaled.append(colour_path)
    if scale != 1.0:
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        layers = {name: resize_map(name, layer, size) for name, layer in layers.items()}
    stack = np.concatenate([layers[name] for name in maps], axis=2)
    assert stack.shape[2] == sum(MAP_CHANNELS[m] for m in maps)
    result.images.append(np.ascontiguousarray(stack))
    result.paths.append(colour_path)
    result.scales.append(source_long / max(stack.shape[:2]))


def load_training_images(folder: str | Path, maps: tuple[str, ...], crop_size: int, max_side: int = 0,
                         warn: Warn | None = None, orient: str = "as-stored") -> ImageSet:
    """What a run trains on: every image of the folder for colour alone (as before map sets
    existed), else its complete map sets; with orient "rows", each turned so its lines run along
    the rows (trainer/line_direction.py)."""
    if tuple(maps) == ("colour",):
        images = load_image_folder(folder, crop_size, max_side, warn=warn)
        _warn_of_maps_read_as_colour(images.paths, warn)
    else:
        images = load_map_sets(folder, tuple(maps), crop_size, max_side, warn=warn)
    if orient == "rows":
        turned = turn_lines_to_rows(images.images, images.maps)
        images.turned = [path for path, turn in zip(images.paths, turned) if turn]
    return images


def _warn_of_maps_read_as_colour(paths: list[Path], warn: Warn | None) -> None:
    """A colour-only run on a folder of map sets learns their normal and height maps as colour
    textures: violet normal maps among the brown ground (a trial here did it on data/ground-maps:
    34 images where 17 were meant). Say so once, naming what to do, and go on (a folder may mean it)."""
    beside_colour = [(name, path) for group in group_sets(list(paths), lambda message: None) if group.colour is not None
                     for name, (path, _) in group.files.items()]
    if warn is None or not beside_colour:
        return
    names = [name for name in MAP_CHANNELS if any(name == found for found, _ in beside_colour)]
    warn(f"{len(beside_colour)} of the {len(paths)} images are {', '.join(names)} maps beside their colour image "
         f"(e.g. {beside_colour[0][1].name}), and --maps colour learns them as colour textures: give --maps "
         f"colour,{','.join(names)} to learn them with their colour, "
         f"or move them out of the folder")
