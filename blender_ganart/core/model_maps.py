"""The maps a full-material model generates together, and how its output channels split into them.

A model trained on map sets (trainer/map_sets.py) outputs its maps stacked along the channel axis,
in the order its card's `maps` lists them, each with a fixed number of channels and one fixed
convention, so a file names its maps and nothing more:
- colour: 3 channels, the texture as shown (sRGB values in [0, 1]); always first.
- normal: 3 channels, tangent-space OpenGL (+X right, +Y up = towards the top row, +Z out of the
  surface), encoded n·0.5 + 0.5 as derived_maps.normal_from_height stores it.
- height: 1 channel, 0 = lowest, 1 = highest (relative: the training data has no physical scale).
- roughness: 1 channel, 0 = mirror, 1 = fully rough.
- gloss: 1 channel, 1 − roughness (game libraries store gloss; the add-on turns it into roughness).
- specular: 1 channel, specular intensity in [0, 1] (learned with the set; not wired by the add-on).
- ao: 1 channel, ambient occlusion, 1 = open.

No torch and no bpy: the add-on's core calls `learned_maps` on the float32 texture synthesis returns.
"""

from __future__ import annotations

import textwrap

import numpy as np

MAP_CHANNELS = {"colour": 3, "normal": 3, "height": 1, "roughness": 1, "gloss": 1, "specular": 1, "ao": 1}
MAP_CONVENTIONS = {
    "colour": "RGB colour as shown (sRGB), 0-1",
    "normal": "tangent space, OpenGL (+X right, +Y up, +Z out), encoded n*0.5+0.5",
    "height": "0 = lowest, 1 = highest; relative (no physical scale recorded)",
    "roughness": "roughness, 0 = mirror, 1 = fully rough",
    "gloss": "gloss = 1 - roughness",
    "specular": "specular intensity, 0-1",
    "ao": "ambient occlusion, 1 = open",
}
COLOUR_ONLY = ("colour",)


def check_map_names(maps) -> tuple[str, ...]:
    """The names as a tuple, or ValueError naming what is wrong: colour first, each name known
    and listed once (a card read from a file and the trainer's --maps both pass through here)."""
    if isinstance(maps, str) or not isinstance(maps, (list, tuple)) or not all(isinstance(m, str) for m in maps):
        raise ValueError("maps must be a list of map names")
    maps = tuple(maps)
    unknown = [m for m in maps if m not in MAP_CHANNELS]
    if unknown:
        raise ValueError(f"unknown maps {unknown}; known: {', '.join(MAP_CHANNELS)}")
    if not maps or maps[0] != "colour":
        raise ValueError("maps must start with colour")
    if len(set(maps)) != len(maps):
        raise ValueError(f"a map is listed twice in {list(maps)}")
    return maps


def channel_count(maps) -> int:
    return sum(MAP_CHANNELS[m] for m in maps)


def channel_names(maps) -> tuple[str, ...]:
    """The card's channel names: R, G, B for colour (as before maps existed), then e.g. normal.x,
    normal.y, normal.z, height."""
    names: list[str] = []
    for name in maps:
        if name == "colour":
            names += ["R", "G", "B"]
        elif name == "normal":
            names += ["normal.x", "normal.y", "normal.z"]
        else:
            names.append(name)
    return tuple(names)


def channel_slices(maps) -> dict[str, slice]:
    """{map name: its channels in the stacked output}, in order."""
    slices, start = {}, 0
    for name in maps:
        slices[name] = slice(start, start + MAP_CHANNELS[name])
        start += MAP_CHANNELS[name]
    return slices


def learned_maps(pixels, maps, wanted=()) -> tuple[np.ndarray, dict]:
    """(H, W, C) float32 output in [0, 1] → (colour (H, W, 3), {add-on map name: map}) for the
    names in `wanted` (derived_maps.MAP_NAMES) that the model makes itself. A colour model's
    output comes back untouched (the same array), with no maps.

    normal: renormalised to unit vectors, re-encoded (H, W, 3); height, roughness, ao: (H, W);
    a model with gloss gives roughness = 1 − gloss. Specular is not an add-on map.
    """
    maps = check_map_names(tuple(maps))
    if maps == COLOUR_ONLY:  # a colour model (or one from before maps, whatever its channels): as it is
        return pixels, {}
    pixels = np.asarray(pixels, dtype=np.float32)
    slices = channel_slices(maps)
    if pixels.ndim != 3 or pixels.shape[2] != channel_count(maps):
        raise ValueError(f"the model's output has shape {pixels.shape}; its maps {list(maps)} "
                         f"need {channel_count(maps)} channels")
    colour = np.ascontiguousarray(pixels[..., slices["colour"]])
    found: dict = {}
    for name in wanted:
        if name == "normal" and "normal" in slices:
            found[name] = unit_normals(pixels[..., slices["normal"]])
        elif name in ("height", "ao") and name in slices:
            found[name] = np.ascontiguousarray(pixels[..., slices[name].start])
        elif name == "roughness" and ("roughness" in slices or "gloss" in slices):
            found[name] = (np.ascontiguousarray(pixels[..., slices["roughness"].start]) if "roughness" in slices
                           else 1.0 - pixels[..., slices["gloss"].start])
    return colour, found


def unit_normals(encoded) -> np.ndarray:
    """(H, W, 3) encoded n·0.5+0.5 → the same with each vector scaled to length 1 (a generator's
    tanh outputs are close to, not exactly, unit vectors); a zero vector becomes straight up. A
    vector pointing into the surface (z < 0) cannot be a tangent-space normal: its z is taken as 0."""
    n = np.asarray(encoded, dtype=np.float32) * 2.0 - 1.0
    n[..., 2] = np.maximum(n[..., 2], 0.0)
    length = np.sqrt(np.einsum("ijk,ijk->ij", n, n))[..., None]
    flat = length[..., 0] < 1e-6
    n[flat] = (0.0, 0.0, 1.0)
    length[flat] = 1.0
    return (n / length) * 0.5 + 0.5


def makes_itself(maps) -> tuple[str, ...]:
    """The add-on's maps (map_options.MAP_NAMES) a model with these `maps` generates itself;
    roughness counts when it learned gloss, which is its inverse."""
    maps = set(check_map_names(tuple(maps)))
    own = {"normal": "normal", "height": "height", "ao": "ao", "roughness": "roughness", "gloss": "roughness"}
    return tuple(name for name in ("normal", "roughness", "height", "ao") if name in {own[m] for m in maps if m in own})


def source_note(maps, wanted) -> tuple[str, ...]:
    """Short lines for the Maps panel (a narrow sidebar): which of the `wanted` maps the model
    makes and which are derived from its colour, so an artist knows whether relief was learned
    or estimated. maps None: a model file not read yet (the panel never reads files while drawing)."""
    labels = {"normal": "Normal", "roughness": "Roughness", "height": "Height", "ao": "AO"}
    if maps is None:
        return ("Maps the model learned are its own,", "the others derived from the colour")
    lines: tuple[str, ...] = ()
    own = makes_itself(maps)
    learned = [labels[n] for n in wanted if n in own]
    derived = [labels[n] for n in wanted if n not in own]
    for heading, names in (("Learned by the model:", learned), ("Derived from the colour:", derived)):
        if names:
            lines += (heading, *textwrap.wrap(", ".join(names), 20))
    return lines


def with_strengths(found: dict, options) -> dict:
    """The panel's strengths applied to a model's own maps, each so that the default strength
    (map_options.MapOptions) leaves the map as the model made it and 0 flattens it, as it does
    for the derived maps:
    - normal: the tilt (x, y) scaled by strength / default strength, then unit length again;
    - roughness: spread about the texture's mean roughness, scaled by the strength;
    - ao: the occlusion (1 − ao) scaled by the strength.
    Height keeps its values: its scale is the Displacement node's (height_strength)."""
    from .map_options import MapOptions

    if options is None:
        return found
    defaults = MapOptions()
    out = dict(found)
    if "normal" in out:
        n = np.asarray(out["normal"], dtype=np.float32) * 2.0 - 1.0
        n[..., :2] *= np.float32(options.normal_strength / defaults.normal_strength)
        out["normal"] = unit_normals(n * 0.5 + 0.5)
    if "roughness" in out:
        r = out["roughness"]
        mean = np.float32(r.mean(dtype=np.float64))
        out["roughness"] = np.clip(mean + np.float32(options.roughness_strength) * (r - mean), 0.0, 1.0)
    if "ao" in out:
        out["ao"] = np.clip(1.0 - np.float32(options.ao_strength) * (1.0 - out["ao"]), 0.0, 1.0)
    return out

