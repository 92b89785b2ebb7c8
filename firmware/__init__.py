"""The keypad firmware (docs/firmware.md)."""

import sys


def unload(name: str) -> None:
    """Forget module ``name`` on MicroPython, so the GC can take its code back once nothing else
    refers to it (bytecode loaded from a ``.mpy`` lives in the heap there).  Importing it again
    loads it again.  A no-op on CPython, where tests and the rig hold on to their modules."""
    if sys.implementation.name != "micropython":
        return
    sys.modules.pop(name, None)
    parent, _, child = name.rpartition(".")
    package = sys.modules.get(parent)
    if package is not None and child in package.__dict__:
        delattr(package, child)
