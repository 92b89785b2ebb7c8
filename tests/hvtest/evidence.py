"""Running ``hallvote evidence ... --out OUT --json`` for a test: exit code, standard error, both reports.

The runs are shared fixtures (tests/hil/conftest.py, tests/hil/test_evidence.py), so each runs once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil.rig.broker import mosquitto_path
from hvtest.tools import missing

__all__ = ["ATTACK_ARGS", "EvidenceRun", "run_evidence_command"]

HALLVOTE = str(Path(sys.executable).with_name("hallvote"))
# The attack suite (its rig raised to the suite's eight keypads and a spare) and both fuzz properties.
ATTACK_ARGS = ("--scale", "town", "--keypads", "6", "--case", "attacks", "--case", "fuzz", "--fuzz-examples", "10")  # fmt: skip


@dataclass(frozen=True)
class EvidenceRun:
    returncode: int
    stderr: str
    text: str  # the Markdown report written to --out ("" when none was written)
    report: dict[str, Any] = field(default_factory=dict)  # the --json report ({} when none was printed)


def run_evidence_command(args: tuple[str, ...], out: Path, timeout: float = 900) -> EvidenceRun:
    """``hallvote evidence *args --out out --json``; skips (fails under HALLVOTE_REQUIRE_ALL=1) without Mosquitto."""
    if mosquitto_path() is None:
        missing("mosquitto is not installed (apt-get install mosquitto)")
    run = subprocess.run([HALLVOTE, "evidence", *args, "--out", str(out), "--json"],
                         capture_output=True, text=True, timeout=timeout)  # fmt: skip
    report = json.loads(run.stdout) if run.stdout.strip() else {}
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    return EvidenceRun(run.returncode, run.stderr, text, report)
