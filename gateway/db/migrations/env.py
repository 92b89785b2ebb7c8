"""Alembic environment for the gateway store.

Used two ways, both without an alembic.ini:

* :func:`gateway.db.engine.init_db` puts an open connection in
  ``config.attributes["connection"]`` and upgrades on it;
* :func:`gateway.db.engine.alembic_config` with a URL: this file builds an
  engine with :func:`gateway.db.engine.make_engine` (so SQLite gets its
  pragmas) for the command API (revision --autogenerate, history, ...).

SQLite cannot ALTER most things, so migrations are rendered in batch mode
there.
"""

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlmodel.sql.sqltypes import AutoString

from gateway.db import models
from gateway.db.engine import make_engine
from gateway.db.types import UTCDateTime

config = context.config
target_metadata = models.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render model-only types as plain SQLAlchemy types, so migrations stand on their own."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        compare_type=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass a URL to gateway.db.engine.alembic_config(url)")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
