"""The `train` command's flags, reflected from the option dataclasses in trainer/config.py: one
flag per field, named by `config.flag`, typed by the field, with its help and choices; and the
reverse, option values written back as flags (for scripts that run the trainer)."""

from __future__ import annotations

import argparse
import typing
from dataclasses import MISSING, fields

from .config import SECTIONS, field_type, flag, option_fields


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per dataclass field; defaults are SUPPRESSed so we know what the user set."""
    for name, section in SECTIONS.items():
        group = parser.add_argument_group(f"{name} options")
        for f in fields(section):
            kind = field_type(f)
            default = f.default if f.default is not MISSING else None
            shown = "per arch" if default is None else (",".join(map(str, default)) if isinstance(default, tuple) else default)
            kwargs = dict(default=argparse.SUPPRESS, dest=f.name,
                          help=f"{f.metadata.get('help', '')} (default: {shown})")
            if kind is bool:
                kwargs["action"] = argparse.BooleanOptionalAction
            elif typing.get_origin(kind) is tuple:
                kwargs["type"] = int_tuple
                kwargs["metavar"] = "N,N,…"
            else:
                kwargs["type"] = kind
                if "choices" in f.metadata:
                    kwargs["choices"] = f.metadata["choices"]
            group.add_argument(flag(f.name), **kwargs)


def given_train_options(namespace: argparse.Namespace) -> dict:
    """The options the user gave on the command line (option name → value)."""
    names = {f.name for f in option_fields()}
    return {k: v for k, v in vars(namespace).items() if k in names}


def as_flags(options: dict) -> list[str]:
    """Option values (option name → value) as the command-line flags that give them."""
    known = {f.name for f in option_fields()}
    unknown = set(options) - known
    if unknown:
        raise KeyError(f"not trainer options: {sorted(unknown)}")
    argv: list[str] = []
    for name, value in options.items():
        if isinstance(value, bool):  # the --flag / --no-flag switches
            argv.append(flag(name) if value else "--no-" + flag(name)[2:])
        elif isinstance(value, tuple):
            argv += [flag(name), ",".join(map(str, value))]
        else:
            argv += [flag(name), str(value)]
    return argv


def int_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got '{text}'") from None
