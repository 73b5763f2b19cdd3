"""Batch norm in the texture generator while training, folded away for the model file.

The add-on's network (blender_ganart.core.network) has no batch norm; the trainer swaps each ConvBlock
for a training twin that has one, and `fold_batch_norm` merges the learned statistics back into
the convs, so the shipped file holds the plain core Generator.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from blender_ganart.core.network import ConvBlock, Generator, GeneratorConfig, circular_conv, upsample_conv


class BatchNormConvBlock(ConvBlock):
    """The training twin of the core's ConvBlock: batch norm between the conv and the activation.

    Batch norm keeps every channel's variance over batch and space at one while training, so
    the generator cannot drift into the flat, seed-independent output that PixelNorm alone
    allowed in our runs (per-level spatial std fell from 0.5 to 0 within a few hundred steps).
    With running statistics it is a per-channel affine map, which `fold_batch_norm` merges
    into the conv, so the shipped model file and the add-on's network never see it. The noise
    and the plane waves are added after it, so folding leaves their strengths as they are.
    """

    def __init__(self, block: ConvBlock):
        nn.Module.__init__(self)
        self.upsample = block.upsample
        self.conv = block.conv
        self.noise_weight = block.noise_weight
        self.periodic_weight = block.periodic_weight
        self.bn = nn.BatchNorm2d(block.conv.out_channels)
        self.norm = block.norm

    def convolve(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample is None:
            return self.bn(circular_conv(x, self.conv))
        return self.bn(upsample_conv(x, self.conv, self.upsample))


def batch_norm_generator(config: GeneratorConfig) -> Generator:
    """The core's Generator with every ConvBlock swapped for its batch-norm training twin."""
    g = Generator(config)
    for level in g.levels:
        for i, block in enumerate(level):
            level[i] = BatchNormConvBlock(block)
    return g


@torch.no_grad()
def fold_batch_norm(g: Generator) -> Generator:
    """A plain core Generator computing what `g` (from `batch_norm_generator`) computes in eval
    mode, i.e. with its running statistics."""
    # Its random initial weights are all replaced below: drawn without advancing torch's global
    # RNG, so that evaluating a run (which folds its generator) leaves the training's noise as it
    # was. Each evaluation used to draw them from it, so --metrics-every changed the weights a run
    # ended with, and an extra evaluation on resume set it on another course.
    with torch.random.fork_rng(devices=[]):
        plain = Generator(g.config)
    for trained_level, plain_level in zip(g.levels, plain.levels):
        for trained, block in zip(trained_level, plain_level):  # every block is a BatchNormConvBlock
            bn = trained.bn
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            block.conv.weight.copy_(trained.conv.weight * scale[:, None, None, None])
            block.conv.bias.copy_((trained.conv.bias - bn.running_mean) * scale + bn.bias)
            if trained.noise_weight is not None:
                block.noise_weight.copy_(trained.noise_weight)
            if trained.periodic_weight is not None:
                block.periodic_weight.copy_(trained.periodic_weight)
    plain.to_output.load_state_dict(g.to_output.state_dict())
    if g.waves is not None:
        plain.waves.load_state_dict(g.waves.state_dict())
    return plain.to(next(g.parameters()).device)


def has_batch_norm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


@torch.no_grad()
def recalibrated_and_folded(g: nn.Module, sample_latents: Callable[..., torch.Tensor], batches: int = 8) -> nn.Module:
    """`g` itself if it has no batch norm; else a plain Generator computing what a copy of `g`
    computes after its statistics are re-estimated (an EMA copy's weights never produced the
    running statistics it carries) on `batches` batches of fixed-seed latents from
    `sample_latents(n, generator)`, so the result is the same on every call."""
    if not has_batch_norm(g):
        return g
    g = copy.deepcopy(g)
    for m in g.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # a plain average over the calibration batches
    g.train()
    device = next(g.parameters()).device
    gen = torch.Generator().manual_seed(0x5EED)
    for _ in range(batches):
        g(sample_latents(16, gen).to(device), noise=gen)
    return fold_batch_norm(g.eval()).eval().requires_grad_(False)
