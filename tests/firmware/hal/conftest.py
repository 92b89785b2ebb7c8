"""Make ``fakehw`` (simulated RC522 and the mpstubs' state, shared with the MicroPython tests) importable."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

if "fakehw" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("fakehw", Path(__file__).with_name("fakehw.py"))
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["fakehw"] = _module
    _spec.loader.exec_module(_module)
