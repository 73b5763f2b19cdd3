"""The seed papers' generator/discriminator pairs, kept so the project can show side by side what
the texture generator improves: DCGAN (Radford et al., 2016) and the MLP GAN (Goodfellow et al.,
2014). The DCGAN discriminator also judges the texture generator (trainer/archs.py)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm


def _maybe_sn(layer: nn.Module, enabled: bool) -> nn.Module:
    return _spectral_norm(layer) if enabled else layer


def _dcgan_init(module: nn.Module) -> None:
    """The DCGAN paper's initialisation: N(0, 0.02) weights, batch-norm scales N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    """z (N, z_dim) → (N, 3, crop, crop): transposed convs 4→crop with batch-norm and ReLU, tanh."""

    def __init__(self, z_dim: int, crop: int, base_width: int = 64):
        super().__init__()
        n_up = int(math.log2(crop)) - 2
        ch = base_width * 2 ** (n_up - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, ch, 4, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True)]
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        _dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """(N, channels, crop, crop) → (N,) logits: strided 4×4 convs with batch-norm and LeakyReLU.
    channels: 3 for colour; a full-material run sees all its maps stacked.

    Batch norm normalises each batch by its own statistics, and real and fake batches pass
    separately: past the first layer each channel's mean and spread over the batch are taken out,
    so a crop is scored partly by how it differs from the crops it came with. batch_norm=False
    drops it (the convs then carry biases), as StyleGAN's discriminators do, to be held by R1
    instead; on the CPU budget it has not been shown to help (docs/recipe_trials.md)."""

    def __init__(self, crop: int, base_width: int = 64, spectral_norm: bool = False, channels: int = 3,
                 batch_norm: bool = True):
        super().__init__()
        sn = lambda layer: _maybe_sn(layer, spectral_norm)  # noqa: E731
        ch = base_width
        layers: list[nn.Module] = [sn(nn.Conv2d(channels, ch, 4, 2, 1, bias=False)), nn.LeakyReLU(0.2, True)]
        res = crop // 2
        while res > 4:
            norm = [nn.BatchNorm2d(ch * 2)] if batch_norm else []
            layers += [sn(nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=not batch_norm)), *norm, nn.LeakyReLU(0.2, True)]
            ch, res = ch * 2, res // 2
        layers += [sn(nn.Conv2d(ch, 1, 4, 1, 0, bias=False))]
        self.net = nn.Sequential(*layers)
        _dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


class MLPGenerator(nn.Module):
    """z → two ReLU hidden layers → 3·crop² pixels through tanh (the 2014 paper's generator)."""

    def __init__(self, z_dim: int, crop: int, hidden: int):
        super().__init__()
        self.crop = crop
        self.net = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(True), nn.Linear(hidden, hidden), nn.ReLU(True),
                                 nn.Linear(hidden, 3 * crop * crop), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, 3, self.crop, self.crop)


class MLPDiscriminator(nn.Module):
    """pixels → two LeakyReLU hidden layers → logit (LeakyReLU in place of the paper's maxout)."""

    def __init__(self, crop: int, hidden: int, spectral_norm: bool = False):
        super().__init__()
        sn = lambda layer: _maybe_sn(layer, spectral_norm)  # noqa: E731
        self.net = nn.Sequential(sn(nn.Linear(3 * crop * crop, hidden)), nn.LeakyReLU(0.2, True),
                                 sn(nn.Linear(hidden, hidden)), nn.LeakyReLU(0.2, True), sn(nn.Linear(hidden, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)
