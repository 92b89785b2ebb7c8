"""What every way of preparing a keypad over its REPL shares: copying the build, its settings.

Used by :class:`gateway.provision.steps.Provisioner` (``hallvote
provision``) and by the test rig's physical keypads
(:class:`hil.rig.esp32board.Esp32SerialBoard`), so both put the same files
on the keypad and write the same settings through the keypad's own
:func:`firmware.provision.write_config`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from .build import Build
from .errors import DeviceRefused
from .link import BoardLink

__all__ = ["copy_build", "keypad_settings", "write_settings"]

CopyProgress = Callable[[str], None]
"""``progress(what)``: a file is about to be checked (and copied if it differs)."""


def copy_build(link: BoardLink, build: Build, progress: CopyProgress | None = None) -> int:
    """Copy ``build`` onto the keypad; how many files were written.

    A file whose SHA-256 on the keypad already matches is skipped; each file
    written is hashed on the keypad and must match the manifest (else
    :class:`DeviceRefused` ``COPY``).  ``manifest.json`` goes last.
    """
    total = len(build.files)
    written = 0
    for i, (rel, digest) in enumerate(build.files, start=1):
        remote = "/" + rel
        if progress is not None:
            progress(f"固件 / firmware {i}/{total} {rel}")
        if link.sha256(remote) == digest:
            continue
        link.put(build.data(rel), remote)
        got = link.sha256(remote)
        if got != digest:
            raise DeviceRefused(
                "COPY", f"{rel} reads back with SHA-256 {got}, expected {digest} (flash full or failing?)"
            )
        written += 1
    return written


def keypad_settings(
    *,
    hall: str,
    device_id: str,
    wifi_ssid: str,
    wifi_password: str,
    broker_host: str,
    broker_port: int,
    mqtt_password: str,
    ca_pem: str,
    server_hostname: str | None = None,
    now: float | None = None,
) -> dict[str, object]:
    """The settings :func:`firmware.provision.write_config` takes, with the host's clock as the time floor."""
    settings: dict[str, object] = {
        "hall": hall,
        "device_id": device_id,
        "wifi_ssid": wifi_ssid,
        "wifi_password": wifi_password,
        "broker_host": broker_host,
        "broker_port": broker_port,
        "mqtt_password": mqtt_password,
        "ca_pem": ca_pem,
        # The keypad's time floor before its first TLS handshake (docs/firmware.md, "The wall clock before TLS").
        "provisioned_at": int(time.time() if now is None else now),
    }
    if server_hostname:
        settings["server_hostname"] = server_hostname
    return settings


def write_settings(link: BoardLink, settings: dict[str, object]) -> dict[str, object]:
    """Have the keypad check and write ``settings``; what it wrote (without secrets)."""
    shown: dict[str, object] = link.call("write_config", json.dumps(settings))
    return shown
