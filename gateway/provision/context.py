"""Putting the pieces together for the CLI: settings, database, credentials, build, gateway."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from gateway.config.settings import GatewaySettings
from gateway.db import make_engine

from .build import load_build
from .credentials import Credentials
from .errors import BuildError, SettingsError
from .gateway_api import GatewayApi, base_url
from .settings import DEFAULT_NAME, load_hall, load_keypad
from .steps import Provisioner

__all__ = ["Hall", "actor_name", "open_hall", "provisioner"]


def actor_name(by: str | None) -> str:
    """The audit log's actor for a technician at this machine."""
    name = by or getpass.getuser() or "technician"
    return f"technician:{name}"


@dataclass
class Hall:
    settings: GatewaySettings
    engine: Engine
    gateway: GatewayApi

    def close(self) -> None:
        self.engine.dispose()


def open_hall(config: Path, *, token: str | None, api: str | None) -> Hall:
    settings = load_hall(config)
    try:
        engine = make_engine(settings.database_url)
    except Exception as exc:  # a URL the settings accepted but the engine cannot use
        raise SettingsError("无法打开数据库", f"cannot open the database: {exc}") from None
    return Hall(settings, engine, GatewayApi(api or base_url(settings), settings.hall_id, token))


def provisioner(
    hall: Hall,
    *,
    config: Path,
    keypad: Path | None,
    build: Path | None,
    actor: str,
    timeout: float,
    copy: bool,
    rekey: bool,
    wifi_timeout_s: float,
) -> Provisioner:
    keypad_settings = load_keypad(keypad if keypad is not None else config.parent / DEFAULT_NAME)
    folder = build or keypad_settings.build
    if folder is None:
        raise BuildError(
            "请用 --build 指定固件构建目录（hallvote firmware build --out DIR）",
            "name the firmware build with --build DIR (made by hallvote firmware build --out DIR)",
        )
    return Provisioner(
        hall=hall.settings,
        keypad=keypad_settings,
        build=load_build(folder),
        engine=hall.engine,
        credentials=Credentials(keypad_settings.credentials, hall.settings.hall_id),
        gateway=hall.gateway,
        actor=actor,
        timeout=timeout,
        copy=copy,
        rekey=rekey,
        wifi_timeout_ms=int(wifi_timeout_s * 1000),
    )
