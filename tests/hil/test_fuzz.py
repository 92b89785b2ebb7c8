"""``python -m hil.fuzz``: runs both properties and reports the counts the evidence report uses."""

from __future__ import annotations

import json
import subprocess
import sys


def test_fuzz_command_reports_counts() -> None:
    run = subprocess.run([sys.executable, "-m", "hil.fuzz", "--examples", "20", "--json"],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)
    assert out["examples"] == 20 and out["violations"] == 0
    assert out["decode"] >= 20 and out["decide"] >= 20 and out["frames"] > out["decide"]
