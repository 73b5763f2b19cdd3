"""How often D's augmentations apply, adapted to how far D has run ahead (Karras et al. 2020, ADA).

A D trained on few images can learn the real crops by heart; ADA's answer is to augment each
image with a probability p that rises while D is sure of the reals and falls while it is not, so
the augmentations hold D back only as far as it needs. Its signal is r = E[sign(D(real))]: 0 when
D cannot tell reals from fakes, 1 when every real crop scores as real. (On Ground (material)'s 17
map sets p reached 1 within 900 steps and the run did not come closer to its data: D's lead there
comes from the generated normal maps, not memorisation; docs/model_history.md.) Every `INTERVAL` D steps p moves by the images seen over `kimg`
thousand images, up when r is above the target and down when below, kept in [0, 1].

Off (target 0), p stays 1: every augmentation applies to every image, as before this existed.
p is part of the training state, so a resume continues it, and the signs are summed over every
process before p moves, so all ranks keep the same p.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import distributed as ddp

INTERVAL = 4  # D steps between adjustments, as in ADA


@dataclass
class AugmentStrength:
    target: float  # the E[sign(D(real))] to hold; 0 = not adaptive: p stays at 1
    kimg: float  # thousands of images for p to move from 0 to 1
    p: float = 1.0
    signs: float = 0.0  # the sum of sign(D(real)) since the last adjustment
    count: int = 0  # the real logits behind it
    steps: int = 0  # D steps since the last adjustment
    last_r: float | None = None  # the signal at the last adjustment, for the metrics line

    @property
    def adaptive(self) -> bool:
        return self.target > 0

    @property
    def probability(self) -> float:
        """The chance each augmentation has to apply to an image: 1 unless adaptive (a run resumed
        without --ada-target goes back to augmenting every image)."""
        return self.p if self.adaptive else 1.0

    def record(self) -> dict:
        """The metrics line's fields: p and the signal it followed (nothing when not adaptive)."""
        if not self.adaptive:
            return {}
        record = {"augment_p": round(self.p, 4)}
        if self.last_r is not None:
            record["d_real_sign"] = round(self.last_r, 4)
        return record

    def observe(self, real_logits: torch.Tensor, info: ddp.DistInfo, device: torch.device) -> None:
        """Counts one D step's real logits; every INTERVAL steps, moves p (the same on every rank)."""
        if not self.adaptive:
            return
        self.signs += float(torch.sign(real_logits.detach().float()).sum())
        self.count += real_logits.numel()
        self.steps += 1
        if self.steps < INTERVAL:
            return
        signs, count = ddp.sum_over_ranks((self.signs, float(self.count)), info, device)
        self.last_r = signs / max(count, 1.0)
        direction = (self.last_r > self.target) - (self.last_r < self.target)
        self.p = min(1.0, max(0.0, self.p + direction * count / (self.kimg * 1000)))
        self.signs, self.count, self.steps = 0.0, 0, 0

    def state_dict(self) -> dict:
        """Everything a resume needs to go on bit-exactly, also from a stop between adjustments."""
        return {"p": self.p, "signs": self.signs, "count": self.count, "steps": self.steps, "last_r": self.last_r}

    def load_state_dict(self, state: dict) -> None:
        self.p, self.signs, self.count, self.steps = state["p"], state["signs"], state["count"], state["steps"]
        self.last_r = state["last_r"]
