"""`hallvote evidence --case attacks --case fuzz`: the report's attack and fuzz rows come from the run.

The run is the session's one (the ``attack_run`` fixture of tests/hil/conftest.py), whose rows and
tallies tests/hil/test_attacks.py checks.
"""

from __future__ import annotations

import pytest
from hvtest.evidence import EvidenceRun

from hil.attacks.report import render_attacks

pytestmark = pytest.mark.mosquitto


def test_evidence_writes_attack_and_fuzz_rows(attack_run: EvidenceRun) -> None:
    assert attack_run.returncode == 0, attack_run.stderr[-3000:]
    text = attack_run.text
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
