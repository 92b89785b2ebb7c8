"""The keypad firmware's version: the one place it is set.

The board reports it (``Board.firmware_version``, in the hello and status
frames) and ``hallvote firmware build`` writes it into the build manifest.
Bump it for every build that goes onto keypads.
"""

__all__ = ["VERSION", "string"]

VERSION = (0, 1, 0)


def string() -> str:
    """``"major.minor.patch"``."""
    return "%d.%d.%d" % VERSION
