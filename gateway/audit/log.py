"""The audit log on a database: append (serialised, never forking), head, read, verify.

Rules:
- every event is checked against :mod:`gateway.audit.kinds` *before* any
  lock is taken; a refused event raises :class:`AuditSchemaError` and
  writes nothing (``append_many`` writes all of its events or none);
- an append takes the database's writer lock first (PostgreSQL: the
  transaction-scoped advisory lock :data:`PG_LOCK_KEY`; SQLite: the write
  lock, by a no-op UPDATE of the table), then a process-wide lock, then
  reads the head and inserts ``seq = head + 1`` chained to the head's
  hash; the database lock is held to the end of the transaction, so two
  appends (threads or processes) can never read the same head.  (Taking
  the database lock first means a thread never holds the process lock
  while it waits for another transaction, so there is no deadlock.)
- ``append(..., conn=c)`` joins the caller's transaction (a Connection or
  an ORM Session): the event commits or rolls back with the caller's
  work, and every other append waits until that transaction ends.  The
  caller's transaction should append early (or, on SQLite, write before
  it reads): on SQLite a transaction that read before another writer
  committed cannot take the write lock ("database is locked"); on
  PostgreSQL under REPEATABLE READ or SERIALIZABLE a snapshot older than
  the lock sees an old head, and the insert fails on the unique seq.
  Either way it is an error, never a fork;
- one thread must not append through its own connection while it holds
  another open transaction that appended (it would wait for itself);
- ``at`` never goes backwards: it is ``max(clock(), previous at)``;
- ``vote.recorded_named`` (every ``named_only`` kind) is written only for a
  round whose ``round.opened`` (earlier in the log, or earlier in the same
  batch) said ``secret: false``, and no ``round.opened`` for it said
  ``secret: true``; otherwise :class:`AuditSchemaError` (SECRET_BALLOT).
  The modes are cached per AuditLog and read incrementally; the cache is
  thrown away when the last record it read is no longer in the log;
- ``verify`` streams the rows in seq order in pages and never loads the
  whole log.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, Table, bindparam, false, func, select, update
from sqlalchemy.orm import Session

from gateway.db.engine import WRITE

from .chain import GENESIS, Anchor, Head, Record, VerifyReport, seal_many, verify_chain
from .errors import AuditSchemaError, SchemaCode
from .kinds import KINDS, Kind, round_key, validated
from .table import audit_table

__all__ = ["PG_LOCK_KEY", "AuditLog", "Event"]

#: pg_advisory_xact_lock key: the first 8 bytes of SHA-256("hallvote.audit_event"), signed.
PG_LOCK_KEY = int.from_bytes(hashlib.sha256(b"hallvote.audit_event").digest()[:8], "big", signed=True)

_PAGE = 1000

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _process_lock(key: str) -> threading.Lock:
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = threading.Lock()
        return lock


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Event:
    """One event to append: ``kind``, ``actor`` (the authenticated user, or ``system``), ``payload``."""

    kind: str
    actor: str
    payload: Mapping[str, Any]


_Prepared = tuple[str, str, dict[str, Any], Kind, str]  # kind, actor, data, its Kind, canonical text


class AuditLog:
    """The append-only, hash-chained audit log in the ``audit_event`` table of ``engine``."""

    def __init__(
        self,
        engine: Engine,
        *,
        table: Table | None = None,
        clock: Callable[[], datetime] | None = None,
        registry: Mapping[str, Kind] = KINDS,
    ) -> None:
        self.engine = engine
        self.table = table if table is not None else audit_table()
        self._clock = clock if clock is not None else _utcnow
        self._registry = registry
        url = engine.url.render_as_string(hide_password=True)
        self._lock = _process_lock(f"{url}#{self.table.name}")
        self._aware = bool(getattr(self.table.c.at.type, "timezone", False))
        # round key -> ballot modes (secret?) of its round.opened events, read up to _scanned.
        self._modes: dict[tuple[Any, Any], set[bool]] = {}
        self._scanned: Head = GENESIS
        # The last append's (head it chained to, its own last head, its round.opened modes): when the
        # log's head is that last head, the append committed and the modes are known without a read.
        self._wrote: tuple[Head, Head, dict[tuple[Any, Any], set[bool]]] | None = None
        # Statements built once (an append runs per batch of keypad frames).
        t = self.table
        self._insert = t.insert()
        self._head_q = select(t.c.seq, t.c.hash, t.c.at).order_by(t.c.seq.desc()).limit(1)
        self._hash_q = select(t.c.hash).where(t.c.seq == bindparam("seq"))
        self._opened_q = (
            select(t.c.payload)
            .where(t.c.kind == "round.opened", t.c.seq > bindparam("after"), t.c.seq <= bindparam("upto"))
            .order_by(t.c.seq)
        )
        self._sqlite_lock = update(t).where(false()).values(seq=t.c.seq)

    # ------------------------------------------------------------------ writing

    def append(
        self, kind: str, actor: str, payload: Mapping[str, Any], *, conn: Connection | Session | None = None
    ) -> Record:
        """Append one event; returns the stored record.  See the module rules."""
        return self.append_many([Event(kind, actor, payload)], conn=conn)[0]

    def append_many(
        self,
        events: Iterable[Event | tuple[str, str, Mapping[str, Any]]],
        *,
        conn: Connection | Session | None = None,
    ) -> list[Record]:
        """Append several events in order, atomically (all or none)."""
        prepared: list[_Prepared] = []
        for e in events:
            kind, actor, payload = (e.kind, e.actor, e.payload) if isinstance(e, Event) else e
            data, text = validated(kind, actor, payload, self._registry)
            prepared.append((kind, actor, data, self._registry[kind], text))
        if not prepared:
            return []
        if conn is None:
            with self.engine.begin() as own:
                return self._write(own, prepared)
        return self._write(_connection(conn), prepared)

    def _write(self, conn: Connection, prepared: Sequence[_Prepared]) -> list[Record]:
        self._lock_database(conn)
        with self._lock:
            prev, prev_at = self._head_row(conn)
            self._check_ballot_modes(conn, prepared, prev)
            now = self._clock()  # one time for the whole append: never earlier than the head's
            at = now if prev_at is None or now >= prev_at else prev_at
            records = seal_many(prev, at, [(kind, actor, text) for kind, actor, _d, _k, text in prepared])
            stored = records[0].at if self._aware else records[0].at.replace(tzinfo=None)
            conn.execute(
                self._insert,
                [
                    {
                        "seq": r.seq,
                        "at": stored,
                        "kind": r.kind,
                        "actor": r.actor,
                        "payload": r.payload,
                        "prev_hash": r.prev_hash,
                        "hash": r.hash,
                    }
                    for r in records
                ],
            )
            opened: dict[tuple[Any, Any], set[bool]] = {}
            for kind, _a, data, _k, _t in prepared:
                if kind == "round.opened":
                    opened.setdefault(round_key(data), set()).add(data["secret"] is not False)
            self._wrote = (prev, records[-1].head, opened)
        return records

    def _lock_database(self, conn: Connection) -> None:
        dialect = conn.dialect.name
        if dialect == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(PG_LOCK_KEY)))
        elif dialect == "sqlite" and not conn.get_execution_options().get(WRITE, False):
            # Any write statement takes SQLite's (single) write lock until the transaction ends
            # (a writer's transaction, gateway.db.engine.writer, holds it from BEGIN IMMEDIATE on).
            conn.execute(self._sqlite_lock)

    # ------------------------------------------------------------------ the secret-ballot guard

    def _check_ballot_modes(self, conn: Connection, prepared: Sequence[_Prepared], head: Head) -> None:
        if not any(k.named_only for _kind, _a, _d, k, _t in prepared):
            return
        known = self._known_modes(conn, head)
        batch: dict[tuple[Any, Any], set[bool]] = {}  # the batch's own round.opened: not in the cache
        for kind, _a, data, k, _t in prepared:
            key = round_key(data)
            if kind == "round.opened":
                batch.setdefault(key, set()).add(bool(data["secret"]))
            elif k.named_only:
                seen = known.get(key, set()) | batch.get(key, set())
                if True in seen:
                    raise AuditSchemaError(
                        SchemaCode.SECRET_BALLOT,
                        f"{kind}: motion {key[0]!r} round {key[1]!r} is secret: no choice may be linked to a member",
                        kind=kind,
                    )
                if not seen:
                    raise AuditSchemaError(
                        SchemaCode.SECRET_BALLOT,
                        f"{kind}: no round.opened for motion {key[0]!r} round {key[1]!r}: "
                        "a choice is recorded only for a round opened as named",
                        kind=kind,
                    )

    def _known_modes(self, conn: Connection, head: Head) -> dict[tuple[Any, Any], set[bool]]:
        """Ballot modes of every round opened in the log up to ``head``.

        Kept across calls and brought up to date incrementally: the cache is
        valid while the last record it read (``_scanned``) is still in the
        log with the same hash, since the chain then vouches for every
        record before it.  If that record is gone (its transaction rolled
        back) the whole log is read again.
        """
        wrote, self._wrote = self._wrote, None
        if wrote is not None and wrote[1] == head and wrote[0] == self._scanned:
            # The head is this log's own last append (same hash), chained to what the cache had
            # read: that append committed, so its round.opened modes are all that is new.
            for key, modes in wrote[2].items():
                self._modes.setdefault(key, set()).update(modes)
            self._scanned = head
            return self._modes
        if self._scanned != GENESIS:
            row = conn.execute(self._hash_q, {"seq": self._scanned.seq}).first()
            if row is None or row.hash != self._scanned.hash:
                self._scanned, self._modes = GENESIS, {}
        if head.seq > self._scanned.seq:
            q = self._opened_q
            for (payload,) in conn.execute(q, {"after": self._scanned.seq, "upto": head.seq}):
                try:
                    data = json.loads(payload)
                    secret = data["secret"] is not False  # anything but a literal false counts as secret
                    self._modes.setdefault(round_key(data), set()).add(secret)
                except (ValueError, KeyError, TypeError):
                    continue  # a damaged row: verify reports it; it opens no named round
            self._scanned = head
        return self._modes

    # ------------------------------------------------------------------ reading

    def head(self, *, conn: Connection | Session | None = None) -> Head:
        """``(seq, hash)`` of the last record; :data:`~gateway.audit.chain.GENESIS` when empty."""
        if conn is None:
            with self.engine.connect() as own:
                return self._head_row(own)[0]
        return self._head_row(_connection(conn))[0]

    def _head_row(self, conn: Connection) -> tuple[Head, datetime | None]:
        row = conn.execute(self._head_q).first()
        if row is None:
            return GENESIS, None
        return Head(row.seq, row.hash), _utc(row.at)

    def records(
        self, *, after: int = 0, limit: int | None = None, conn: Connection | Session | None = None
    ) -> Iterator[Record]:
        """Records with seq > ``after`` in seq order, fetched in pages of 1000."""
        if conn is None:
            with self.engine.connect() as own:
                yield from self._pages(own, after, limit)
        else:
            yield from self._pages(_connection(conn), after, limit)

    def _pages(self, conn: Connection, after: int, limit: int | None) -> Iterator[Record]:
        t = self.table
        left = limit
        while left is None or left > 0:
            n = _PAGE if left is None else min(_PAGE, left)
            rows = conn.execute(select(t).where(t.c.seq > after).order_by(t.c.seq).limit(n)).all()
            for row in rows:
                yield _record(row)
            if len(rows) < n:
                return
            after = rows[-1].seq
            if left is not None:
                left -= len(rows)

    def tail(self, limit: int, *, conn: Connection | Session | None = None) -> list[Record]:
        """The last ``limit`` records, oldest first."""
        t = self.table
        q = select(t).order_by(t.c.seq.desc()).limit(limit)
        if conn is None:
            with self.engine.connect() as own:
                rows = own.execute(q).all()
        else:
            rows = _connection(conn).execute(q).all()
        return [_record(r) for r in reversed(rows)]

    def count(self) -> int:
        with self.engine.connect() as c:
            return int(c.execute(select(func.count()).select_from(self.table)).scalar_one())

    def verify(self, *, anchor: Anchor | None = None, max_problems: int = 100) -> VerifyReport:
        """Verify the whole log in seq order (optionally against a published anchor)."""
        return verify_chain(self.records(), anchor=anchor, max_problems=max_problems)


def _connection(conn: Connection | Session) -> Connection:
    if isinstance(conn, Session):
        return conn.connection()
    return conn


def _utc(at: Any) -> Any:
    """Stored time as aware UTC (SQLite gives naive UTC back); anything else passes to verify as is."""
    if isinstance(at, datetime):
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at


def _record(row: Row[Any]) -> Record:
    m = row._mapping
    return Record(
        seq=m["seq"],
        at=_utc(m["at"]),
        kind=m["kind"],
        actor=m["actor"],
        payload=m["payload"],
        prev_hash=m["prev_hash"],
        hash=m["hash"],
    )
