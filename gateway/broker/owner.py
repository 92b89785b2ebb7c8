"""Who the broker runs as, and handing it the files it must read (and the folder it writes).

Mosquitto 2.0 started as root drops to the user of its ``user`` option
(default ``mosquitto``) before it reads the password file, the ACL and
the dynamic-security plugin's file, and the plugin then rewrites its file
(a new file beside it, renamed over it).  So when the configuration is
written by root for a broker that will drop privileges:

* the files the broker reads (server certificate and key, ``passwd``,
  ``acl``) belong to that user, mode 0600 or 0644 as before;
* the plugin's folder ``dynsec/`` and the persistence folder belong to it
  (mode 0700), so it can rewrite its file;
* the configuration folder itself stays root's, mode 0711 (enter, not
  list), so ``ca.key`` and ``credentials.csv`` stay root's alone;
* every folder above must let that user pass (``x``); if one does not
  (``/root`` is 0700), :func:`check_reachable` says which (the commands
  print it as a warning: the files are written all the same).

Run as another user, nothing changes hands: Mosquitto runs as that user.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from .errors import InvalidSettingError

__all__ = ["BrokerUser", "broker_user", "check_reachable", "hand_over"]


class BrokerUser:
    def __init__(self, name: str, uid: int, gid: int) -> None:
        self.name = name
        self.uid = uid
        self.gid = gid

    def __repr__(self) -> str:
        return f"BrokerUser({self.name!r}, {self.uid}, {self.gid})"


def broker_user(run_as_user: str | None) -> BrokerUser | None:
    """The user Mosquitto will run as if it differs from us and we are root; else None."""
    if os.geteuid() != 0:
        return None
    name = run_as_user or "mosquitto"
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise InvalidSettingError(
            f"用户 {name} 不存在 / there is no user {name!r} for Mosquitto to run as "
            "(install Debian's mosquitto, or choose one with --run-as)"
        ) from None
    if entry.pw_uid == 0:
        return None
    return BrokerUser(name, entry.pw_uid, entry.pw_gid)


def _can_pass(st: os.stat_result, user: BrokerUser) -> bool:
    if st.st_uid == user.uid:
        return bool(st.st_mode & 0o100)
    if st.st_gid == user.gid:
        return bool(st.st_mode & 0o010)
    return bool(st.st_mode & 0o001)


def check_reachable(folder: Path, user: BrokerUser) -> str | None:
    """What stops ``user`` entering ``folder`` (the first folder above it it cannot pass), or None."""
    for parent in reversed(Path(folder).absolute().parents):
        if not _can_pass(parent.stat(), user):
            return (
                f"Mosquitto 以用户 {user.name} 运行，无法进入 {parent}（权限 {oct(parent.stat().st_mode & 0o777)}）；"
                f"请把会场目录放在 /etc/hallvote 或 /srv 下 / Mosquitto runs as {user.name} and cannot "
                f"enter {parent} (mode {oct(parent.stat().st_mode & 0o777)}): put the hall folder under "
                "/etc/hallvote or /srv, or let that user pass (chmod o+x)"
            )
    return None


def hand_over(folder: Path, broker_files: list[Path], broker_dirs: list[Path], user: BrokerUser) -> None:
    """Give ``user`` the files and folders the broker reads and writes; the folder stays root's, 0711."""
    os.chmod(folder, 0o711)
    for d in broker_dirs:
        os.chown(d, user.uid, user.gid)
        os.chmod(d, 0o700)
    for f in broker_files:
        if f.exists():
            os.chown(f, user.uid, user.gid)
