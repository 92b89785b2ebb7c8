"""The shared SQLModel metadata, with a naming convention for constraints.

Every constraint and index gets a deterministic name, so migrations can
refer to them on SQLite (batch mode) and PostgreSQL alike.  Imported by
every model module before it declares a table.
"""

from sqlmodel import SQLModel

__all__ = ["NAMING_CONVENTION", "metadata"]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = SQLModel.metadata
metadata.naming_convention = NAMING_CONVENTION
