"""The package's names on CPython: what ``import protocol`` gives there (``protocol.decode``,
``protocol.DecodeError``, ...).

Kept apart from ``protocol/__init__.py`` so that the keypad, which imports only the submodules it
runs, does not intern these names or load this code: on MicroPython the package imports nothing.
"""

import sys

from . import codec, consts, errors, frames, reasons, topics
from .codec import decode, decode_for_topic, encode, seal, signed_region
from .errors import DecodeError, EncodeError, ProtocolError

if sys.implementation.name != "micropython":  # the gateway's; protocol.errors has it on CPython only
    from .errors import SignatureError

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
