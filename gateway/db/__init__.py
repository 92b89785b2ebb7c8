"""The schema and everything but the hot path: tables, engines, migrations, the API's reads and edits, CSV imports.

The hot path (a batch of the core's events written in one transaction, the
core's state loaded at start) is :mod:`gateway.store`.

* :mod:`gateway.db.models`: the tables and their Base/Create/Public classes;
* :mod:`gateway.db.engine`: :func:`make_engine`, :func:`init_db` (Alembic to head);
* :mod:`gateway.db.crud`: keyword-only store functions for setting up a hall;
* :mod:`gateway.db.csv_import`: roster, seats and seat map from CSV, all or nothing.
"""

from .engine import init_db, make_engine

__all__ = ["init_db", "make_engine"]
