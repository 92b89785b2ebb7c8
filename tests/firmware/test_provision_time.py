"""firmware/provision.py: ``provisioned_at`` raises the keypad's time floor in NVS (never lowers
it) and a bad value is refused with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from firmware import provision as p
from firmware.app import timefloor
from firmware.hal.sim import SimNvs

SETTINGS = {
    "hall": "county-hall",
    "device_id": "kp-101",
    "wifi_ssid": "hall-keypads",
    "wifi_password": "wifi-secret",
    "broker_host": "192.168.10.2",
    "broker_port": 8883,
    "mqtt_password": "mqtt-password-1",
    "ca_pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
}


@pytest.fixture()
def nvs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimNvs:
    monkeypatch.chdir(tmp_path)
    store = SimNvs()
    p.use(nvs=store)
    yield store
    p.use()


def test_provisioned_at_sets_the_floor_forward_only(nvs: SimNvs) -> None:
    t = timefloor.RELEASED + 86400
    shown = p.write_config(json.dumps(dict(SETTINGS, provisioned_at=t)))
    assert nvs.get(timefloor.NVS_KEY) == t.to_bytes(4, "big")
    assert "provisioned_at" not in shown  # not an app setting: only the floor
    p.write_config(json.dumps(dict(SETTINGS, provisioned_at=t - 5000)))
    assert nvs.get(timefloor.NVS_KEY) == t.to_bytes(4, "big")
    p.write_config(json.dumps(SETTINGS))  # optional
    assert nvs.get(timefloor.NVS_KEY) == t.to_bytes(4, "big")


@pytest.mark.parametrize("bad", [946684800, "2026-11-20", True, 1.5e9, 1 << 33])
def test_a_bad_provisioned_at_is_refused_and_nothing_written(nvs: SimNvs, bad: object) -> None:
    with pytest.raises(p.ProvisionError) as err:
        p.write_config(json.dumps(dict(SETTINGS, provisioned_at=bad)))
    assert err.value.code == "BAD_CONFIG" and "provisioned_at" in err.value.message
    assert nvs.get(timefloor.NVS_KEY) is None and not Path("hallvote_local.json").exists()
