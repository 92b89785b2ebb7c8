"""A commented ``hall.toml``: every key the gateway reads, what it means, its default.

``hallvote init`` writes it (:func:`render`); ``hallvote user add`` appends a
person (:func:`user_block`).  The file is the reference for the format: a
test loads what :func:`render` writes and checks that every settings key
is in it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["TemplateUser", "render", "toml_string", "user_block"]


@dataclass(frozen=True)
class TemplateUser:
    name: str
    role: str
    token_sha256: str


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's for the characters a name may hold)."""
    return json.dumps(value, ensure_ascii=False)


def user_block(user: TemplateUser) -> str:
    return (
        "\n[[users]]\n"
        f"name = {toml_string(user.name)}\n"
        f"role = {toml_string(user.role)}\n"
        f'token_sha256 = "{user.token_sha256}"\n'
    )


def render(
    *,
    hall_id: str,
    hall_name: str,
    database_url: str,
    broker_port: int,
    gateway_password_file: str,
    control_password_file: str | None,
    api_host: str,
    api_port: int,
    users: Sequence[TemplateUser],
) -> str:
    control = (
        f"control_password_file = {toml_string(control_password_file)}"
        if control_password_file is not None
        else '# control_password_file = "broker-control.pass"  (static broker accounts: none)'
    )
    head = f"""\
# hallvote 网关配置 / the gateway's settings for one hall.
# Written by `hallvote init`; edit freely (every key is checked when the gateway starts:
# an unknown or misspelt key is refused, naming it). `hallvote gateway check-config --config
# THIS_FILE` validates it and tries the broker and the database.
# Environment variables override it: HALLVOTE_HALL_ID, HALLVOTE_DATABASE_URL,
# HALLVOTE_BROKER__PORT (two underscores between a section and its key), ...
# Relative file paths are relative to this file's folder.

# 会场编号：MQTT 主题中的编号 / the hall's id, as in MQTT topics: 1..16 of a-z 0-9 -
hall_id = {toml_string(hall_id)}
# 会场名称：网关启动时若会场未登记则以此登记 / the hall's name: registered under it at start
hall_name = {toml_string(hall_name)}
# 数据库 / the database: sqlite:////absolute/path.db (one machine), or
# postgresql+psycopg://user@host/dbname (production). The gateway migrates it at start.
database_url = {toml_string(database_url)}
# 时区 / the time zone the console, big screen and minutes show times in (IANA name)
time_zone = "Asia/Shanghai"
# 无记名表决密钥目录 / PostgreSQL: where the per-round keys of open secret rounds are kept
# (never in the database; back it up with the gateway's data; docs/security.md)
secret_keys_dir = "secret-keys"

[broker]
# 消息代理 / the hall's Mosquitto, as the gateway reaches it (the loopback listener of
# `hallvote init`; a remote broker needs TLS: set ca_file and its TLS port)
host = "127.0.0.1"
# 0 = 8883 with ca_file (TLS), else 1883
port = {broker_port}
# the gateway's broker account
username = "_gateway"
# its password, in a file of its own (mode 0600); or `password = "..."` here (not both)
password_file = {toml_string(gateway_password_file)}
# the hall CA (PEM): TLS to the broker, checked against it; unset: plain (loopback only)
# ca_file = "broker/ca.crt"
# MQTT client id; default "hallvote-gw-<hall_id>"
# client_id = "hallvote-gw-{hall_id}"
# the broker's `_control` account (dynamic security): with it the gateway disables a revoked
# or swapped-out keypad's account at once; unset: revoked keypads can still log in
{control}

[api]
# 接口 / the HTTP API and console: address and port (127.0.0.1: this machine only)
host = {toml_string(api_host)}
port = {api_port}
# serve /docs and /openapi.json to anyone (true), or only to a signed-in user (false)
docs = false
# the largest request body in bytes (CSV imports take up to 4 MiB); larger ones are refused
# with 413 before they are read
max_body_bytes = 5242880

[console]
# 控制台 / a person's console session ends after this many idle minutes
idle_timeout_min = 30

[log]
# 日志 / "text": one line per event (time level logger: message); "json": one JSON object per line
format = "text"
# also write to this file, rotated at max_bytes, keeping `backups` old files; unset: standard
# error only (journald under systemd: journalctl -u hallvote-gateway)
# file = "log/hallvote.log"
max_bytes = 10485760
backups = 10

# 用户 / the people who use the API and console, one [[users]] table each:
#   name          who they are (the audit log's actor; unique)
#   role          chair (主持人) | clerk (工作人员) | technician (技术人员) | display (大屏)
#   token_sha256  SHA-256 of their bearer token (the token itself is never stored)
#   password_argon2  optional: console sign-in password hash (hallvote user passwd)
# `hallvote user add --config THIS_FILE --name 张三 --role clerk` adds one and prints the token.
"""
    return head + "".join(user_block(u) for u in users)
