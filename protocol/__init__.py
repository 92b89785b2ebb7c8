"""hallvote protocol v2: the contract between keypad and gateway.

Sans-I/O and MicroPython-compatible: bytes <-> frame objects, topics,
reason codes.  See SPEC.md beside this file for the byte layouts.

On MicroPython the package imports and defines nothing itself: the keypad imports only
the submodules it runs (``from protocol import codec``), so none is loaded
into its heap unasked.  On CPython every name of :mod:`protocol.api` is here at once.
"""

import sys

if sys.implementation.name != "micropython":  # every name, from protocol/api.py
    from .api import *  # noqa: F403
    from .api import __all__ as __all__
