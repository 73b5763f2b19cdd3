"""The networks the trainer pits against each other, and how each architecture makes a fake batch.

`texture` trains the add-on's own `blender_ganart.network.Generator` (imported, never copied) on a
periodic latent field, against a DCGAN-style discriminator (so the two presets differ in the
generator and the recipe around it). `dcgan` (Radford et al., 2016) and
`mlp` (Goodfellow et al., 2014) are the seed papers' classic generator/discriminator pairs, kept
so the project can show side by side what the texture generator improves.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from blender_ganart.latent import latent_field
from blender_ganart.network import Generator, GeneratorConfig

from .config import TrainConfig


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
    """(N, 3, crop, crop) → (N,) logits: strided 4×4 convs with batch-norm and LeakyReLU."""

    def __init__(self, crop: int, base_width: int = 64, spectral_norm: bool = False):
        super().__init__()
        sn = lambda layer: _maybe_sn(layer, spectral_norm)  # noqa: E731
        ch = base_width
        layers: list[nn.Module] = [sn(nn.Conv2d(3, ch, 4, 2, 1, bias=False)), nn.LeakyReLU(0.2, True)]
        res = crop // 2
        while res > 4:
            layers += [sn(nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False)), nn.BatchNorm2d(ch * 2), nn.LeakyReLU(0.2, True)]
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


class Arch:
    """What differs between architectures: building G and D, drawing latents, making a fake batch."""

    name = ""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.crop = config.data.crop_size

    def build_generator(self) -> nn.Module:
        raise NotImplementedError

    def build_discriminator(self) -> nn.Module:
        raise NotImplementedError

    def sample_latents(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def fake_batch(self, g: nn.Module, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, 3, crop, crop) in [-1, 1], as D sees fakes."""
        return g(z)

    def seed_latents(self, seeds: list[int]) -> torch.Tensor:
        """Latents for fixed seeds, the same in every run and process."""
        zs = []
        for seed in seeds:
            gen = torch.Generator().manual_seed(seed)
            zs.append(self.sample_latents(1, gen))
        return torch.cat(zs)


class TextureArch(Arch):
    """The add-on's generator on a periodic field a cell larger than the crop, cut at a random
    wrap-around offset: crops are not periodic themselves (so they look like real crops), and
    every offset relative to the latent cell grid is seen."""

    name = "texture"

    def __init__(self, config: TrainConfig):
        super().__init__(config)
        self.gconfig: GeneratorConfig = config.generator_config()
        self.cells = math.ceil(self.crop / self.gconfig.upsampling) + 1

    def build_generator(self) -> Generator:
        return Generator(self.gconfig)

    def build_discriminator(self) -> nn.Module:
        # The DCGAN discriminator (strided convs + batch norm): it learns quickly enough on a CPU
        # budget; a pooled, norm-free D let this generator collapse to one output in our trials.
        m = self.config.model
        return DCGANDiscriminator(self.crop, m.d_width, bool(m.spectral_norm))

    def sample_latents(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, latent_dim, cells, cells): i.i.d. local noise plus one global code per image,
        the same distribution blender_ganart.latent.latent_field draws for a seed."""
        c = self.gconfig
        local = torch.randn(n, c.local_dim, self.cells, self.cells, generator=generator)
        code = torch.randn(n, c.global_dim, 1, 1, generator=generator).expand(-1, -1, self.cells, self.cells)
        return torch.cat([local, code], dim=1)

    def fake_batch(self, g: nn.Module, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        full = g(z)  # (n, 3, P, P), periodic with period P = cells · upsampling
        n, _, period, _ = full.shape
        offsets = torch.randint(0, period, (n, 2), generator=generator).to(full.device)
        span = torch.arange(self.crop, device=full.device)
        rows = (offsets[:, :1] + span) % period  # (n, crop)
        cols = (offsets[:, 1:] + span) % period
        batch = torch.arange(n, device=full.device)[:, None, None]
        return full.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)

    def seed_latents(self, seeds: list[int]) -> torch.Tensor:
        """Exactly the fields the add-on draws for these seeds (tileable, at this field size)."""
        return torch.cat([latent_field(self.gconfig, seed, self.cells, self.cells) for seed in seeds])


class DCGANArch(Arch):
    name = "dcgan"

    def build_generator(self) -> nn.Module:
        return DCGANGenerator(self.config.model.z_dim, self.crop, self.config.model.g_base_width)

    def build_discriminator(self) -> nn.Module:
        return DCGANDiscriminator(self.crop, self.config.model.g_base_width, bool(self.config.model.spectral_norm))

    def sample_latents(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.config.model.z_dim, generator=generator)


class MLPArch(DCGANArch):
    name = "mlp"

    def build_generator(self) -> nn.Module:
        return MLPGenerator(self.config.model.z_dim, self.crop, self.config.model.g_base_width * 16)

    def build_discriminator(self) -> nn.Module:
        return MLPDiscriminator(self.crop, self.config.model.g_base_width * 16, bool(self.config.model.spectral_norm))


def build_arch(config: TrainConfig) -> Arch:
    return {"texture": TextureArch, "dcgan": DCGANArch, "mlp": MLPArch}[config.model.arch](config)
