"""hallvote protocol v2: the contract between keypad and gateway.

Sans-I/O and MicroPython-compatible: bytes <-> frame objects, topics,
reason codes.  See SPEC.md beside this file for the byte layouts.

On MicroPython the package imports and defines nothing itself: the keypad imports only
the submodules it runs (``from protocol import codec``), so none is loaded
into its heap unasked.  On CPython every name below is here at once.
"""

import sys

if sys.implementation.name != "micropython":
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
