"""Acceptance: ``hallvote audit verify`` fails on a tampered database and names the record; passes otherwise.

The log is built through the AuditLog API the gateway uses, then tampered
with raw SQL, as someone with write access to the database file or server
would, and checked through the real typer app (CliRunner).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner

from gateway.audit.chain import seal
from gateway.audit.log import AuditLog, Event
from gateway.cli import app

runner = CliRunner()


def url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def verify(engine: Engine, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", "--db", url(engine), *extra])
    return result.exit_code, result.output


def first_bad(output: str) -> tuple[str, str, str]:
    """(seq, kind, reason) from the line naming the first bad record."""
    m = re.search(r"first bad record (seq (\d+)|the log)(?: \(([a-z._]+)\))?: ([A-Z_]+)", output)
    assert m is not None, output
    return (m.group(2) or "-", m.group(3) or "-", m.group(4))


@pytest.fixture
def logged(audit: AuditLog, sitting_events: Callable[..., list[Event]]) -> AuditLog:
    """A sitting of 16 events: seq 1 config, 2 opened, 3 check-in opened, 4-6 check-ins, 7 round.opened,
    8-10 participation, 11 closed, 12 result, 13 announced, 14 swap, 15 api call, 16 sitting closed."""
    for e in sitting_events():
        audit.append(e.kind, e.actor, e.payload)
    assert audit.count() == 16
    return audit


def sql(engine: Engine, *statements: str) -> None:
    with engine.begin() as c:
        for s in statements:
            c.execute(text(s))


def test_an_untampered_log_verifies(logged: AuditLog) -> None:
    code, out = verify(logged.engine)
    assert code == 0, out
    head = logged.head()
    assert "intact: 16 records" in out
    assert f"head {head.seq}:{head.hash}" in out
    assert "checkin.recorded" in out  # events by kind
    code, out = verify(logged.engine, "--expect-head", f"{head.seq}:{head.hash}")
    assert code == 0 and "anchor" in out, out


def test_an_empty_log_verifies(audit: AuditLog) -> None:
    code, out = verify(audit.engine)
    assert code == 0 and "0 records" in out and "head 0:" + "0" * 64 in out


def _swap_seq(c: Connection, a: int, b: int) -> None:
    c.execute(text("UPDATE audit_event SET seq = -1 WHERE seq = :a"), {"a": a})
    c.execute(text("UPDATE audit_event SET seq = :a WHERE seq = :b"), {"a": a, "b": b})
    c.execute(text("UPDATE audit_event SET seq = :b WHERE seq = -1"), {"b": b})


def _swap_payloads(c: Connection, a: int, b: int) -> None:
    pa = c.execute(text("SELECT payload FROM audit_event WHERE seq = :a"), {"a": a}).scalar_one()
    pb = c.execute(text("SELECT payload FROM audit_event WHERE seq = :b"), {"b": b}).scalar_one()
    c.execute(text("UPDATE audit_event SET payload = :p WHERE seq = :a"), {"p": pb, "a": a})
    c.execute(text("UPDATE audit_event SET payload = :p WHERE seq = :b"), {"p": pa, "b": b})


TAMPERS: dict[str, tuple[Callable[[Connection], object], tuple[str, str, str]]] = {
    # a result changed after the fact
    "payload edited": (
        lambda c: c.execute(
            text("UPDATE audit_event SET payload = REPLACE(payload, :a, :b) WHERE seq = 12"),
            {"a": '"yes":2', "b": '"yes":3'},
        ),
        ("12", "result.frozen", "EDITED"),
    ),
    # who did it, rewritten
    "actor edited": (
        lambda c: c.execute(text("UPDATE audit_event SET actor = 'user:someone-else' WHERE seq = 14")),
        ("14", "device.swapped", "EDITED"),
    ),
    # a late check-in made to look on time
    "time edited": (
        lambda c: c.execute(
            text("UPDATE audit_event SET at = (SELECT at FROM audit_event WHERE seq = 3) WHERE seq = 6")
        ),
        ("6", "checkin.recorded", "EDITED"),
    ),
    "kind edited": (
        lambda c: c.execute(text("UPDATE audit_event SET kind = 'sitting.closed' WHERE seq = 2")),
        ("2", "sitting.closed", "EDITED"),
    ),
    # a check-in removed: the next record names the gap
    "middle row deleted": (
        lambda c: c.execute(text("DELETE FROM audit_event WHERE seq = 5")),
        ("6", "checkin.recorded", "GAP"),
    ),
    "first row deleted": (
        lambda c: c.execute(text("DELETE FROM audit_event WHERE seq = 1")),
        ("2", "sitting.opened", "GAP"),
    ),
    "several rows deleted": (
        lambda c: c.execute(text("DELETE FROM audit_event WHERE seq BETWEEN 8 AND 10")),
        ("11", "round.closed", "GAP"),
    ),
    # two rows' places swapped: the first now holds the other's content
    "seqs swapped": (lambda c: _swap_seq(c, 4, 13), ("4", "round.announced", "EDITED")),
    "payloads swapped": (lambda c: _swap_payloads(c, 8, 10), ("8", "vote.participation_secret", "EDITED")),
    # a deleted row whose place is filled by renumbering the rest
    "deleted and renumbered": (
        lambda c: (
            c.execute(text("DELETE FROM audit_event WHERE seq = 9")),
            c.execute(text("UPDATE audit_event SET seq = seq - 1 WHERE seq = 10")),
        ),
        ("9", "vote.participation_secret", "EDITED"),
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_a_tampered_log_fails_and_names_the_record(logged: AuditLog, case: str) -> None:
    tamper, expected = TAMPERS[case]
    with logged.engine.begin() as c:
        tamper(c)
    code, out = verify(logged.engine)
    assert code == 1, out
    assert "TAMPERED" in out
    assert first_bad(out) == expected, out


def test_a_record_rewritten_with_a_recomputed_hash_breaks_the_next_link(logged: AuditLog) -> None:
    """The forger knows the hash construction and recomputes seq 12's hash: seq 13 still points at the old one."""
    recs = {r.seq: r for r in logged.records()}
    old = recs[12]
    data = old.data()
    data["outcome"] = "rejected"
    forged = seal(recs[11].head, old.at, old.kind, old.actor, data)
    with logged.engine.begin() as c:
        c.execute(
            text("UPDATE audit_event SET payload = :p, hash = :h WHERE seq = 12"),
            {"p": forged.payload, "h": forged.hash},
        )
    code, out = verify(logged.engine)
    assert code == 1 and first_bad(out) == ("13", "round.announced", "BROKEN_LINK"), out
    assert "seq 12 was replaced" in out


def test_a_truncated_tail_is_caught_only_against_the_published_head(logged: AuditLog) -> None:
    code, out = verify(logged.engine)
    published = re.search(r"head (\d+:[0-9a-f]{64})", out)
    assert code == 0 and published is not None
    sql(logged.engine, "DELETE FROM audit_event WHERE seq >= 15")
    code, out = verify(logged.engine)
    assert code == 0, out  # a shorter chain is still a chain
    code, out = verify(logged.engine, "--expect-head", published.group(1))
    assert code == 1 and first_bad(out) == ("15", "-", "TRUNCATED_TAIL"), out
    code, out = verify(logged.engine, "--expect-count", "16")
    assert code == 1 and first_bad(out) == ("15", "-", "TRUNCATED_TAIL"), out
    code, out = verify(logged.engine, "--expect-head", published.group(1).split(":")[1])
    assert code == 1 and first_bad(out) == ("-", "-", "ANCHOR_MISMATCH"), out


def test_a_rewritten_log_is_caught_against_the_published_head(logged: AuditLog) -> None:
    """The forger rewrites the result and re-seals every record after it: only the anchor tells."""
    head = logged.head()
    recs = list(logged.records())
    prev = recs[10].head
    forged = []
    for r in recs[11:]:
        data = r.data()
        if r.kind == "result.frozen":
            data["outcome"] = "rejected"
        new = seal(prev, r.at, r.kind, r.actor, data)
        forged.append(new)
        prev = new.head
    with logged.engine.begin() as c:
        c.execute(text("DELETE FROM audit_event WHERE seq > 11"))
        c.execute(logged.table.insert(), [dataclasses.asdict(r) for r in forged])
    code, out = verify(logged.engine)
    assert code == 0, out
    code, out = verify(logged.engine, "--expect-head", f"{head.seq}:{head.hash}")
    assert code == 1 and first_bad(out) == ("16", "sitting.closed", "ANCHOR_MISMATCH"), out


def test_several_problems_are_listed(logged: AuditLog) -> None:
    sql(
        logged.engine,
        "UPDATE audit_event SET actor = 'x' WHERE seq = 3",
        "DELETE FROM audit_event WHERE seq = 9",
    )
    code, out = verify(logged.engine)
    assert code == 1 and first_bad(out) == ("3", "sitting.checkin_opened", "EDITED")
    assert "all problems found" in out and "GAP" in out


def test_show_lists_the_latest_events(logged: AuditLog) -> None:
    result = runner.invoke(app, ["audit", "show", "--db", url(logged.engine), "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert "api.call" in result.output and "sitting.closed" in result.output
    assert "config.loaded" not in result.output
    assert f"head {logged.head()}" in result.output


def test_cli_errors_exit_2(tmp_path: Path, audit: AuditLog) -> None:
    missing = tmp_path / "nope.db"
    result = runner.invoke(app, ["audit", "verify", "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 2 and "no such database file" in result.output
    assert not missing.exists()  # verify never creates a database
    (tmp_path / "empty.db").touch()
    result = runner.invoke(app, ["audit", "verify", "--db", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert result.exit_code == 2 and "no audit_event table" in result.output
    result = runner.invoke(app, ["audit", "verify", "--db", url(audit.engine), "--expect-head", "zz"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["audit", "verify", "--db", "not a url"])
    assert result.exit_code == 2


def test_the_audit_app_is_registered_next_to_broker() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "audit" in result.output and "broker" in result.output
