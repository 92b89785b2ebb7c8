"""The sign-in check's stand-in hash for an unknown name: the same argon2 parameters as a stored one."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters

from gateway.config.settings import GatewaySettings
from gateway.console import auth


def test_an_unknown_name_is_verified_against_a_hash_with_the_hashers_parameters() -> None:
    assert not auth._hasher.check_needs_rehash(auth._DUMMY)  # same type, version, memory, time, lanes
    assert extract_parameters(auth._DUMMY) == extract_parameters(auth.hash_password("any password"))
    assert extract_parameters(auth._DUMMY) == extract_parameters(PasswordHasher().hash("x"))  # the defaults
    assert PasswordHasher().verify(auth._DUMMY, "hallvote: no such user")


def test_an_unknown_name_is_refused_whatever_the_password() -> None:
    s = GatewaySettings(hall_id="h", broker={"password": "p"}, users=[
        {"name": "张三", "role": "chair", "token_sha256": "0" * 64, "password_argon2": auth.hash_password("right")}])  # fmt: skip
    assert auth.check_password(s, "张三", "right") is not None
    assert auth.check_password(s, "张三", "wrong") is None
    assert auth.check_password(s, "李四", "right") is None
    assert auth.check_password(s, "李四", "hallvote: no such user") is None  # the stand-in's own password
