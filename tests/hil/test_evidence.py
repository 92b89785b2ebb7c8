"""`hallvote evidence` at small size: the report's rows come from the run; the scan and the tamper check can fail.

The fault matrix (the ``matrix`` fixture) runs each case as ``hallvote evidence --scale town --keypads 5
--case CASE --json``, a process with a rig of its own, MATRIX_JOBS cases at a time (a case mostly waits
on its faults and keypads); one test per case checks its row.  The command's own test checks the report
the ``checkin-restart`` run wrote.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from hvtest.evidence import EvidenceRun, run_evidence_command
from hvtest.tools import missing

from hil.evidence import CASES, render, secret_scan, tamper_check
from hil.rig import SimRig
from hil.rig.store import pg_bin
from hil.scenario import load, plan
from hil.scenario.runner import Runner
from hil.scenario.spec import resized

pytestmark = pytest.mark.mosquitto

COMMAND_CASE = "checkin-restart"  # the case whose written report the command's test checks
STORE_CASES = ("db-unreachable", "disk-full", "disk-full-pg")
MATRIX_JOBS = 2  # fault cases running at once


def _store_tools_missing() -> str | None:
    if pg_bin("initdb") is None or pg_bin("pg_ctl") is None:
        return "PostgreSQL server programs (initdb, pg_ctl) are needed for a private cluster"
    if os.geteuid() != 0:
        return "mounting the small disks of the store cases needs root"
    return None


def _selected(session: pytest.Session) -> set[str]:
    """The cases this session's selected tests check."""
    wanted = set()
    for item in session.items:
        if item.name.startswith("test_town_fault_matrix_case_holds["):
            wanted.add(item.callspec.params["case"])  # type: ignore[attr-defined]
        elif item.name == "test_evidence_command_writes_the_report":
            wanted.add(COMMAND_CASE)
    return wanted


@pytest.fixture(scope="module")
def matrix(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[dict[str, Future[EvidenceRun]]]:
    """Every selected fault case started as its own ``hallvote evidence`` process, MATRIX_JOBS at a time (the
    store cases only where their tools are: their tests say what is missing)."""
    root = tmp_path_factory.mktemp("matrix")
    wanted = _selected(request.session)
    names = [c.name for c in CASES if c.name in wanted and (c.name not in STORE_CASES or _store_tools_missing() is None)]
    with ThreadPoolExecutor(MATRIX_JOBS, thread_name_prefix="matrix") as pool:
        args = {name: ("--scale", "town", "--keypads", "5", "--case", name) for name in names}
        if COMMAND_CASE in args:  # the command's test also runs its keypads in two processes
            args[COMMAND_CASE] += ("--processes", "2")
        yield {name: pool.submit(run_evidence_command, args[name], root / f"{name}.md", 600) for name in names}
        pool.shutdown(cancel_futures=True)


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


def test_evidence_command_writes_the_report(matrix: dict[str, Future[EvidenceRun]]) -> None:
    run = matrix[COMMAND_CASE].result()
    assert run.returncode == 0, run.stderr[-3000:]
    text = run.text
    assert "hallvote evidence --scale town --keypads 5 --case checkin-restart" in text and "--processes 2" in text
    row = next(line for line in text.splitlines() if line.startswith("| checkin-restart ("))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "1x kill_gateway" and cells[5] == "0" and cells[6] == "0" and cells[8] == "yes"
    assert int(cells[3]) == int(cells[4]) > 0  # every expected ballot counted


@pytest.mark.parametrize("case", [c.name for c in CASES])
def test_town_fault_matrix_case_holds(case: str, matrix: dict[str, Future[EvidenceRun]]) -> None:
    """CI's fault matrix: every case of ``hallvote evidence`` (town, 5 keypads), no skips, every check held."""
    if case in STORE_CASES and (why := _store_tools_missing()) is not None:
        missing(why)
    run = matrix[case].result()
    assert run.report, run.stderr[-3000:]
    report = run.report
    [r] = report["rows"]
    assert r["case"] == case
    assert "error" not in r, r["error"]  # the case did not finish
    assert r["ok"], (r["failed_checks"], r["secret_scan"]["where"])
    assert r["lost"] == 0 and r["double_counted"] == 0 and r["shown_not_counted"] == 0, r
    assert r["ballots_counted"] == r["ballots_expected"] > 0, r
    assert r["results_match"] and r["memory_equals_store"] and r["audit_intact"], r
    assert r["faults"], r  # the case injected its faults
    if case in STORE_CASES:  # the store really went away: frames answered BUSY or the chair's calls 503
        assert r["busy"] + r["store_refused"] > 0, r
    if case == "keypad-swap":
        assert r["faults"] == {"swap": len(load("town").motions)}  # one per motion
    assert f"| {case} (" in render(report, "pytest")
    print(f"{case} (town, 5 keypads): {report['seconds']} s")


def test_a_case_that_cannot_finish_is_a_failed_row_and_the_report_is_still_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hil.evidence as ev
    from hil.attacks import report as attack_report
    from hil.rig.base import RigError

    def broken(*args: object) -> dict:
        raise RigError("every keypad online: 3 of 5 after 120 s")

    said: list[str] = []
    monkeypatch.setattr(ev, "run_case", broken)
    row = ev.guarded_case(CASES[0], load("town"), tmp_path, said.append)
    assert row == {"case": CASES[0].name, "what": CASES[0].what, "ok": False,
                   "error": "RigError: every keypad online: 3 of 5 after 120 s"}  # fmt: skip
    assert any("did not finish" in m for m in said)
    report = {
        "rows": [row], "attacks": {"ok": False, "attacks": {"keypads": 8, "error": "DynsecError: no connack"}},
        "scale": "town", "seats": 60, "seconds": 1, "machine": "m", "mosquitto": [], "when": "now", "ok": False,
    }  # fmt: skip
    text = render(report, "hallvote evidence")
    assert "A CHECK FAILED" in text
    assert f"| {CASES[0].name} ({CASES[0].what}) | did not finish: `RigError: every keypad online" in text
    assert "* " + CASES[0].name + ": did not finish: `RigError" in text
    assert "The suite on 8 keypads **did not finish**: `DynsecError: no connack`" in text
    assert attack_report.render_attacks({"attacks": {"keypads": 8, "error": "x"}})[-1].endswith("`x`")
