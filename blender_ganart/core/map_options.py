"""Which maps to make and how strong: plain data, no NumPy (the operator builds it before any
check of the environment, and Blender's own Python may have no NumPy until PyTorch is added)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from .errors import SynthesisOptionsError

MAP_NAMES = ("normal", "roughness", "height", "ao")  # the derived maps, in the order they are made
MAX_STRENGTH = 100.0  # every map strength runs from 0 to this


@dataclass(frozen=True)
class MapOptions:
    """Which maps to make and how strong; plain data shared by the operator, the API and compute.

    color: wire the colour image to Base Color (it is always generated: the other maps come from it).
    normal_strength: s in n = normalise(−s·∇h, 1), ∇h per pixel with h in [0, 1].
    roughness_strength: how far roughness moves from its base (0 = a flat 0.6).
    height_strength: the Displacement node's Scale in Blender (scene units for the full 0–1 range).
    ao_strength: how much occlusion darkens (0 = white map, 1 = default, 2 = twice as deep).
    """

    color: bool = True
    normal: bool = False
    roughness: bool = False
    height: bool = False
    ao: bool = False
    normal_strength: float = 2.0  # mean tilt about 10° on the bundled models
    roughness_strength: float = 1.0
    height_strength: float = 0.02
    ao_strength: float = 1.0

    @property
    def derived(self) -> tuple[str, ...]:
        """The names of the derived maps wanted, in MAP_NAMES order."""
        return tuple(name for name in MAP_NAMES if getattr(self, name))

    def validated(self) -> "MapOptions":
        for item in fields(self):
            value = getattr(self, item.name)
            if item.type in ("bool", bool):
                if not isinstance(value, bool):
                    raise SynthesisOptionsError(f"Map option {item.name} must be True or False, got {value!r}.")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_STRENGTH \
                    or not math.isfinite(value):
                raise SynthesisOptionsError(f"Map strength {item.name} must be a number from 0 to {MAX_STRENGTH:g}, "
                                            f"got {value!r}.")
        return self

    @classmethod
    def from_spec(cls, spec) -> "MapOptions | None":
        """None → None (colour only, as before maps existed); a MapOptions as is; names such as
        ("normal", "roughness") → those maps at default strengths; a dict {name: strength or None}
        → those maps with those strengths ("color" may be listed too: colour is always made)."""
        if spec is None or isinstance(spec, cls):
            return spec
        if isinstance(spec, str):
            spec = (spec,)
        items = spec.items() if isinstance(spec, dict) else ((name, None) for name in spec)
        changes = {name: False for name in MAP_NAMES}
        for name, strength in items:
            key = {"colour": "color", "occlusion": "ao"}.get(name, name)
            if key != "color" and key not in MAP_NAMES:
                raise SynthesisOptionsError(f"Unknown map '{name}'; choose from color, {', '.join(MAP_NAMES)}.")
            changes[key] = True
            if strength is not None:
                if key == "color":
                    raise SynthesisOptionsError("The colour map has no strength.")
                changes[f"{key}_strength"] = strength
        return replace(cls(), **changes).validated()
