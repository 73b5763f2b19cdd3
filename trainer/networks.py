"""The networks the trainer pits against each other, and how each architecture makes a fake batch.

`texture` trains the add-on's own `blender_ganart.network.Generator` (imported, never copied) on a
periodic latent field, against a DCGAN-style discriminator (so the two presets differ in the
generator and the recipe around it). `dcgan` (Radford et al., 2016) and
`mlp` (Goodfellow et al., 2014) are the seed papers' classic generator/discriminator pairs, kept
so the project can show side by side what the texture generator improves.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from blender_ganart.latent import PixelNoise, latent_field
from blender_ganart.network import ConvBlock, Generator, GeneratorConfig, circular_conv, upsample2

from .config import TrainConfig
from .errors import ConfigError


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

    def inference_generator(self, g: nn.Module) -> nn.Module:
        """The generator to sample and evaluate: `g` itself unless the arch changes it for use."""
        return g

    def seed_noise(self, seeds: list[int]) -> PixelNoise | None:
        """Pixel noise for fixed seeds, for generators that take it."""
        return None

    def seed_latents(self, seeds: list[int]) -> torch.Tensor:
        """Latents for fixed seeds, the same in every run and process."""
        zs = []
        for seed in seeds:
            gen = torch.Generator().manual_seed(seed)
            zs.append(self.sample_latents(1, gen))
        return torch.cat(zs)


class BatchNormConvBlock(ConvBlock):
    """The training twin of the core's ConvBlock: batch norm between the conv and the activation.

    Batch norm keeps every channel's variance over batch and space at one while training, so
    the generator cannot drift into the flat, seed-independent output that PixelNorm alone
    allowed in our runs (per-level spatial std fell from 0.5 to 0 within a few hundred steps).
    With running statistics it is a per-channel affine map, which `fold_batch_norm` merges
    into the conv, so the shipped model file and the add-on's network never see it. The noise
    is added after it, so folding leaves the noise strengths as they are.
    """

    def __init__(self, block: ConvBlock):
        nn.Module.__init__(self)
        self.upsample = block.upsample
        self.conv = block.conv
        self.noise_weight = block.noise_weight
        self.bn = nn.BatchNorm2d(block.conv.out_channels)
        self.norm = block.norm

    def convolve(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample is not None:
            x = upsample2(x, self.upsample)
        return self.bn(circular_conv(x, self.conv))


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
    plain = Generator(g.config)
    for trained_level, plain_level in zip(g.levels, plain.levels):
        for trained, block in zip(trained_level, plain_level):  # every block is a BatchNormConvBlock
            bn = trained.bn
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            block.conv.weight.copy_(trained.conv.weight * scale[:, None, None, None])
            block.conv.bias.copy_((trained.conv.bias - bn.running_mean) * scale + bn.bias)
            if trained.noise_weight is not None:
                block.noise_weight.copy_(trained.noise_weight)
    plain.to_output.load_state_dict(g.to_output.state_dict())
    return plain.to(next(g.parameters()).device)


def has_batch_norm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


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
        if self.config.model.g_batch_norm:
            return batch_norm_generator(self.gconfig)
        return Generator(self.gconfig)

    @torch.no_grad()
    def warm_start(self, g: nn.Module, path: str) -> None:
        """Copies a model file's weights into a new generator `g` (its batch norms start fresh).

        A start from a trained model (a bundled one, or an older run) reaches a good texture in a
        fraction of the steps: the convs already know textures, only scale and style must move.
        A file from before pixel noise or bilinear upsampling is fine: its noise strengths start
        at zero and its convs adapt to the new upsampling.
        """
        from blender_ganart.errors import ModelFileError
        from blender_ganart.model_file import load_model

        try:
            source = load_model(path).generator
        except ModelFileError as exc:
            raise ConfigError(f"--init-from: {exc}") from None
        mine, theirs = self.gconfig, source.config
        shape = ("widths", "extra_convs", "local_dim", "global_dim", "out_channels")
        if any(getattr(mine, name) != getattr(theirs, name) for name in shape):
            raise ConfigError(f"--init-from: {path} has another architecture ("
                              + ", ".join(f"{n} {getattr(theirs, n)}" for n in shape)
                              + "); give the run the same --g-widths, --g-extra-convs, --local-dim, --global-dim")
        own = g.state_dict()
        own.update({k: v for k, v in source.state_dict().items() if k in own and own[k].shape == v.shape})
        g.load_state_dict(own)

    @torch.no_grad()
    def inference_generator(self, g: nn.Module, batches: int = 8) -> nn.Module:
        """The generator as the add-on will run it: batch norm re-estimated for these weights
        (an EMA copy's weights never produced the running statistics it carries) and folded.

        The statistics come from fixed-seed latents, so the result is the same on every call.
        """
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
            g(self.sample_latents(16, gen).to(device), noise=gen)
        return fold_batch_norm(g.eval()).eval().requires_grad_(False)

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
        full = g(z, noise=generator)  # (n, 3, P, P), periodic with period P = cells · upsampling
        n, _, period, _ = full.shape
        offsets = torch.randint(0, period, (n, 2), generator=generator).to(full.device)
        span = torch.arange(self.crop, device=full.device)
        rows = (offsets[:, :1] + span) % period  # (n, crop)
        cols = (offsets[:, 1:] + span) % period
        batch = torch.arange(n, device=full.device)[:, None, None]
        return full.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)

    def seed_latents(self, seeds: list[int]) -> torch.Tensor:
        """Exactly the fields the add-on draws for these seeds (tileable, at this field size)."""
        return torch.cat([torch.from_numpy(latent_field(self.gconfig, seed, self.cells, self.cells)) for seed in seeds])

    def seed_noise(self, seeds: list[int]) -> PixelNoise:
        """The pixel noise the add-on draws for these seeds on the same fields."""
        return PixelNoise(tuple(seeds), (self.cells, self.cells))


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
