"""`hallvote evidence --case attacks --case fuzz`: the report's attack and fuzz rows come from the run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hil.attacks.report import render_attacks

pytestmark = pytest.mark.mosquitto

HALLVOTE = str(Path(sys.executable).with_name("hallvote"))


def test_evidence_writes_attack_and_fuzz_rows(tmp_path: Path) -> None:
    out = tmp_path / "evidence.md"
    cmd = [HALLVOTE, "evidence", "--scale", "town", "--keypads", "6", "--case", "attacks", "--case", "fuzz",
           "--fuzz-examples", "10", "--out", str(out), "--json"]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    assert "--case attacks --case fuzz --fuzz-examples 10" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and line.endswith(" |")]
    section = text.split("## Attacks through the broker", 1)[1].split("\n## ", 1)[0].splitlines()
    attack_rows = [r for r in section if r.startswith("| ") and not r.startswith("| attack ")]
    assert len(attack_rows) > 40
    for r in attack_rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        assert cells[2] == "0" and cells[5] == "yes", r  # nothing accepted, each as expected
    assert "lost **0**, double counted **0**" in text and "accepted: **0**" in text
    fuzz = next(r for r in rows if r.startswith("| decide/apply"))
    assert fuzz.split("|")[6].strip() == "0"  # violations


def test_render_shows_a_failed_row() -> None:
    ev = {"attacks": {"keypads": 6, "rows": [{"attack": "x", "tried": 1, "accepted": 1, "outcome": "ack ACCEPTED",
          "expected": "nack BAD_SIGNATURE", "held": False}], "ballots": {"expected": 1, "counted": 2, "lost": 0,
          "double_counted": 1}, "present": {}, "expected_present": {}}}  # fmt: skip
    text = "\n".join(render_attacks(ev))
    assert "| x | 1 | 1 | ack ACCEPTED | nack BAD_SIGNATURE | NO |" in text
    assert "accepted: **1**" in text and "double counted **1**" in text
    assert render_attacks(None) == [] and render_attacks({"ok": True}) == []
