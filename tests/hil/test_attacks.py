"""The attack suite through the real broker and the real gateway: every attack refused, the tallies exact.

The suite runs once per session, in ``hallvote evidence --case attacks`` (the ``attack_run`` fixture of
tests/hil/conftest.py, whose report tests/hil/attacks/test_report.py checks); here its rows and tallies.
"""

from __future__ import annotations

import pytest
from hvtest.evidence import ATTACK_ARGS, EvidenceRun

from hil.attacks import MIN_KEYPADS
from protocol import reasons

pytestmark = pytest.mark.mosquitto

# Every refusal a frame can earn (SPEC section 5) but BUSY (the store down: tests/gateway/store).
FRAME_REFUSALS = {name for code, name, *_ in reasons.TABLE if reasons.is_refusal(code) and name != "BUSY"}


def test_every_attack_is_refused_and_the_tallies_hold_only_the_deputies(attack_run: EvidenceRun) -> None:
    assert attack_run.returncode == 0, attack_run.stderr[-3000:]
    assert int(ATTACK_ARGS[ATTACK_ARGS.index("--keypads") + 1]) < MIN_KEYPADS  # so the rig is raised to 8
    report = attack_run.report["attacks"]["attacks"]
    assert report["keypads"] == MIN_KEYPADS
    rows = {row["attack"]: row for row in report["rows"]}
    bad = [row for row in report["rows"] if not row["held"]]
    assert not bad, bad
    assert all(row["accepted"] == 0 for row in report["rows"])
    nacked = {
        row["outcome"].removeprefix("nack ") for row in report["rows"] if row["outcome"].startswith("nack ")
    }
    assert nacked == FRAME_REFUSALS, FRAME_REFUSALS ^ nacked  # each one produced through the broker
    flood = next(row for name, row in rows.items() if name.startswith("flood:"))
    assert flood["tried"] == 10 * MIN_KEYPADS and flood["accepted"] == 0, flood
    assert sum(flood["detail"]["answers"].values()) == flood["tried"], flood  # every frame answered
    assert rows["plain TCP (no TLS) on the keypads' port"]["outcome"] == "no CONNACK"
    assert rows["a revoked keypad logs in"]["outcome"].startswith("refused")
    assert report["tallies"] == report["expected_tallies"], report["tallies"]
    assert report["present"] == report["expected_present"]
    assert report["ok"]
