"""The exceptions the add-on and the trainer show to users.

One base type, so the Blender operators can turn any of them into a one-line report, and one
subtype per kind of problem, so callers and tests can tell them apart.
"""


class GanArtError(Exception):
    """A problem a user can act on; its message is written for them."""


class ModelFileError(GanArtError):
    """A model file is missing, damaged, of another version, or unsafe."""


class SynthesisOptionsError(GanArtError, ValueError):
    """Impossible synthesis options: a size out of range, a bad seed, an unknown device."""


class Cancelled(GanArtError):
    """The user cancelled a generation; nothing was produced."""
