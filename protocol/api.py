"""The package's names on CPython: what ``import protocol`` gives there (``protocol.decode``,
``protocol.DecodeError``, ...).

Kept apart from ``protocol/__init__.py`` so that the keypad, which imports only the submodules it
runs, does not intern these names or load this code: on MicroPython the package imports nothing.
"""

from . import codec, consts, errors, frames, reasons, topics
from .codec import decode, decode_for_topic, encode, seal, signed_region
from .errors import DecodeError, EncodeError, ProtocolError, SignatureError

__all__ = (
    "DecodeError",
    "EncodeError",
    "ProtocolError",
    "SignatureError",
    "codec",
    "consts",
    "decode",
    "decode_for_topic",
    "encode",
    "errors",
    "frames",
    "reasons",
    "seal",
    "signed_region",
    "topics",
)
