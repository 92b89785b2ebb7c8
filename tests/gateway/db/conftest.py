"""Every test here runs on SQLite and on PostgreSQL (hvtest.databases)."""

from hvtest.databases import db_url, engine, hall_setup, session, sqlite_engine

__all__ = ["db_url", "engine", "hall_setup", "session", "sqlite_engine"]
