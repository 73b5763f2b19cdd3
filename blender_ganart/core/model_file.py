"""The generator file: weights, architecture config and model card in one file that cannot run code.

The file is a `torch.save` of plain data (dicts, lists, strings, numbers, tensors). It is read by
model_reader.read_model, without torch, by an unpickler that builds nothing but those (see there),
and everything read is checked before a network is built; every problem surfaces as one exception
type with a sentence a user can act on. This module adds the PyTorch side: writing files, and
building the torch network from what was read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import ModelFileError, reason
from .model_reader import FORMAT_NAME, FORMAT_VERSION, MODEL_SUFFIX, ModelCard, ModelData, read_model  # noqa: F401
from .network import Generator, GeneratorConfig


@dataclass
class LoadedModel:
    """A ready-to-run generator with the card and path it came from."""

    generator: Generator
    card: ModelCard
    path: Path | None = None

    @property
    def config(self) -> GeneratorConfig:
        return self.generator.config


def save_model(
    path: str | os.PathLike, generator: Generator, card: ModelCard, half: bool = True
) -> None:
    """Writes atomically: a crash mid-write never leaves a half file under the final name, and a
    failed write leaves no temporary file (ModelFileError says why).

    half=True stores the weights as float16, halving the file (the bundled models must stay
    small); they are widened back to float32 on load, so the file alone decides the pixels.
    """
    if len(card.channels) != generator.config.out_channels:
        raise ValueError("the model card names a different number of channels than the network has")
    payload = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "config": generator.config.to_dict(),
        "card": card.to_dict(),
        "state_dict": {
            k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu()).contiguous()
            for k, v in generator.state_dict().items()
        },
    }
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:  # torch reports an unwritable file as a RuntimeError
        tmp.unlink(missing_ok=True)
        raise ModelFileError(f"Could not write the model file {path} ({reason(exc)}).") from None


def load_model(path: str | os.PathLike) -> LoadedModel:
    """Reads and validates a model file; raises ModelFileError with a plain-language message."""
    data = read_model(path)
    return LoadedModel(generator=torch_generator(data), card=data.card, path=data.path)


def torch_generator(data: ModelData) -> Generator:
    """The PyTorch network of a checked model file, in eval mode without gradients."""
    generator = Generator(data.config)
    generator.load_state_dict({k: torch.from_numpy(v) for k, v in data.weights.items()})
    return generator.eval().requires_grad_(False)
