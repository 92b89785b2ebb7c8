"""The rig's database for store faults: SQLite on a small tmpfs, or a private PostgreSQL cluster.

* :class:`SmallDisk` mounts a tmpfs of a given size (root or CAP_SYS_ADMIN;
  unmounted on close) and :meth:`SmallDisk.fill` writes a filler file
  until not one byte is left (``ENOSPC``), :meth:`SmallDisk.free` deletes it.
* :class:`PrivatePostgres` runs ``initdb`` and ``pg_ctl`` on a cluster of
  its own (data folder and WAL on its own small tmpfs, its own port, 1 MB
  WAL segments so a full disk is met soon), as the ``postgres`` OS user when
  the rig runs as root.  Never the shared server.

Either raises :class:`StoreRigError` (with the reason) when it cannot be set up.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from hil.rig.broker import free_port

__all__ = ["PrivatePostgres", "SmallDisk", "StoreRigError", "pg_bin"]


class StoreRigError(RuntimeError):
    """The rig cannot set up the database it was asked for (the message says why)."""


def pg_bin(name: str) -> str | None:
    """A PostgreSQL server program (initdb, pg_ctl): on PATH or in Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    for path in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return path
    return None


class SmallDisk:
    """A tmpfs of ``size`` at ``where`` (owned by ``owner`` if given); fill it up and free it again."""

    def __init__(self, where: Path, size: str, owner: str | None = None) -> None:
        self.where = Path(where)
        self.size = size
        self.owner = owner
        self.mounted = False
        self.filler = self.where / "filler"

    def mount(self) -> SmallDisk:
        self.where.mkdir(parents=True, exist_ok=True)
        opts = f"size={self.size},mode=0700"
        if self.owner is not None:
            pw = pwd.getpwnam(self.owner)
            opts += f",uid={pw.pw_uid},gid={pw.pw_gid}"
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(self.where)], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise StoreRigError(
                f"cannot mount a {self.size} tmpfs at {self.where} (needs root or CAP_SYS_ADMIN): "
                f"{done.stderr.strip()}"
            )
        self.mounted = True
        return self

    def fill(self) -> int:
        """Write the filler until the filesystem has no byte left; bytes written."""
        chunk = b"\0" * 65536
        written = 0
        with self.filler.open("ab", buffering=0) as f:
            for size in (65536, 4096, 512, 1):
                while True:
                    try:
                        written += f.write(chunk[:size]) or 0
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
        return written

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.where)], check=False, capture_output=True)
            self.mounted = False


class PrivatePostgres:
    """``initdb`` + ``pg_ctl start`` in ``root`` (data on its own tmpfs of ``size``); ``url(db)``."""

    def __init__(self, root: Path | None = None, size: str = "160m") -> None:
        # The server's user must reach its folders: a fresh one in the temporary folder, open to pass through
        # (the rig's work folder may be private to root).
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="hallvote-pg-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o711)
        self.user = "postgres" if os.geteuid() == 0 else None
        self.disk = SmallDisk(self.root / "pgdisk", size, owner=self.user)
        self.data = self.disk.where / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.restarts = 0
        self.saved_log = ""  # the server's log, kept when the cluster is removed

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)

    def start(self) -> PrivatePostgres:
        initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise StoreRigError(
                "PostgreSQL server programs (initdb, pg_ctl) not found (apt-get install postgresql)"
            )
        if self.user is not None:
            with contextlib.suppress(KeyError):
                pwd.getpwnam(self.user)
        self.disk.mount()
        self.log.touch()
        if self.user is not None:
            shutil.chown(self.log, self.user)
            shutil.chown(self.root, self.user)
        done = self._run(
            initdb, "-D", str(self.data), "--wal-segsize=1", "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        if done.returncode != 0:
            raise StoreRigError(f"initdb failed: {(done.stdout + done.stderr).strip()[-800:]}")
        self._pg_ctl_start()
        return self

    def _pg_ctl_start(self) -> None:
        pg_ctl = pg_bin("pg_ctl")
        assert pg_ctl is not None
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on "
            "-c max_wal_size=32MB -c min_wal_size=2MB -c max_connections=60"
        )
        done = self._run(
            pg_ctl, "-D", str(self.data), "-o", opts, "-l", str(self.log), "-w", "-t", "60", "start"
        )
        if done.returncode != 0:
            raise StoreRigError(f"pg_ctl start failed: {done.stderr.strip()[-400:]} {self.tail()}")

    def running(self) -> bool:
        pg_ctl = pg_bin("pg_ctl")
        assert pg_ctl is not None
        return self._run(pg_ctl, "-D", str(self.data), "status").returncode == 0

    def ensure_running(self) -> bool:
        """Start the server again if it shut itself down (as an operator would); True if it had to."""
        if self.running():
            return False
        self.restarts += 1
        self._pg_ctl_start()
        return True

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""

    def url(self, database: str, port: int | None = None) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port or self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        pg_ctl = pg_bin("pg_ctl")
        if pg_ctl is not None and self.data.exists():
            self._run(pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.disk.close()
        if self.log.exists():
            self.saved_log = self.log.read_text(errors="replace")
        shutil.rmtree(self.root, ignore_errors=True)
