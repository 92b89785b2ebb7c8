"""Engines: no SQL parameters in errors or logs; SQLite write transactions take the write lock up front."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from hvtest.databases import engine, sqlite_engine  # noqa: F401  (fixtures)
from sqlalchemy import Engine, insert, text
from sqlalchemy.exc import IntegrityError, OperationalError

from gateway.db.engine import reader, writer
from gateway.store import tables as t

MARK = "kp-secret-77"


def test_a_failed_statement_shows_no_parameters(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    caplog.set_level(logging.DEBUG)
    row = {"device_id": MARK, "counter": 917364825, "frame_type": 4, "reason": 0, "ref_id": 0, "round": 0}
    with pytest.raises(IntegrityError) as err, engine.begin() as conn:
        conn.execute(insert(t.accepted), [row])  # no such device: the foreign key refuses it
    logging.getLogger("test").exception("write failed", exc_info=err.value)
    assert "917364825" not in str(err.value) and "917364825" not in caplog.text
    assert "[parameters:" not in str(err.value) and "hidden" in str(err.value)  # SQLAlchemy hid them
    if engine.dialect.name == "sqlite":  # (PostgreSQL's own DETAIL line names the missing key)
        assert MARK not in str(err.value) and MARK not in caplog.text


def test_sqlite_writers_take_the_lock_at_begin_and_readers_do_not(sqlite_engine: Engine) -> None:  # noqa: F811
    db = Path(str(sqlite_engine.url.database))
    with writer(sqlite_engine).connect() as conn:
        conn.execute(text("SELECT 1"))  # the transaction has begun: IMMEDIATE holds the write lock
        other = sqlite3.connect(db, timeout=0.05)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    for plain in (sqlite_engine, reader(sqlite_engine)):
        with plain.connect() as conn:
            conn.execute(text("SELECT 1"))  # deferred: no lock
            other = sqlite3.connect(db, timeout=0.05)
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            other.close()
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="locked"), writer(sqlite_engine).connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute("PRAGMA busy_timeout=50")
            conn.execute(text("SELECT 1"))  # BEGIN IMMEDIATE waits 50 ms for the lock, then gives up
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
