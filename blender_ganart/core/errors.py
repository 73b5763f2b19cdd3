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


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name if it has none), at most 200
    characters: what a one-line report shows of an error raised by a library."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def reason(exc: BaseException) -> str:
    """An error in a few words: an OSError's reason ("No space left on device"), else its first line."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return first_line(exc)
