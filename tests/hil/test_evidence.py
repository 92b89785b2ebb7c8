"""`hallvote evidence` at small size: the report's rows come from the run; the scan and the tamper check can fail."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hvtest.tools import missing

from hil.evidence import CASES, render, run_evidence, secret_scan, tamper_check
from hil.rig import SimRig
from hil.rig.store import pg_bin
from hil.scenario import load, plan
from hil.scenario.runner import Runner
from hil.scenario.spec import resized

pytestmark = pytest.mark.mosquitto

HALLVOTE = str(Path(sys.executable).with_name("hallvote"))


def test_scan_finds_a_planted_frame_and_tamper_check_detects_edits(
    rig: Callable[..., SimRig], tmp_path: Path
) -> None:
    s = resized(load("town"), 4)
    r = rig(s.seats, seed_value=s.seed)
    report = Runner(r, plan(s), speed=0.0, show_progress=False).run()
    assert report["ok"], report
    secret = {mid for mid, m in zip(report["motion_ids"], s.motions, strict=True) if m.secret}
    assert secret  # the town's project selection is secret
    clean = secret_scan(r, secret)
    assert clean["frames"] > 0 and clean["found"] == 0 and not any(clean["table_links"].values())
    assert "hallvote.db" in clean["files"] and "gateway.log" in clean["files"]
    with (r.workdir / "gateway.log").open("a") as log:  # a leak: a secret frame's signature in a log
        from protocol import codec, frames

        votes = [raw for kp in r.keypads.values() for raw in kp.sent
                 if isinstance(f := codec.decode(raw), frames.Vote) and f.motion_id in secret]  # fmt: skip
        log.write(votes[0][-64:].hex() + "\n")
    leak = secret_scan(r, secret)
    assert leak["found"] == 1 and leak["where"] == [leak["where"][0]] and "signature hex in gateway.log" in leak["where"][0]
    tamper = tamper_check(r, tmp_path)
    assert tamper["edit"]["detected"] and tamper["delete"]["detected"]


def test_evidence_command_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "evidence.md"
    run = subprocess.run(
        [HALLVOTE, "evidence", "--scale", "town", "--keypads", "5", "--case", "checkin-restart", "--out", str(out),
         "--processes", "2"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    assert "hallvote evidence --scale town --keypads 5 --case checkin-restart" in text and "--processes 2" in text
    row = next(line for line in text.splitlines() if line.startswith("| checkin-restart ("))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "1x kill_gateway" and cells[5] == "0" and cells[6] == "0" and cells[8] == "yes"
    assert int(cells[3]) == int(cells[4]) > 0  # every expected ballot counted


STORE_CASES = ("db-unreachable", "disk-full", "disk-full-pg")


@pytest.mark.parametrize("case", [c.name for c in CASES])
def test_town_fault_matrix_case_holds(case: str, tmp_path: Path) -> None:
    """CI's fault matrix: every case of ``hallvote evidence`` (town, 5 keypads), no skips, every check held."""
    if case in ("db-unreachable", "disk-full", "disk-full-pg"):
        if pg_bin("initdb") is None or pg_bin("pg_ctl") is None:
            missing("PostgreSQL server programs (initdb, pg_ctl) are needed for a private cluster")
        if os.geteuid() != 0:
            missing("mounting the small disks of the store cases needs root")
    report = run_evidence(scale="town", keypads=5, cases=[case], workdir=tmp_path, say=lambda _m: None)
    [r] = report["rows"]
    assert r["case"] == case
    assert r["ok"], (r["failed_checks"], r["secret_scan"]["where"])
    assert r["lost"] == 0 and r["double_counted"] == 0 and r["shown_not_counted"] == 0, r
    assert r["ballots_counted"] == r["ballots_expected"] > 0, r
    assert r["results_match"] and r["memory_equals_store"] and r["audit_intact"], r
    assert r["faults"], r  # the case injected its faults
    if case in STORE_CASES:  # the store really went away: frames were answered BUSY meanwhile
        assert r["busy"] > 0, r
    if case == "keypad-swap":
        assert r["faults"] == {"swap": len(load("town").motions)}  # one per motion
    assert f"| {case} (" in render(report, "pytest")
    print(f"{case} (town, 5 keypads): {report['seconds']} s")
