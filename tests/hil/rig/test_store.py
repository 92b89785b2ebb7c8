"""The rig's store faults' parts: a small tmpfs filled to the last byte, a private PostgreSQL cluster."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import psycopg
import pytest
from hvtest.tools import missing

from hil.rig.store import PrivatePostgres, SmallDisk, pg_bin


def _root() -> None:
    if os.geteuid() != 0:
        missing("mounting a tmpfs needs root")


def _mounted(where: Path) -> bool:
    return subprocess.run(["mountpoint", "-q", str(where)], check=False).returncode == 0


def test_small_disk_fills_to_the_last_byte_and_frees(tmp_path: Path) -> None:
    _root()
    disk = SmallDisk(tmp_path / "disk", "2m").mount()
    try:
        assert _mounted(disk.where)
        written = disk.fill()
        assert 1_500_000 < written <= 2 * 1024 * 1024
        with pytest.raises(OSError) as full, (disk.where / "more").open("wb", buffering=0) as f:
            f.write(b"x" * 4096)
        assert full.value.errno == errno.ENOSPC
        disk.free()
        (disk.where / "more").write_bytes(b"x" * 4096)  # room again
    finally:
        disk.close()
    assert not _mounted(tmp_path / "disk")


def test_private_postgres_runs_on_its_own_port_and_disk_and_is_removed() -> None:
    _root()
    if pg_bin("initdb") is None or pg_bin("pg_ctl") is None:
        missing("PostgreSQL server programs (initdb, pg_ctl) are not installed")
    pg = PrivatePostgres(size="96m").start()
    try:
        assert pg.port != 5432 and _mounted(pg.disk.where)
        url = pg.create_database("hallvote")
        assert f":{pg.port}/hallvote" in url
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{pg.port}/hallvote") as conn:
            assert conn.execute("show data_directory").fetchone() == (str(pg.data),)
        assert not pg.ensure_running()  # it runs: nothing to do
        subprocess.run(["runuser", "-u", "postgres", "--", pg_bin("pg_ctl") or "pg_ctl", "-D", str(pg.data),
                        "-m", "immediate", "-w", "stop"], check=True, capture_output=True)  # fmt: skip
        assert pg.ensure_running() and pg.restarts == 1  # started again, as an operator would
    finally:
        pg.stop()
    assert not pg.root.exists() and "database system is ready" in pg.saved_log
