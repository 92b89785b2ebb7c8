"""The gateway's settings: one TOML file per hall, overridable from the environment.

::

    hall_id = "county-hall"                       # as in MQTT topics: 1..16 of a-z 0-9 -
    hall_name = "县人大常委会会议厅"                # registered at start if the hall is not yet
    database_url = "sqlite:///hallvote.db"        # or postgresql+psycopg://user@host/db
    time_zone = "Asia/Shanghai"                   # the console, big screen and minutes show times in it
    secret_keys_dir = "secret-keys"               # PostgreSQL: per-round keys of open secret rounds (docs/security.md)

    [broker]
    host = "127.0.0.1"
    port = 8883                                   # default 8883 with ca_file (TLS), else 1883
    username = "_gateway"
    password_file = "/etc/hallvote/broker.pass"   # or: password = "..."
    ca_file = "/etc/hallvote/broker/ca.crt"       # the hall CA; TLS when set
    client_id = "hallvote-gw-county-hall"          # optional; this is the default
    control_password_file = "broker-control.pass" # optional: revoked keypads disabled on the broker

    [api]
    host = "127.0.0.1"
    port = 8080
    docs = false                                  # /docs, /openapi.json for signed-in users only
    max_body_bytes = 5242880                      # larger request bodies: 413 before they are read

    [log]
    format = "text"                               # or "json" (one object per line)
    file = "log/hallvote.log"                     # optional; rotated at max_bytes, keeping backups

    [console]
    idle_timeout_min = 30                         # a person's console session ends after this idle time

    [[users]]
    name = "主任"
    role = "chair"                                # chair | clerk | technician | display
    token_sha256 = "…64 hex…"                     # hallvote gateway hash-token
    password_argon2 = "$argon2id$…"               # optional: console sign-in (hallvote user passwd)

``hallvote init`` writes this file with every key commented
(:mod:`gateway.config.template`).

Rules:

* every key is checked; an unknown key is refused (a typo must not be
  silently ignored), and :func:`load_settings` reports every bad key by its
  path (``broker.port: Input should be a valid integer``) as a
  :class:`ConfigError`;
* environment variables override the file: ``HALLVOTE_HALL_ID``,
  ``HALLVOTE_DATABASE_URL``, ``HALLVOTE_BROKER__PORT`` (``__`` separates
  nested keys), ``HALLVOTE_USERS`` (JSON);
* bearer tokens are never stored: a user carries the SHA-256 of its token;
  a console password is stored only as its argon2 hash (``password_argon2``,
  set by ``hallvote user passwd``); a user without one cannot sign in to the
  console;
* ``time_zone`` is an IANA zone name (checked at load time);
* the broker password comes from ``password`` or from ``password_file``
  (read at load time, surrounding blanks stripped), never both.
"""

from __future__ import annotations

import os
import re
import tomllib
import zoneinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from gateway.db.types import HubId

__all__ = [
    "ROLES",
    "ApiSettings",
    "BrokerSettings",
    "ConfigError",
    "ConsoleSettings",
    "GatewaySettings",
    "LogSettings",
    "Role",
    "UserEntry",
    "format_errors",
    "load_settings",
]

Role = Literal["chair", "clerk", "technician", "display"]
ROLES: tuple[Role, ...] = ("chair", "clerk", "technician", "display")

_HEX64 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ConfigError(Exception):
    """A configuration that cannot be used; ``problems`` are lines ``key.path: what is wrong``."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [f"配置有误 / bad configuration: {self.source}", *(f"  {p}" for p in self.problems)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BrokerSettings(_Section):
    host: str = Field(default="127.0.0.1", min_length=1, max_length=253)
    port: int = Field(default=0, ge=0, le=65535)
    """0 (the default) means 8883 with ``ca_file`` (TLS), else 1883."""
    username: str = Field(default="_gateway", min_length=1, max_length=64)
    password: SecretStr | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    """The hall CA certificate (PEM): TLS to the broker, verified against it."""
    client_id: str | None = Field(default=None, min_length=1, max_length=64)
    """MQTT client id; default ``hallvote-gw-<hall_id>`` (fixed, so the broker keeps the session)."""
    control_password_file: Path | None = None
    """The ``_control`` account's password (dynamic security): the gateway then disables revoked keypads."""

    def control_secret(self) -> str | None:
        if self.control_password_file is None:
            return None
        return self.control_password_file.read_text(encoding="utf-8").strip()

    @model_validator(mode="after")
    def _resolve(self) -> BrokerSettings:
        if (self.password is None) == (self.password_file is None):
            raise ValueError(
                "需要 password 或 password_file 之一 / give exactly one of broker.password or broker.password_file"
            )
        if self.password_file is not None:
            try:
                secret = self.password_file.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"broker.password_file: cannot read {self.password_file}: {exc}") from None
            if not secret:
                raise ValueError(f"broker.password_file: {self.password_file} is empty")
            object.__setattr__(self, "password", SecretStr(secret))
        if self.control_password_file is not None and not self.control_password_file.is_file():
            raise ValueError(f"broker.control_password_file: no such file {self.control_password_file}")
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ValueError(f"broker.ca_file: no such file {self.ca_file}")
        if self.port == 0:
            object.__setattr__(self, "port", 8883 if self.ca_file is not None else 1883)
        return self

    def secret(self) -> str:
        assert self.password is not None  # _resolve guarantees it
        return self.password.get_secret_value()


class ApiSettings(_Section):
    host: str = Field(default="127.0.0.1", min_length=1, max_length=253)
    port: int = Field(default=8080, ge=1, le=65535)
    docs: bool = False
    """Serve /docs and /openapi.json to anyone; off: only to a signed-in user (bearer token or console)."""
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    """The largest request body; a larger one is refused with 413 before it is read."""


class LogSettings(_Section):
    format: Literal["text", "json"] = "text"
    """``text``: one line per event (time level logger: message); ``json``: one JSON object per line."""
    file: Path | None = None
    """Also write the log to this file, rotated; unset: standard error only (journald under systemd)."""
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=64 * 1024)
    """Rotate the file at this size."""
    backups: int = Field(default=10, ge=1, le=1000)
    """Rotated files kept (hallvote.log.1 ...)."""


class ConsoleSettings(_Section):
    idle_timeout_min: int = Field(default=30, ge=1, le=24 * 60)
    """A person's console session ends after this many minutes without a request (the display's never)."""


class UserEntry(_Section):
    """A user: a name (the audit log's actor), a role, the SHA-256 of its bearer token, and optionally
    the argon2 hash of a console password."""

    name: str = Field(min_length=1, max_length=64)
    role: Role
    token_sha256: str
    password_argon2: str | None = None

    @field_validator("password_argon2")
    @classmethod
    def _argon2(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value.startswith("$argon2"):
            raise ValueError(
                "应为 argon2 哈希（hallvote user passwd）/ must be an argon2 hash (hallvote user passwd)"
            )
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value or _CONTROL.search(value):
            raise ValueError("a name is one line of text")
        return value

    @field_validator("token_sha256")
    @classmethod
    def _digest(cls, value: str) -> str:
        value = value.strip().lower()
        if not _HEX64.fullmatch(value):
            raise ValueError(
                "应为 64 位十六进制 SHA-256（hallvote gateway hash-token）/ "
                "must be the 64 hex digits of SHA-256 of the token (hallvote gateway hash-token)"
            )
        return value


class GatewaySettings(BaseSettings):
    """Everything ``hallvote gateway run`` needs; see the module docstring for the file."""

    model_config = SettingsConfigDict(
        env_prefix="HALLVOTE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    hall_id: HubId
    hall_name: str | None = Field(default=None, min_length=1, max_length=128)
    """The hall's name; the gateway registers the hall under it at start if it is not registered yet."""
    database_url: str = "sqlite:///hallvote.db"
    broker: BrokerSettings
    api: ApiSettings = ApiSettings()
    console: ConsoleSettings = ConsoleSettings()
    log: LogSettings = LogSettings()
    time_zone: str = "Asia/Shanghai"
    secret_keys_dir: Path = Path("secret-keys")
    users: list[UserEntry] = Field(default_factory=list)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"未知时区 / unknown time zone {value!r} (e.g. Asia/Shanghai)") from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's contents arrive as init arguments (load_settings); the environment wins over them.
        return (env_settings, init_settings)

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError("not a database URL (sqlite:///path or postgresql+psycopg://...)") from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")
        return value

    @field_validator("users")
    @classmethod
    def _unique(cls, users: list[UserEntry]) -> list[UserEntry]:
        names = [u.name for u in users]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"用户名重复 / duplicate user names: {', '.join(dup)}")
        digests = [u.token_sha256 for u in users]
        if len(set(digests)) != len(digests):
            raise ValueError("两个用户使用同一令牌 / two users share one token")
        return users


def _key(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(file)"


def format_errors(exc: ValidationError) -> list[str]:
    """One line per error: ``key.path: message`` (``users[0].role: ...``)."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "未知的配置项 / unknown key"
        elif err["type"] == "missing":
            message = "缺少此项 / missing key"
        env = "HALLVOTE_" + "__".join(str(p).upper() for p in loc)
        if loc and all(isinstance(p, str) for p in loc) and env in os.environ:
            message += f" (环境变量 / from the environment: {env})"
        lines.append(f"{_key(loc)}: {message}")
    return lines


def _relative_to(data: dict[str, Any], base: Path) -> None:
    """File paths in the file are relative to the file's directory (as a reader of it would expect)."""
    for section, keys in (
        ("broker", ("password_file", "ca_file", "control_password_file")),
        ("log", ("file",)),
    ):
        table = data.get(section)
        if not isinstance(table, dict):
            continue
        for key in keys:
            value = table.get(key)
            if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
                table[key] = str(base / value)


def load_settings(path: str | os.PathLike[str]) -> GatewaySettings:
    """Read the TOML file at ``path``, apply ``HALLVOTE_*`` overrides, validate; or ConfigError."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(source, [f"{source}: 配置文件不存在 / no such file"]) from None
    except IsADirectoryError:
        raise ConfigError(source, [f"{source}: 是目录而不是文件 / is a directory, not a file"]) from None
    except OSError as exc:
        raise ConfigError(source, [f"{source}: 无法读取 / cannot read: {exc.strerror or exc}"]) from None
    try:
        data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(source, [f"{source}: 不是 UTF-8 编码 / not UTF-8: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"{source}: TOML 格式错误 / invalid TOML: {exc}"]) from None
    _relative_to(data, Path(path).resolve().parent)
    try:
        settings = GatewaySettings(**data)
    except ValidationError as exc:
        raise ConfigError(source, format_errors(exc)) from None
    keys = settings.secret_keys_dir.expanduser()
    if not keys.is_absolute():  # beside the file, like the other paths in it
        settings = settings.model_copy(update={"secret_keys_dir": Path(path).resolve().parent / keys})
    return settings
