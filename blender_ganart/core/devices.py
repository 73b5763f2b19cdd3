"""Choosing where the generator runs. The latent field is always drawn on the CPU (see latent.py),
so the device changes speed, not the texture."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

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


def module_on(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """`module` itself if its weights already live on `device`, else a copy moved there.

    A copy, not `module.to(device)`: the caller's module (a cached model the add-on shares
    between generations, or a trainer's generator) must stay where it is. The copy is small next
    to the generation: `benchmarks/bench_synthesis.py --device cuda` passes a CPU model, so its
    0.048 s for 1024² on an H100 includes it.
    """
    device = torch.device(device)
    tensors = [*module.parameters(), *module.buffers()]
    if all(_same_device(t.device, device) for t in tensors):
        return module
    with torch.inference_mode(False):  # normal tensors even when called from inference mode
        return copy.deepcopy(module).to(device)


def _same_device(have: torch.device, want: torch.device) -> bool:
    """'cuda' (no index) means the current GPU, which a tensor reports as 'cuda:0' or similar."""
    return have.type == want.type and (want.index is None or have.index == want.index)


@contextmanager
def exact_convolutions(device: torch.device) -> Iterator[None]:
    """cuDNN in true float32 with deterministic algorithms, for the span of one generation.

    By default cuDNN rounds float32 convolutions to TF32 (a 10-bit mantissa) on recent GPUs and
    picks its algorithm by shape, so one seed's texture changed with the tile size (measured on an
    H100: tiled vs whole differed by more than 2e-5) and strayed further from the CPU's. Cost, by
    `benchmarks/bench_synthesis.py --device cuda` on an H100 before and after: 1024² 0.025 →
    0.048 s, 4096² 0.53 → 0.44 s (the small network is launch-bound). Other devices: no-op.
    """
    if torch.device(device).type != "cuda":
        yield
        return
    with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True, allow_tf32=False):
        yield
