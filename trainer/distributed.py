"""Several processes through torch.distributed: torchrun sets RANK/WORLD_SIZE/LOCAL_RANK and the
rendezvous address; one process per device, gloo on CPU, NCCL on CUDA.

Gradients are averaged by hand (one all_reduce per network after each backward) rather than by
wrapping G and D in DistributedDataParallel: the GAN loop backpropagates through D while D is
frozen and through G only every other pass, which DDP's bucketed hooks handle badly. Every
process starts from rank 0's weights and applies the same averaged gradients, so all ranks hold
identical weights throughout; `weights_digest` lets the run check that at the end.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_kind: str) -> DistInfo:
    """Joins the process group when launched by torchrun; a plain run is a world of one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_kind == "cuda" else "gloo")
    return info


def shutdown(info: DistInfo) -> None:
    """Leaves together: a rank that tears down its connections while rank 0 still writes the
    final samples makes gloo abort the others."""
    if info.enabled and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


def broadcast_module(module: nn.Module, info: DistInfo) -> None:
    """Copies rank 0's parameters and buffers to every rank."""
    if info.enabled:
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=0)


def average_gradients(module: nn.Module, info: DistInfo) -> None:
    if not info.enabled:
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def any_rank(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True if the flag is set on any rank (so all ranks stop together)."""
    if not info.enabled:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def sum_over_ranks(values: tuple[float, ...], info: DistInfo, device: torch.device) -> tuple[float, ...]:
    """Each value summed over every rank (the values themselves without DDP)."""
    if not info.enabled:
        return values
    total = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return tuple(float(v) for v in total.tolist())


def weights_digest(*modules: nn.Module) -> str:
    """SHA-256 of every parameter's bytes: equal digests mean bit-identical weights. (Buffers are
    left out: batch-norm running statistics legitimately differ between ranks that saw different
    data; they are not trained weights.)"""
    h = hashlib.sha256()
    for module in modules:
        for name, tensor in module.named_parameters():
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def gather_objects(value, info: DistInfo) -> list:
    """[value of rank 0, value of rank 1, …] on every rank (a list of one without DDP)."""
    if not info.enabled:
        return [value]
    out: list = [None] * info.world_size
    dist.all_gather_object(out, value)
    return out
