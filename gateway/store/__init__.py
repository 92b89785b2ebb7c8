"""The gateway's durable store: loading the core's state, writing its events (SQLite or PostgreSQL)."""

from .loader import load_hall, load_sitting
from .writer import Writer

__all__ = ["Writer", "load_hall", "load_sitting"]
