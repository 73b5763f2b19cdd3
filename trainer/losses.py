"""GAN losses as small pure functions of D's logits, plus the gradient penalties.

Each d_* returns the discriminator's loss (mean over the batch), each g_* the generator's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_logistic(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """-log D(x) - log(1 - D(G(z))): the original D loss (used by ns and minimax)."""
    return (F.softplus(-real) + F.softplus(fake)).mean()


def g_nonsaturating(fake: torch.Tensor) -> torch.Tensor:
    """-log D(G(z)): strong gradients while D is winning (Goodfellow et al., 2014, §3)."""
    return F.softplus(-fake).mean()


def g_minimax(fake: torch.Tensor) -> torch.Tensor:
    """log(1 - D(G(z))): the literal minimax objective; saturates early in training."""
    return -F.softplus(fake).mean()


def d_hinge(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return (F.relu(1 - real) + F.relu(1 + fake)).mean()


def g_hinge(fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean()


def d_least_squares(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((real - 1).pow(2) + fake.pow(2)).mean()


def g_least_squares(fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * (fake - 1).pow(2).mean()


def d_wasserstein(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return (fake - real).mean()


def g_wasserstein(fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean()


LOSSES = {
    "ns": (d_logistic, g_nonsaturating),
    "minimax": (d_logistic, g_minimax),
    "hinge": (d_hinge, g_hinge),
    "lsgan": (d_least_squares, g_least_squares),
    "wgan-gp": (d_wasserstein, g_wasserstein),
}


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """Mean squared gradient norm of D at real images (Mescheder et al., 2018); needs
    real_images.requires_grad and real_logits computed from them."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return grad.float().pow(2).sum(dim=(1, 2, 3)).mean()


def gradient_penalty(discriminator, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al., 2017): (‖∇D‖ − 1)² at random points between real and fake."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(mixed).sum(), mixed, create_graph=True)
    return (grad.float().flatten(1).norm(dim=1) - 1).pow(2).mean()
