"""The hot path: a batch of the core's events written in one transaction, and the core's state loaded at start.

The schema, migrations and the API's reads and edits are :mod:`gateway.db`.
"""

from .loader import load_hall, load_sitting
from .writer import Writer

__all__ = ["Writer", "load_hall", "load_sitting"]
