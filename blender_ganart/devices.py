"""Choosing where the generator runs. The latent field is always drawn on the CPU (see latent.py),
so the device changes speed, not the texture."""

from __future__ import annotations

import torch

from .errors import SynthesisOptionsError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def available_devices() -> list[str]:
    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """'auto' → the fastest device present (cuda, then mps, then cpu); others are checked."""
    if isinstance(name, torch.device):
        return name
    name = str(name).lower()
    present = available_devices()
    if name == "auto":
        return torch.device(next(k for k in ("cuda", "mps", "cpu") if k in present))
    kind = name.split(":")[0]
    if kind not in DEVICE_CHOICES:
        raise SynthesisOptionsError(f"Unknown device '{name}'; choose one of {', '.join(DEVICE_CHOICES)}.")
    if kind not in present:
        raise SynthesisOptionsError(f"Device '{name}' is not available here; available: {', '.join(present)}.")
    return torch.device(name)
