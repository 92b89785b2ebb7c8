"""``hallvote bench`` at a reduced size, through the real parts: the generated broker, the gateway process,
a TLS keypad fleet and the echo baseline.  Asserts the report's structure and invariants, never a time."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from hvtest.databases import fresh_database
from hvtest.mosquitto import mosquitto_executable
from typer.testing import CliRunner

from gateway.cli import app
from hil.bench.hall import SCENARIOS, Options, run

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

N = 20
LATENCY_KEYS = ("p50_ms", "p95_ms", "p99_ms", "max_ms")


def _runner() -> CliRunner:
    """stdout alone (the bench's progress goes to stderr): click 8.1 mixes the two unless told not to."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:  # click >= 8.2 keeps them apart always
        return CliRunner()


def _check(report: dict[str, Any], scenarios: tuple[str, ...]) -> None:
    assert report["keypads"] == N
    assert set(report["scenarios"]) == {"checkin", *scenarios}
    for name, sc in report["scenarios"].items():
        assert sc["unanswered"] == 0, name
        assert sum(sc["replies"].values()) == sc["presses"] == sc["answered"], name
        assert all(isinstance(sc[k], float) for k in LATENCY_KEYS), name
        assert sc["p50_ms"] <= sc["p95_ms"] <= sc["p99_ms"] <= sc["max_ms"], name
        assert sc["sends"] == sc["presses"] + sc["retransmissions"], name
    # every keypad checked in once; each burst is one press per keypad, each a first vote in its round
    assert report["scenarios"]["checkin"]["replies"] == {"ACCEPTED": N}
    for name in ("vote_burst", "broker_restart"):
        if name in scenarios:
            assert report["scenarios"][name]["replies"] == {"ACCEPTED": N}, name
    if "gateway_down" in scenarios:  # a vote committed just before the kill is re-acked ALREADY_RECORDED
        assert set(report["scenarios"]["gateway_down"]["replies"]) <= {"ACCEPTED", "ALREADY_RECORDED"}
    inv = report["invariants"]
    assert inv["checked_in_stored"] == N and inv["checkin_all_durable"]
    assert inv["every_acked_vote_stored_once"] and inv["every_press_answered"] and inv["audit_chain_verifies"]
    for name, r in inv["rounds"].items():
        assert r["match"] and r["acked_devices"] == r["stored_ballots"], name
    s = report["summary"]
    assert s["all_invariants_hold"] is True
    assert isinstance(s["broker_dropped_total"], int) and s["broker_dropped_total"] >= 0
    assert s["broker_sys_counters_seen"] is True  # the $SYS drop counter was read, not assumed 0
    assert s["gateway_peak_rss_mb"] > 0 and s["gateway_cpu_ms_per_vote"] > 0


def test_bench_command_on_sqlite(tmp_path: Path) -> None:
    mosquitto_executable()
    png = tmp_path / "latency.png"
    result = _runner().invoke(
        app,
        [
            "bench",
            "--keypads",
            str(N),
            "--sustain-s",
            "1.5",
            "--down-s",
            "1",
            "--json",
            "--png",
            str(png),
            "--workdir",
            str(tmp_path / "work"),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    _check(report, SCENARIOS)
    echo = report["echo"]
    assert echo["burst"]["replies"] == {"ECHO": N} and echo["sustained"]["per_s"] > 0
    assert echo["cpu_ms_per_message"] >= 0
    s = report["summary"]
    for key in (
        "sustained_ratio_to_echo",
        "vote_burst_ratio_to_echo",
        "refused_at_close",
        "checkin_p99_ms",
        "broker_restart_full_round_s",
        "api_ms",
        "announce_to_broadcast_all_ms",
    ):
        assert key in s, key
    # the close scenario counts its refusals among presses made while the round was open
    close = report["scenarios"]["close_in_flight"]
    assert close["refused_at_close"] == close["replies"].get("ROUND_CLOSED", 0)
    sustained = report["scenarios"]["sustained"]
    assert set(sustained["replies"]) <= {"ACCEPTED", "REPLACED"}  # every sustained press changes the vote
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report["broker_limits"]["set_tcp_nodelay"] is True


def test_bench_on_postgresql(tmp_path: Path) -> None:
    mosquitto_executable()
    scenarios = ("vote_burst", "close_in_flight")
    with fresh_database("postgresql", tmp_path) as url:
        report = asyncio.run(
            run(
                Options(
                    keypads=N,
                    database="postgresql",
                    database_url=url,
                    scenarios=scenarios,
                    echo=False,
                    sustain_s=1.0,
                    workdir=tmp_path / "work",
                )
            )
        )
    _check(report, scenarios)
    assert report["echo"] == {} and report["database"] == "postgresql"
