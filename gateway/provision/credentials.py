"""The broker accounts of a hall's keypads, from ``credentials.csv`` of ``hallvote broker config``.

A keypad's MQTT username is its device id; its password is the one the
broker configuration generated for that account.  The usual flow is to
list the device ids before the session (``devices.csv``), run ``hallvote
broker config --devices devices.csv``, and let provisioning hand the
accounts out in order.

When a keypad needs an account the CSV does not have, :meth:`add_device`
generates a password, appends the account to ``credentials.csv`` and
gives it to the broker, whichever way the folder says:

* **dynamic security** (``dynsec/dynamic-security.json`` beside the
  CSV, the default): a running broker gets the account at once over its
  control topic (as ``_control``, on the listener ``mosquitto.conf``
  names, the loopback one first); a broker that is not running gets it in
  the plugin's file, read when it starts.  :attr:`applied` says which
  (``"broker"`` or ``"file"``);
* **static accounts** (``passwd`` and ``acl``): both files are rewritten
  (same renderers as ``hallvote broker config``); Mosquitto reads them
  only at start and on SIGHUP, so the broker must then be told: ``kill
  -HUP <mosquitto pid>`` (or restart it); :attr:`applied` is
  ``"static"``.

:attr:`changed` says an account was added.  Also add the new id to
``devices.csv``: a later ``hallvote broker config --devices devices.csv``
keeps the passwords of the accounts it lists and drops the others.
"""

from __future__ import annotations

import csv
import io
import os
import ssl
from pathlib import Path

from gateway.broker import config as bc
from gateway.broker.dynsec import DynsecClient, DynsecError, DynsecFile

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
        self.applied: str | None = None  # "broker", "file" or "static" once an account was added
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
            if (folder / bc.DYNSEC_FILE).exists():
                applied = self._dynsec(folder, device_id, password)
                _atomic_write(self.path, bc.render_credentials(accounts).encode(), 0o600)
            else:
                acl = bc.render_acl(self.hall, accounts).encode()
                _atomic_write(self.path, bc.render_credentials(accounts).encode(), 0o600)
                _atomic_write(folder / bc.PASSWORD_FILE, bc.render_password_file(accounts).encode(), 0o600)
                _atomic_write(folder / bc.ACL_FILE, acl, 0o644)
                applied = "static"
        except (OSError, bc.BrokerConfigError) as exc:
            raise CredentialsError(
                f"无法更新代理配置 {folder}", f"cannot update the broker configuration in {folder}: {exc}"
            ) from None
        self.accounts = accounts
        self.changed = True
        self.applied = applied
        return password

    def _dynsec(self, folder: Path, device_id: str, password: str) -> str:
        """Give a running broker the account over its control topic, else write the plugin's file."""
        control = _control_password(self.accounts)
        listener = _listener(folder / bc.CONF)
        if control is not None and listener is not None:
            host, port, tls = listener
            context = ssl.create_default_context(cafile=str(folder / bc.CA_CERT)) if tls else None
            try:
                with DynsecClient(host=host, port=port, password=control, tls=context) as client:
                    client.add_devices(self.hall, [(device_id, password)])
                return "broker"
            except DynsecError as exc:
                if exc.code != "UNREACHABLE":  # a running broker that refused: do not edit its file
                    raise
        f = DynsecFile(folder / bc.DYNSEC_FILE, self.hall)
        f.add_devices([(device_id, password)])
        f.save()
        return "file"


def _control_password(accounts: list[bc.Account]) -> str | None:
    for a in accounts:
        if a.role == bc.ROLE_CONTROL:
            return a.password
    return None


def _listener(conf: Path) -> tuple[str, int, bool] | None:
    """(host, port, tls) to reach the broker of ``mosquitto.conf`` (as generated): loopback plain first."""
    try:
        lines = conf.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    found: list[tuple[str, int, bool]] = []
    for i, line in enumerate(lines):
        parts = line.split()
        if len(parts) == 3 and parts[0] == "listener" and parts[1].isdigit():
            tls = any(a.startswith("certfile") for a in lines[i + 1 : i + 4])
            host = "127.0.0.1" if parts[2] in ("0.0.0.0", "::") else parts[2]
            found.append((host, int(parts[1]), tls))
    found.sort(key=lambda f: (f[2], f[0] != "127.0.0.1"))
    return found[0] if found else None
