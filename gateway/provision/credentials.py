"""The broker accounts of a hall's keypads, from ``credentials.csv`` of ``hallvote broker config``.

A keypad's MQTT username is its device id; its password is the one the
broker configuration generated for that account.  The usual flow is to
list the device ids before the session (``devices.csv``), run ``hallvote
broker config --devices devices.csv``, and let provisioning hand the
accounts out in order.

When a keypad needs an account the CSV does not have, :meth:`add_device`
generates a password, appends the account to ``credentials.csv`` and
rewrites the broker's ``passwd`` and ``acl`` beside it (same renderers as
``hallvote broker config``).  Mosquitto reads those files only at start
and on SIGHUP, so the broker must then be told: ``kill -HUP <mosquitto
pid>`` (or restart it); :attr:`changed` says so.  Also add the new id to
``devices.csv``: a later ``hallvote broker config --devices devices.csv``
keeps the passwords of the accounts it lists and drops the others.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from gateway.broker import config as bc

from .errors import CredentialsError

__all__ = ["Credentials"]


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


class Credentials:
    """The accounts in one ``credentials.csv`` (username, password, role)."""

    def __init__(self, path: str | Path, hall: str) -> None:
        self.path = Path(path)
        self.hall = hall
        self.changed = False
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CredentialsError(
                f"找不到代理账号文件 {self.path}；请先运行 hallvote broker config",
                f"no broker credentials file {self.path}; run hallvote broker config first",
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CredentialsError(f"无法读取 {self.path}", f"cannot read {self.path}: {exc}") from None
        self.accounts: list[bc.Account] = []
        for row in csv.reader(io.StringIO(text)):
            if not row or row[0] in ("username", "") or row[0].startswith("#"):
                continue
            if len(row) != 3:
                raise CredentialsError(
                    f"{self.path} 格式有误（应为 username,password,role）",
                    f"{self.path}: expected username,password,role rows",
                )
            self.accounts.append(bc.Account(row[0], row[1], row[2]))

    def password(self, device_id: str) -> str | None:
        for a in self.accounts:
            if a.username == device_id and a.role == bc.ROLE_DEVICE:
                return a.password
        return None

    def device_ids(self) -> list[str]:
        return [a.username for a in self.accounts if a.role == bc.ROLE_DEVICE]

    def new_device_id(self, prefix: str, taken: set[str]) -> str:
        """The first ``<prefix>NNN`` (001, 002, ...) that no account and nothing in ``taken`` has."""
        used = set(self.device_ids()) | taken
        n = 1
        while f"{prefix}{n:03d}" in used:
            n += 1
        return f"{prefix}{n:03d}"

    def add_device(self, device_id: str) -> str:
        """Add a device account with a fresh password; rewrite credentials.csv, passwd and acl."""
        if self.password(device_id) is not None:
            raise CredentialsError(f"账号已存在: {device_id}", f"account exists: {device_id}")
        password = bc.generate_password()
        accounts = [*self.accounts, bc.Account(device_id, password, bc.ROLE_DEVICE)]
        folder = self.path.parent
        try:
            acl = bc.render_acl(self.hall, accounts).encode()
            _atomic_write(self.path, bc.render_credentials(accounts).encode(), 0o600)
            _atomic_write(folder / bc.PASSWORD_FILE, bc.render_password_file(accounts).encode(), 0o600)
            _atomic_write(folder / bc.ACL_FILE, acl, 0o644)
        except (OSError, bc.BrokerConfigError) as exc:
            raise CredentialsError(
                f"无法更新代理配置 {folder}", f"cannot update the broker configuration in {folder}: {exc}"
            ) from None
        self.accounts = accounts
        self.changed = True
        return password
