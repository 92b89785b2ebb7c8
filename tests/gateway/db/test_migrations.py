"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, Engine, inspect, text

from gateway.db.engine import alembic_config, init_db, make_engine
from gateway.db.models import metadata


def _diff(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def test_autogenerate_finds_no_difference(engine: Engine) -> None:
    assert _diff(engine) == []


def test_the_diff_would_notice_a_missing_index(engine: Engine) -> None:
    # The comparison is not vacuous: take an index away and it is reported.
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_motion_sitting_id"))
    diff = _diff(engine)
    assert [(d[0], d[1].name) for d in diff] == [("add_index", "ix_motion_sitting_id")]


def test_check_constraints_and_partial_index_match_the_models(engine: Engine) -> None:
    # Autogenerate compares neither CHECK constraints nor an index's WHERE clause: check them here.
    inspector = inspect(engine)
    for table in metadata.sorted_tables:
        declared = {c.name for c in table.constraints if isinstance(c, CheckConstraint)}
        reflected = {c["name"] for c in inspector.get_check_constraints(table.name)}
        assert reflected == declared, table.name
        reflected_indexes = {i["name"]: i for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            found = reflected_indexes[index.name]
            where = index.dialect_options[engine.dialect.name].get("where")
            found_where = found.get("dialect_options", {}).get(f"{engine.dialect.name}_where")
            assert _sql(found_where) == _sql(where), index.name


def _sql(clause: object) -> str | None:
    return None if clause is None else str(clause).strip().strip("()").lower()


def test_sqlite_storage_options(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        ddl = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all())
    for table in metadata.sorted_tables:
        without_rowid = table.dialect_options["sqlite"]["with_rowid"] is False
        assert ddl[table.name].rstrip().endswith("WITHOUT ROWID") == without_rowid, table.name
    assert "AUTOINCREMENT" in ddl["audit_event"]


def test_sqlite_pragmas(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        values = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "secure_delete")
        }
    assert values == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "secure_delete": 1}


def test_downgrade_to_base_and_upgrade_again(db_url: str) -> None:
    cfg = alembic_config(db_url)
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "base")
    eng = make_engine(db_url)
    try:
        assert set(inspect(eng).get_table_names()) == {"alembic_version"}
        init_db(eng)
        assert _diff(eng) == []
        init_db(eng)  # at head already: nothing to do
        with eng.connect() as conn:
            head = ScriptDirectory.from_config(cfg).get_current_head()
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
    finally:
        eng.dispose()
