"""Per-round keys that seal a secret round's pending choices on PostgreSQL, kept in files beside the gateway.

PostgreSQL keeps old row images in its WAL (``pg_wal``) and in dead tuples
until they are recycled, so deleting a secret round's ``secret_pending``
rows at close does not take the choices out of the server's files.  So on
PostgreSQL the choices (and the per-item counters) of a pending row are
never written in the clear: they are sealed with AES-256-GCM under a key
made for that round, bound to the row (round id and member id as associated
data).  The row keeps the device, member and counter, a ``choices`` column
of zero bytes of the ballot's length, and the sealed bytes in ``sealed``.

The key never enters the database.  It lives in ``<dir>/secret-round-<motion>-<round>.key``
(32 random bytes, mode 0600), written and fsynced (file and directory)
before the first pending row of the round is committed, so a crash
mid-round recovers every pending choice from the key file and the rows.
When the round's close has committed the key file is overwritten, fsynced
and deleted: what is left in PostgreSQL's files can no longer be opened.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.core.state import RoundKey

__all__ = ["MissingRoundKey", "RoundKeys"]

_NAME = re.compile(r"secret-round-(\d+)-(\d+)\.key")
_KEY_LEN = 32
_NONCE_LEN = 12


class MissingRoundKey(RuntimeError):
    """A secret round's sealed pending choices cannot be opened: its key file is missing or wrong."""

    code = "SECRET_KEY_MISSING"


class RoundKeys:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._cache: dict[RoundKey, bytes] = {}

    def path(self, key: RoundKey) -> Path:
        return self.directory / f"secret-round-{key[0]}-{key[1]}.key"

    def stored(self) -> list[RoundKey]:
        """The rounds that have a key file."""
        if not self.directory.is_dir():
            return []
        found = (_NAME.fullmatch(p.name) for p in self.directory.iterdir())
        return sorted((int(m.group(1)), int(m.group(2))) for m in found if m)

    def key(self, round_key: RoundKey, *, create: bool) -> bytes:
        cached = self._cache.get(round_key)
        if cached is not None:
            return cached
        path = self.path(round_key)
        try:
            value = path.read_bytes()
        except FileNotFoundError:
            if not create:
                raise MissingRoundKey(
                    f"无记名表决密钥文件缺失 / the key file of secret round {round_key} is missing: {path}"
                ) from None
            value = os.urandom(_KEY_LEN)
            self._write(path, value)
        if len(value) != _KEY_LEN:
            raise MissingRoundKey(f"无记名表决密钥文件损坏 / the key file {path} is damaged")
        self._cache[round_key] = value
        return value

    def seal(
        self, round_key: RoundKey, round_id: int, member_id: int, choices: bytes, counters: tuple[int, ...]
    ) -> bytes:
        plain = bytes([len(choices)]) + choices + b"".join(struct.pack(">Q", c) for c in counters)
        nonce = os.urandom(_NONCE_LEN)
        return nonce + AESGCM(self.key(round_key, create=True)).encrypt(
            nonce, plain, _aad(round_id, member_id)
        )

    def open(
        self, round_key: RoundKey, round_id: int, member_id: int, sealed: bytes
    ) -> tuple[bytes, tuple[int, ...]]:
        key = self.key(round_key, create=False)
        try:
            plain = AESGCM(key).decrypt(sealed[:_NONCE_LEN], sealed[_NONCE_LEN:], _aad(round_id, member_id))
        except InvalidTag:
            raise MissingRoundKey(
                f"无记名表决数据无法解密 / the sealed choices of secret round {round_key} do not open with its key"
            ) from None
        n = plain[0]
        choices = plain[1 : 1 + n]
        rest = plain[1 + n :]
        counters = tuple(struct.unpack(">Q", rest[i : i + 8])[0] for i in range(0, len(rest), 8))
        return choices, counters

    def destroy(self, round_key: RoundKey) -> None:
        """Overwrite, fsync and delete the round's key file (nothing if it has none)."""
        self._cache.pop(round_key, None)
        path = self.path(round_key)
        try:
            with path.open("r+b") as f:
                f.write(b"\0" * _KEY_LEN)
                f.flush()
                os.fsync(f.fileno())
        except FileNotFoundError:
            return
        path.unlink()
        _fsync_dir(self.directory)

    def _write(self, path: Path, value: bytes) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, value)
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsync_dir(self.directory)


def _aad(round_id: int, member_id: int) -> bytes:
    return b"hallvote secret_pending %d %d" % (round_id, member_id)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
