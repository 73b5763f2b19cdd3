"""What differs between architectures: building G and D, drawing latents, making a fake batch.

`texture` trains the add-on's own `blender_ganart.core.network.Generator` (imported, never copied) on a
periodic latent field, against a DCGAN-style discriminator (so the two presets differ in the
generator and the recipe around it). `dcgan` and `mlp` are the seed papers' classic pairs
(trainer/baselines.py), kept so the project can show side by side what the texture generator improves.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from blender_ganart.core.latent import PixelNoise, latent_field
from blender_ganart.core.model_maps import channel_slices
from blender_ganart.core.network import Generator, GeneratorConfig

from . import warm_start
from .augment import wrap_crop
from .baselines import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from .batch_norm import batch_norm_generator, recalibrated_and_folded
from .config import TrainConfig
from .level_waves import hold_level
from .normals import unit_normals_torch
from .quiet_noise import hold_quiet
from .two_scale import TwoScaleDiscriminator


class Arch:
    """What differs between architectures: building G and D, drawing latents, making a fake batch."""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.crop = config.data.crop_size

    def build_generator(self) -> nn.Module:
        raise NotImplementedError

    def build_discriminator(self) -> nn.Module:
        raise NotImplementedError

    def sample_latents(self, n: int, generator: torch.Generator | None = None, crop: int | None = None) -> torch.Tensor:
        """Latents for n crops of `crop` px (None: the training crop)."""
        raise NotImplementedError

    def fake_batch(self, g: nn.Module, z: torch.Tensor, generator: torch.Generator | None = None,
                   crop: int | None = None) -> torch.Tensor:
        """(n, 3, crop, crop) in [-1, 1], as D sees fakes (crop: as sample_latents drew z for)."""
        return g(z)

    def makes_crops_of(self, crop: int) -> bool:
        """Whether fake_batch can make crops of this size (fixed-size generators: only their own)."""
        return crop == self.crop

    def inference_generator(self, g: nn.Module) -> nn.Module:
        """The generator to sample and evaluate: `g` itself unless the arch changes it for use."""
        return g

    def seed_noise(self, seeds: list[int], size: int | None = None) -> PixelNoise | None:
        """Pixel noise for fixed seeds, for generators that take it."""
        return None

    def seed_latents(self, seeds: list[int], size: int | None = None) -> torch.Tensor:
        """Latents for fixed seeds, the same in every run and process (size: the texture's, which
        only a generator of any size can choose)."""
        if size not in (None, self.crop):
            raise ValueError(f"this generator makes {self.crop} px images only, not {size} px")
        zs = []
        for seed in seeds:
            gen = torch.Generator().manual_seed(seed)
            zs.append(self.sample_latents(1, gen))
        return torch.cat(zs)


class TextureArch(Arch):
    """The add-on's generator on a periodic field a cell larger than the crop, cut at a random
    wrap-around offset: crops are not periodic themselves (so they look like real crops), and
    every offset relative to the latent cell grid is seen."""

    def __init__(self, config: TrainConfig):
        super().__init__(config)
        self.gconfig: GeneratorConfig = config.generator_config()
        self.cells = math.ceil(self.crop / self.gconfig.upsampling) + 1
        self.normal = channel_slices(config.map_list()).get("normal")

    def build_generator(self) -> Generator:
        g = batch_norm_generator(self.gconfig) if self.config.model.g_batch_norm else Generator(self.gconfig)
        self._hold_weights(g)
        return g

    def _hold_weights(self, g: nn.Module) -> None:
        """The weights a run holds fixed: level waves' column parts, quiet levels' noise strengths."""
        if self.config.model.periodic_axis == "rows":
            hold_level(g)
        hold_quiet(g, self.config.model.g_quiet_levels)

    def warm_start(self, g: nn.Module, path: str, d: nn.Module | None = None) -> None:
        """`--init-from`: a model file's weights into `g`, or a run folder's G and D into `g` and
        `d` (trainer/warm_start.py). A start from a trained model reaches a good texture in a
        fraction of the steps: the convs already know textures, only scale and style must move."""
        if Path(path).is_dir():
            if d is None:
                raise ValueError("a run folder starts the discriminator too: pass it")
            warm_start.from_run_folder(g, d, Path(path))
        else:
            warm_start.from_model_file(g, self.gconfig, path)
        self._hold_weights(g)  # a source with free waves gives level ones here, one with noise quiet levels

    def inference_generator(self, g: nn.Module) -> nn.Module:
        """The generator as the add-on will run it: batch norm (if any) re-estimated for these
        weights from fixed-seed latents and folded into the convs."""
        return recalibrated_and_folded(g, self.sample_latents)

    def build_discriminator(self) -> nn.Module:
        # The DCGAN discriminator (strided convs + batch norm): it learns quickly enough on a CPU
        # budget; a pooled, norm-free D let this generator collapse to one output in our trials.
        m = self.config.model
        if m.d_context_scale > 1:
            return TwoScaleDiscriminator(self.crop, m.d_context_scale, m.d_width, bool(m.spectral_norm),
                                         self.gconfig.out_channels, batch_norm=bool(m.d_batch_norm))
        return DCGANDiscriminator(self.crop, m.d_width, bool(m.spectral_norm), self.gconfig.out_channels,
                                  batch_norm=bool(m.d_batch_norm))

    def sample_latents(self, n: int, generator: torch.Generator | None = None, crop: int | None = None) -> torch.Tensor:
        """(n, latent_dim, cells, cells): i.i.d. local noise plus one global code per image,
        the same distribution blender_ganart.core.latent.latent_field draws for a seed."""
        c = self.gconfig
        cells = self.cells if crop is None else math.ceil(crop / c.upsampling) + 1
        local = torch.randn(n, c.local_dim, cells, cells, generator=generator)
        code = torch.randn(n, c.global_dim, 1, 1, generator=generator).expand(-1, -1, cells, cells)
        return torch.cat([local, code], dim=1)

    def fake_batch(self, g: nn.Module, z: torch.Tensor, generator: torch.Generator | None = None,
                   crop: int | None = None) -> torch.Tensor:
        full = g(z, noise=generator)  # (n, 3, P, P), periodic with period P = cells · upsampling
        n, _, period, _ = full.shape
        crop = crop or self.crop
        offsets = torch.randint(0, period, (n, 2), generator=generator).to(full.device)
        return unit_normals_torch(wrap_crop(full, offsets[:, :1], offsets[:, 1:], crop, crop), self.normal)

    def makes_crops_of(self, crop: int) -> bool:
        return True  # any size: the field is drawn a cell larger than the crop

    def seed_latents(self, seeds: list[int], size: int | None = None) -> torch.Tensor:
        """Exactly the fields the add-on draws for these seeds' tileable textures of `size` px
        (None: the sample grid's field, a cell larger than the crop)."""
        cells = self._seed_cells(size)
        return torch.cat([torch.from_numpy(latent_field(self.gconfig, seed, cells, cells)) for seed in seeds])

    def seed_noise(self, seeds: list[int], size: int | None = None) -> PixelNoise:
        """The pixel noise the add-on draws for these seeds on the same fields."""
        cells = self._seed_cells(size)
        return PixelNoise(tuple(seeds), (cells, cells))

    def _seed_cells(self, size: int | None) -> int:
        if size is None:
            return self.cells
        if size % self.gconfig.upsampling:
            raise ValueError(f"a seed texture is a whole number of {self.gconfig.upsampling} px cells, not {size} px")
        return size // self.gconfig.upsampling


class DCGANArch(Arch):
    def build_generator(self) -> nn.Module:
        return DCGANGenerator(self.config.model.z_dim, self.crop, self.config.model.g_base_width)

    def build_discriminator(self) -> nn.Module:
        m = self.config.model
        return DCGANDiscriminator(self.crop, m.g_base_width, bool(m.spectral_norm), batch_norm=bool(m.d_batch_norm))

    def sample_latents(self, n: int, generator: torch.Generator | None = None, crop: int | None = None) -> torch.Tensor:
        if crop not in (None, self.crop):
            raise ValueError(f"a {self.config.model.arch} generator makes {self.crop} px images only, not {crop} px")
        return torch.randn(n, self.config.model.z_dim, generator=generator)


class MLPArch(DCGANArch):
    def build_generator(self) -> nn.Module:
        return MLPGenerator(self.config.model.z_dim, self.crop, self.config.model.g_base_width * 16)

    def build_discriminator(self) -> nn.Module:
        return MLPDiscriminator(self.crop, self.config.model.g_base_width * 16, bool(self.config.model.spectral_norm))


def build_arch(config: TrainConfig) -> Arch:
    return {"texture": TextureArch, "dcgan": DCGANArch, "mlp": MLPArch}[config.model.arch](config)
