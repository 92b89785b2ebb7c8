"""What every keypad of a hall is given: ``keypad.toml``, beside the gateway's ``hall.toml``.

::

    wifi_ssid = "hall-keypads"                    # the keypads' Wi-Fi
    wifi_password_file = "wifi.pass"              # or: wifi_password = "..."
    broker_host = "192.168.10.2"                  # the broker as keypads reach it (in server.crt's names)
    broker_port = 8883
    # server_hostname = "broker.hall"             # TLS name to check, when not broker_host
    credentials = "broker/credentials.csv"        # written by `hallvote broker config --out broker`
    # ca_file = "broker/ca.crt"                   # default: ca.crt beside the credentials
    # build = "firmware-build"                    # default for --build (`hallvote firmware build --out`)
    # device_prefix = "kp-"                       # new device ids: kp-001, kp-002, ...

It is a file of its own because ``hall.toml`` refuses keys it does not
know, and because the keypads' view of the network (Wi-Fi, the broker's
LAN address) is not the gateway's.  Relative paths are relative to the
file.  The gateway's own settings (hall id, database, API address) come
from ``hall.toml`` (:func:`gateway.config.settings.load_settings`).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from gateway.config.settings import ConfigError, GatewaySettings, format_errors, load_settings

from .errors import SettingsError

__all__ = ["DEFAULT_NAME", "KeypadSettings", "load_hall", "load_keypad"]

DEFAULT_NAME = "keypad.toml"


class KeypadSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    wifi_ssid: str = Field(min_length=1, max_length=32)
    wifi_password: SecretStr | None = None
    wifi_password_file: Path | None = None
    broker_host: str = Field(min_length=1, max_length=253)
    broker_port: int = Field(default=8883, ge=1, le=65535)
    server_hostname: str | None = Field(default=None, min_length=1, max_length=253)
    credentials: Path
    ca_file: Path | None = None
    build: Path | None = None
    device_prefix: str = Field(default="kp-", pattern=r"^[a-z0-9][a-z0-9-]{0,11}$")

    @model_validator(mode="after")
    def _resolve(self) -> KeypadSettings:
        if self.wifi_password is not None and self.wifi_password_file is not None:
            raise ValueError("give wifi_password or wifi_password_file, not both")
        if self.wifi_password_file is not None:
            try:
                secret = self.wifi_password_file.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(
                    f"wifi_password_file: cannot read {self.wifi_password_file}: {exc}"
                ) from None
            object.__setattr__(self, "wifi_password", SecretStr(secret))
        if self.wifi_password is None:
            object.__setattr__(self, "wifi_password", SecretStr(""))
        if self.ca_file is None:
            object.__setattr__(self, "ca_file", self.credentials.parent / "ca.crt")
        return self

    def wifi_secret(self) -> str:
        assert self.wifi_password is not None
        return self.wifi_password.get_secret_value()

    def ca_pem(self) -> str:
        assert self.ca_file is not None
        try:
            pem = self.ca_file.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(
                f"无法读取会场 CA 证书 {self.ca_file}", f"cannot read the hall CA {self.ca_file}: {exc}"
            ) from None
        if "-----BEGIN CERTIFICATE-----" not in pem:
            raise SettingsError(f"{self.ca_file} 不是 PEM 证书", f"{self.ca_file} is not a PEM certificate")
        return pem


def _relative(data: dict[str, Any], base: Path) -> None:
    for key in ("wifi_password_file", "credentials", "ca_file", "build"):
        value = data.get(key)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            data[key] = str(base / value)


def load_keypad(path: str | Path) -> KeypadSettings:
    """Read ``keypad.toml``; every problem is reported by key as a SettingsError."""
    source = Path(path)
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(
            f"找不到表决器配置 {source}（见 docs/provisioning.md）",
            f"no keypad settings file {source} (see docs/provisioning.md)",
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"无法读取 {source}", f"cannot read {source}: {exc}") from None
    _relative(data, source.resolve().parent)
    try:
        return KeypadSettings(**data)
    except ValidationError as exc:
        problems = "; ".join(format_errors(exc))
        raise SettingsError(
            f"表决器配置有误 {source}: {problems}", f"bad keypad settings {source}: {problems}"
        ) from None


def load_hall(path: str | Path) -> GatewaySettings:
    """``hall.toml`` (:func:`gateway.config.settings.load_settings`), with its problems as a SettingsError."""
    try:
        return load_settings(path)
    except ConfigError as exc:
        problems = "; ".join(exc.problems)
        raise SettingsError(
            f"网关配置有误 {path}: {problems}", f"bad gateway settings {path}: {problems}"
        ) from None
