"""The trainer's user-facing errors: one type per concern, each with the exit status the CLI uses.

They derive from the add-on's GanArtError so a script driving both sees one family of errors.
"""

from blender_ganart.core.errors import GanArtError


class TrainerError(GanArtError):
    """A problem with a training run that the user can act on."""

    exit_status = 1


class ConfigError(TrainerError):
    """Impossible or contradictory options."""

    exit_status = 2


class DataError(TrainerError):
    """The texture folder is missing, empty, or holds no usable image."""

    exit_status = 2


class CheckpointError(TrainerError):
    """A run folder or checkpoint is missing, damaged, or from another format."""

    exit_status = 2


class ExportError(TrainerError):
    """The run cannot be written as an add-on model file."""

    exit_status = 2


class NonFiniteLossError(TrainerError):
    """A loss became NaN or infinite; the run stopped without overwriting the last checkpoint."""

    exit_status = 3
