"""After a secret round's close has committed: make its deleted rows leave the database files, retried until done.

The close itself is one transaction (gateway.store.writer): the round's
pending rows are deleted and its frames' digests cleared.  What is left is
in the files:

* SQLite: ``secure_delete`` zeroed the freed cells in the new page images,
  but the WAL still holds the old images (with the choices) until a
  ``wal_checkpoint(TRUNCATE)`` copies the pages back and empties the log.
  ``secure_delete`` does not cover everything either: when SQLite balances
  a b-tree it rewrites a page's cells and leaves the bytes of cells that
  were there before in the page's unallocated space, so an earlier copy of
  a row (a pending ballot, a vote frame's digest) can outlive its delete or
  update.  The purge therefore rewrites the whole file: checkpoint,
  ``VACUUM`` (every page built anew from the live rows), checkpoint again
  (:func:`vacuum_sqlite`).  A reader holding a transaction that started
  before the close keeps WAL frames alive, so a step can fail; the purge is
  then retried between batches (never blocking: busy timeout 0 for the
  attempt) until it succeeds.
* PostgreSQL: a secret round's pending choices are stored encrypted under
  a per-round key that never enters the database
  (gateway.store.secretkeys); destroying the key file is the purge.

Only when the purge is done is the close complete: the round is listed in
:attr:`SecretPurge.pending` until then, and the audit log records
``secret.purged`` with the round when it completed.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

from sqlalchemy import Engine

from gateway.core.state import RoundKey

__all__ = ["SecretPurge", "checkpoint_sqlite", "vacuum_sqlite"]

log = logging.getLogger("hallvote.purge")


def checkpoint_sqlite(engine: Engine) -> bool:
    """Checkpoint and truncate the WAL without waiting for readers; True if the WAL is empty now."""
    with engine.connect() as conn:
        conn.commit()  # a checkpoint must run outside a transaction
        raw = conn.connection.dbapi_connection
        assert raw is not None
        timeout = raw.execute("PRAGMA busy_timeout").fetchone()[0]
        raw.execute("PRAGMA busy_timeout=0")
        try:
            busy, _log, _done = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            raw.execute(f"PRAGMA busy_timeout={int(timeout)}")
    return not busy


def vacuum_sqlite(engine: Engine) -> bool:
    """Rewrite the database file from its live rows and empty the WAL, without waiting for readers;
    True when done (no byte of a deleted or overwritten row is left in the files)."""
    if not checkpoint_sqlite(engine):
        return False
    with engine.connect() as conn:
        conn.commit()  # VACUUM must run outside a transaction
        raw = conn.connection.dbapi_connection
        assert raw is not None
        timeout = raw.execute("PRAGMA busy_timeout").fetchone()[0]
        raw.execute("PRAGMA busy_timeout=0")
        raw.execute("PRAGMA temp_store=MEMORY")  # the copy VACUUM makes stays in memory
        try:
            raw.execute("VACUUM")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            return False
        finally:
            raw.execute(f"PRAGMA busy_timeout={int(timeout)}")
    return checkpoint_sqlite(engine)


class SecretPurge:
    """The secret rounds whose close committed but whose purge has not completed yet."""

    def __init__(
        self,
        engine: Engine,
        *,
        destroy_key: Callable[[RoundKey], None] | None = None,
        completed: Callable[[RoundKey], None] | None = None,
    ) -> None:
        self.engine = engine
        self._destroy_key = destroy_key
        self._completed = completed
        self.pending: set[RoundKey] = set()
        self._busy = threading.Lock()

    def due(self, key: RoundKey) -> None:
        self.pending.add(key)

    def attempt(self) -> list[RoundKey]:
        """Try to purge every pending round now; the rounds whose purge completed (and was audited)."""
        if not self.pending or not self._busy.acquire(blocking=False):
            return []
        try:
            return self._attempt()
        finally:
            self._busy.release()

    def _attempt(self) -> list[RoundKey]:
        try:
            if self._destroy_key is not None:
                for key in sorted(self.pending):
                    self._destroy_key(key)
            if self.engine.dialect.name == "sqlite" and not vacuum_sqlite(self.engine):
                log.warning(
                    "secret purge pending for %d round(s): a reader holds the WAL; retried after the next batch",
                    len(self.pending),
                )
                return []
        except Exception as exc:  # retried after the next batch
            log.warning("secret purge failed (%s); retried after the next batch", type(exc).__name__)
            return []
        done = []
        for key in sorted(self.pending):
            if self._completed is not None:
                try:
                    self._completed(key)
                except Exception as exc:  # the audit line is retried with the next attempt
                    log.warning("secret purge of %s done but not audited yet (%s)", key, type(exc).__name__)
                    continue
            self.pending.discard(key)
            done.append(key)
            log.info("secret purge of motion %d round %d complete", *key)
        return done
