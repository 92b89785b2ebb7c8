"""AuditLog on SQLite and PostgreSQL: appends, joined transactions, the secret-ballot guard, concurrency."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, select, text
from sqlmodel import Session

from gateway.audit import log as log_module
from gateway.audit.chain import GENESIS, GENESIS_HASH, Anchor, Head, canonical_json
from gateway.audit.errors import AuditSchemaError, Reason, SchemaCode
from gateway.audit.log import AuditLog, Event
from gateway.db import make_engine
from gateway.db.engine import writer

REPO = Path(__file__).resolve().parents[3]

NAMED_ROUND = {
    "sitting": 1,
    "motion": "m-9",
    "round": 1,
    "secret": False,
    "quorum_expected": 3,
    "quorum_present": 3,
    "override": False,
}
SECRET_ROUND = {**NAMED_ROUND, "motion": "m-10", "secret": True}


def named_vote(motion: str = "m-9", round_: int = 1, member: int = 101) -> dict[str, object]:
    return {"motion": motion, "round": round_, "member": member, "seat": "A-01", "choices": [1]}


def api_call(status: int = 200) -> dict[str, object]:
    return {"method": "POST", "path": "/sittings/{sitting_id}/open", "role": "chair", "status": status}


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def seqs(engine: Engine) -> list[int]:
    with engine.connect() as c:
        return list(c.execute(text("SELECT seq FROM audit_event ORDER BY seq")).scalars())


# ----------------------------------------------------------------------------- basics


def test_a_sitting_logs_and_verifies(audit: AuditLog, sitting_events: Callable[..., list[Event]]) -> None:
    assert audit.head() == GENESIS
    records = [audit.append(e.kind, e.actor, e.payload) for e in sitting_events()]
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    assert records[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    assert audit.head() == Head(len(records), records[-1].hash)
    assert list(audit.records()) == records  # what was stored is what is read back, times included
    report = audit.verify()
    assert report.ok and report.count == len(records) and report.head == records[-1].head
    assert report.kinds["checkin.recorded"] == 3
    assert audit.verify(anchor=Anchor(report.head.seq, report.head.hash)).ok
    assert audit.count() == len(records)


def test_payload_is_stored_as_canonical_json(audit: AuditLog) -> None:
    rec = audit.append(
        "sitting.opened", "user:chair", {"title": "第一次会议", "sitting": 1, "body": "县人大"}
    )
    with audit.engine.connect() as c:
        stored = c.execute(text("SELECT payload FROM audit_event WHERE seq = 1")).scalar_one()
    assert stored == rec.payload == '{"body":"县人大","sitting":1,"title":"第一次会议"}'
    assert stored == canonical_json(rec.data())


def test_append_many_is_all_or_nothing(audit: AuditLog) -> None:
    audit.append("sitting.closed", "system", {"sitting": 1})
    with pytest.raises(AuditSchemaError) as err:
        audit.append_many(
            [
                Event("api.call", "user:a", api_call()),
                ("api.call", "user:a", {**api_call(), "body": "{...}"}),  # unknown field
            ]
        )
    assert err.value.code is SchemaCode.UNKNOWN_FIELD
    assert seqs(audit.engine) == [1]
    recs = audit.append_many([Event("api.call", "user:a", api_call()), ("api.call", "user:b", api_call(201))])
    assert [r.seq for r in recs] == [2, 3] and audit.verify().ok
    assert audit.append_many([]) == []


def test_refused_events_write_nothing(audit: AuditLog) -> None:
    for kind, payload in [
        ("vote.secret", {"member": 1}),
        ("vote.participation_secret", {"motion": "m", "round": 1, "member": 1, "choice": 2}),
        ("checkin.recorded", {"sitting": 1, "member": 1}),
    ]:
        with pytest.raises(AuditSchemaError):
            audit.append(kind, "user:x", payload)
    assert audit.head() == GENESIS


def test_time_never_goes_backwards(engine: Engine) -> None:
    t0 = datetime(2025, 3, 5, 8, 0, tzinfo=UTC)
    times = iter([t0, t0 - timedelta(seconds=30), t0 + timedelta(seconds=1)])
    audit = AuditLog(engine, clock=lambda: next(times))
    recs = [audit.append("api.call", "user:a", api_call()) for _ in range(3)]
    assert [r.at for r in recs] == [t0, t0, t0 + timedelta(seconds=1)]
    assert audit.verify().ok


def test_records_pages_and_tail(audit: AuditLog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_module, "_PAGE", 3)
    audit.append_many([Event("api.call", f"user:{i}", api_call()) for i in range(10)])
    assert [r.seq for r in audit.records()] == list(range(1, 11))
    assert [r.seq for r in audit.records(after=4, limit=5)] == [5, 6, 7, 8, 9]
    assert [r.seq for r in audit.tail(3)] == [8, 9, 10]
    assert audit.verify().ok


# ----------------------------------------------------------------------------- joined transactions


def test_append_joins_the_callers_transaction(audit: AuditLog) -> None:
    engine = audit.engine
    with pytest.raises(RuntimeError), engine.begin() as conn:
        audit.append("sitting.opened", "user:chair", {"sitting": 1, "body": "b", "title": "t"}, conn=conn)
        assert audit.head(conn=conn).seq == 1  # visible inside the transaction
        raise RuntimeError("the vote commit failed")
    assert audit.head() == GENESIS  # rolled back with the caller's work

    with engine.begin() as conn:
        a = audit.append("sitting.opened", "user:chair", {"sitting": 1, "body": "b", "title": "t"}, conn=conn)
        b = audit.append("sitting.checkin_opened", "user:chair", {"sitting": 1}, conn=conn)
    assert (a.seq, b.seq) == (1, 2)  # no hole where the rolled-back record was
    assert audit.verify().ok


def test_append_joins_an_orm_session(audit: AuditLog) -> None:
    with Session(audit.engine) as session:
        audit.append("sitting.closed", "user:chair", {"sitting": 1}, conn=session)
        session.rollback()
        audit.append("sitting.closed", "user:chair", {"sitting": 2}, conn=session)
        session.commit()
    assert [r.data() for r in audit.records()] == [{"sitting": 2}]


def test_a_joined_transaction_holds_off_other_appends_without_deadlock(audit: AuditLog) -> None:
    """A keeps its transaction open across two appends; B appends meanwhile from another thread."""
    engine = audit.engine
    audit.append("sitting.opened", "user:chair", {"sitting": 1, "body": "b", "title": "t"})
    b_done = threading.Event()
    errors: list[BaseException] = []

    def other() -> None:
        try:
            audit.append("api.call", "user:b", api_call())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        b_done.set()

    with engine.begin() as conn:
        audit.append("api.call", "user:a", api_call(), conn=conn)
        t = threading.Thread(target=other)
        t.start()
        time.sleep(0.3)
        assert not b_done.is_set()  # B waits for A's transaction...
        audit.append("api.call", "user:a", api_call(201), conn=conn)  # ...and A is not blocked by B
    t.join(timeout=20)
    assert not errors and b_done.is_set()
    assert [r.actor for r in audit.records()] == ["user:chair", "user:a", "user:a", "user:b"]
    assert audit.verify().ok


# ----------------------------------------------------------------------------- the secret-ballot guard


def test_named_votes_need_a_round_opened_as_named(audit: AuditLog) -> None:
    audit.append("round.opened", "user:chair", NAMED_ROUND)
    rec = audit.append("vote.recorded_named", "device:kp-1", named_vote())
    assert rec.data()["choices"] == [1]


@pytest.mark.parametrize("motion", ["m-10", "m-unknown"])
def test_named_votes_are_refused_for_secret_or_unknown_rounds(audit: AuditLog, motion: str) -> None:
    audit.append("round.opened", "user:chair", SECRET_ROUND)
    before = audit.head()
    with pytest.raises(AuditSchemaError) as err:
        audit.append("vote.recorded_named", "device:kp-1", named_vote(motion))
    assert err.value.code is SchemaCode.SECRET_BALLOT
    assert audit.head() == before
    # What a secret round may log: who took part, nothing else.
    audit.append("vote.participation_secret", "device:kp-1", {"motion": "m-10", "round": 1, "member": 101})
    with pytest.raises(AuditSchemaError) as err:
        audit.append(
            "vote.participation_secret",
            "device:kp-1",
            {"motion": "m-10", "round": 1, "member": 101, "choices": [1]},
        )
    assert err.value.code is SchemaCode.UNKNOWN_FIELD


def test_the_round_may_open_in_the_same_batch(audit: AuditLog) -> None:
    audit.append_many(
        [
            Event("round.opened", "user:chair", NAMED_ROUND),
            Event("vote.recorded_named", "device:kp-1", named_vote()),
        ]
    )
    with pytest.raises(AuditSchemaError):
        audit.append_many(
            [
                Event("round.opened", "user:chair", SECRET_ROUND),
                Event("vote.recorded_named", "device:kp-1", named_vote("m-10")),
            ]
        )
    assert audit.count() == 2


def test_a_round_opened_in_a_rolled_back_transaction_opens_nothing(audit: AuditLog) -> None:
    engine = audit.engine
    audit.append("sitting.closed", "system", {"sitting": 0})
    with pytest.raises(RuntimeError), engine.begin() as conn:
        audit.append("round.opened", "user:chair", NAMED_ROUND, conn=conn)
        audit.append("vote.recorded_named", "device:kp-1", named_vote(), conn=conn)  # fine inside
        raise RuntimeError("rollback")
    # The cache saw the round; the log no longer has it: a named vote must be refused now...
    with pytest.raises(AuditSchemaError) as err:
        audit.append("vote.recorded_named", "device:kp-1", named_vote())
    assert err.value.code is SchemaCode.SECRET_BALLOT
    # ...also when the same seq is meanwhile taken by the same round opened as secret.
    audit.append("round.opened", "user:chair", {**NAMED_ROUND, "secret": True})
    with pytest.raises(AuditSchemaError):
        audit.append("vote.recorded_named", "device:kp-1", named_vote())


def test_a_round_reopened_as_secret_by_another_writer_refuses_named_votes(engine: Engine) -> None:
    first, second = AuditLog(engine), AuditLog(engine)
    first.append("round.opened", "user:chair", NAMED_ROUND)
    first.append("vote.recorded_named", "device:kp-1", named_vote())
    second.append("round.opened", "user:chair", {**NAMED_ROUND, "secret": True})
    with pytest.raises(AuditSchemaError) as err:
        first.append("vote.recorded_named", "device:kp-2", named_vote(member=102))
    assert err.value.code is SchemaCode.SECRET_BALLOT


def test_an_append_after_the_logs_own_reads_only_the_head(audit: AuditLog) -> None:
    # The hot path appends once per batch: when the head is the log's own last append, the
    # secret-ballot guard needs no read, and a writer transaction (SQLite: BEGIN IMMEDIATE) already
    # holds the write lock, so only the head is read before the insert.
    hot = writer(audit.engine)
    audit.append("round.opened", "user:chair", NAMED_ROUND)
    with hot.begin() as conn:
        audit.append("vote.recorded_named", "device:kp-1", named_vote(member=101), conn=conn)
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *rest: object) -> None:
        statements.append(statement)

    event.listen(audit.engine, "before_cursor_execute", seen)
    try:
        with hot.begin() as conn:
            audit.append_many(
                [Event("vote.recorded_named", "device:kp-2", named_vote(member=m)) for m in (102, 103)],
                conn=conn,
            )
    finally:
        event.remove(audit.engine, "before_cursor_execute", seen)
    assert [s.split()[0] for s in statements if "audit_event" in s] == ["SELECT", "INSERT"]
    # Another writer in between: the guard reads again, and still refuses a secret round's choice.
    AuditLog(audit.engine).append("round.opened", "user:chair", {**NAMED_ROUND, "secret": True})
    with pytest.raises(AuditSchemaError) as err, hot.begin() as conn:
        audit.append("vote.recorded_named", "device:kp-4", named_vote(member=104), conn=conn)
    assert err.value.code is SchemaCode.SECRET_BALLOT
    assert audit.count() == 5 and audit.verify().ok


def test_a_batch_shares_one_time_that_never_goes_backwards(engine: Engine) -> None:
    t0 = datetime(2025, 3, 5, 8, 0, tzinfo=UTC)
    times = iter([t0, t0 - timedelta(seconds=30)])
    audit = AuditLog(engine, clock=lambda: next(times))
    first = audit.append_many([Event("api.call", "user:a", api_call()) for _ in range(2)])
    second = audit.append_many([Event("api.call", "user:b", api_call()) for _ in range(3)])
    assert [r.at for r in first + second] == [t0] * 5
    assert [r.seq for r in first + second] == [1, 2, 3, 4, 5] and audit.verify().ok


def test_the_mode_cache_survives_a_long_log(audit: AuditLog) -> None:
    audit.append("round.opened", "user:chair", NAMED_ROUND)
    for i in range(5):
        audit.append("vote.recorded_named", f"device:kp-{i}", named_vote(member=100 + i))
        audit.append("api.call", "user:a", api_call())
    assert audit.count() == 11 and audit.verify().ok


# ----------------------------------------------------------------------------- concurrency


def test_concurrent_threads_never_fork_the_chain(audit: AuditLog) -> None:
    engine = audit.engine
    n_threads, per_thread = 8, 15
    errors: list[BaseException] = []
    start = threading.Barrier(n_threads + 2)

    def own(w: int) -> None:
        try:
            log = AuditLog(engine)  # separate instances share the process lock and the database lock
            start.wait()
            for i in range(per_thread):
                log.append("api.call", f"user:w{w}", api_call(200 + i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def joined(w: int) -> None:
        try:
            start.wait()
            for _ in range(3):
                with engine.begin() as conn:
                    audit.append("api.call", f"user:j{w}", api_call(), conn=conn)
                    audit.append("api.call", f"user:j{w}", api_call(201), conn=conn)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=own, args=(w,)) for w in range(n_threads)]
    threads += [threading.Thread(target=joined, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    total = n_threads * per_thread + 2 * 3 * 2
    assert seqs(engine) == list(range(1, total + 1))
    report = audit.verify()
    assert report.ok, report.problems
    assert report.count == total
    # Each joined transaction's pair is adjacent: nothing interleaved inside a transaction.
    recs = list(audit.records())
    for a, b in itertools.pairwise(recs):
        if a.actor.startswith("user:j") and a.data()["status"] == 200:
            assert b.actor == a.actor and b.data()["status"] == 201


WORKER = """
import sys
from gateway.audit.log import AuditLog
from gateway.db import make_engine
from gateway.db.engine import writer
url, w, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
log = AuditLog(make_engine(url))
for i in range(n):
    log.append("api.call", "user:p" + w, {"method": "POST", "path": "/x", "role": "chair", "status": 200})
"""


def test_concurrent_processes_never_fork_the_chain(engine: Engine) -> None:
    """No shared process lock here: only the database lock (advisory lock / SQLite write lock) serialises."""
    n_proc, per_proc = 4, 20
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, _url(engine), str(w), str(per_proc)], cwd=REPO)
        for w in range(n_proc)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * n_proc
    assert seqs(engine) == list(range(1, n_proc * per_proc + 1))
    report = AuditLog(engine).verify()
    assert report.ok and report.count == n_proc * per_proc


# ----------------------------------------------------------------------------- storage details


def test_times_survive_a_non_utc_postgresql_session(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        return  # SQLite has no session time zone
    shanghai = make_engine(_url(engine), connect_args={"options": "-c timezone=Asia/Shanghai"})
    try:
        audit = AuditLog(shanghai)
        rec = audit.append("sitting.closed", "system", {"sitting": 1})
        with shanghai.connect() as c:
            assert c.execute(text("SHOW timezone")).scalar_one() == "Asia/Shanghai"
        (back,) = list(audit.records())
        assert back == rec and back.at.tzinfo is UTC
        assert AuditLog(engine).verify().ok  # and read through a UTC session
    finally:
        shanghai.dispose()


def test_verify_after_tampering_names_the_record(audit: AuditLog) -> None:
    audit.append_many([Event("api.call", f"user:{i}", api_call()) for i in range(6)])
    head = audit.head()
    with audit.engine.begin() as c:
        c.execute(text("UPDATE audit_event SET actor = 'user:mallory' WHERE seq = 4"))
    report = audit.verify()
    assert report.first is not None
    assert (report.first.seq, report.first.reason, report.first.kind) == (4, Reason.EDITED, "api.call")
    with audit.engine.begin() as c:
        c.execute(text("UPDATE audit_event SET actor = 'user:3' WHERE seq = 4"))
        c.execute(text("DELETE FROM audit_event WHERE seq = 6"))
    assert audit.verify().ok
    report = audit.verify(anchor=Anchor(head.seq, head.hash))
    assert report.first is not None and (report.first.seq, report.first.reason) == (6, Reason.TRUNCATED_TAIL)


def test_the_table_is_gateway_dbs(audit: AuditLog) -> None:
    from gateway.db.models import AuditEvent

    assert audit.table is AuditEvent.__table__  # type: ignore[attr-defined]
    with audit.engine.connect() as c:
        assert c.execute(select(audit.table.c.seq)).first() is None
