"""The gateway's store: SQLModel tables, engines for SQLite and PostgreSQL, migrations, imports.

* :mod:`gateway.db.models`: the tables and their Base/Create/Public classes;
* :mod:`gateway.db.engine`: :func:`make_engine`, :func:`init_db` (Alembic to head);
* :mod:`gateway.db.crud`: keyword-only store functions for setting up a hall;
* :mod:`gateway.db.csv_import`: roster, seats and seat map from CSV, all or nothing.
"""

from .engine import init_db, make_engine

__all__ = ["init_db", "make_engine"]
