"""gateway.console.auth's password checks: an unknown name costs the same argon2 verify as a known one."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import extract_parameters

from gateway.config.settings import GatewaySettings
from gateway.console import auth


def _settings(password_hash: str) -> GatewaySettings:
    return GatewaySettings(
        hall_id="county-hall",
        broker={"password": "unused"},
        users=[{"name": "主任", "role": "chair", "token_sha256": "0" * 64, "password_argon2": password_hash}],
    )


def test_the_unknown_name_dummy_has_the_hashers_parameters() -> None:
    # A stored literal (hashing it at import took a transient 64 MiB): its cost must be a real hash's.
    assert extract_parameters(auth._DUMMY) == extract_parameters(auth.hash_password("any password"))


def test_an_unknown_name_is_one_verify_against_the_dummy(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(auth.hash_password("正确的密码"))
    checked: list[str] = []
    hasher = auth._hasher

    class Counting:
        def verify(self, stored: str, password: Any) -> bool:
            checked.append(stored)
            return hasher.verify(stored, password)

    monkeypatch.setattr(auth, "_hasher", Counting())
    assert auth.check_password(settings, "无此人", "正确的密码") is None
    assert checked == [auth._DUMMY]
    assert auth.check_password(settings, "主任", "错误的密码") is None
    entry = auth.check_password(settings, " 主任 ", "正确的密码")
    assert entry is not None and entry.name == "主任" and len(checked) == 3
