"""firmware/provision.py on the real MicroPython (mpy-cross output): the keypad's own checks.

The end-to-end tests reach it over the raw REPL; these drive the parts a
simulated board cannot: a radio that will not join, a key that must not be
overwritten, settings the keypad refuses.
"""

from __future__ import annotations

import pytest
from hvtest.micropython import micropython_harness  # noqa: F401  (fixture)

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

SCRIPT = """
import json, os, hvhost
os.chdir("/data")
from firmware import provision as p

class Wifi:
    def __init__(self, joins):
        self.joins = joins
        self.asked = None
    def connect(self, ssid, password):
        self.asked = (ssid, password)
    def connected(self):
        return self.joins

def outcome(fn, *args, **kw):
    try:
        return {"ok": fn(*args, **kw)}
    except p.ProvisionError as e:
        return {"error": e.code, "message": e.message}

inp = hvhost.load_input()
out = {}
out["before_config"] = outcome(p.generate_key)
bad = dict(inp["settings"]); bad["broker_port"] = 70000
out["bad_port"] = outcome(p.write_config, json.dumps(bad))
bad = dict(inp["settings"]); bad["colour"] = "red"
out["unknown"] = outcome(p.write_config, json.dumps(bad))
bad = dict(inp["settings"]); bad["device_id"] = "-kp"
out["bad_id"] = outcome(p.write_config, json.dumps(bad))
out["written"] = outcome(p.write_config, json.dumps(inp["settings"]))
wifi = Wifi(False)
p.use(wifi=wifi, rng=hvhost.urandom)
out["no_wifi"] = outcome(p.generate_key, wifi_timeout_ms=300)
out["asked"] = list(wifi.asked)
p.use(wifi=Wifi(True), rng=hvhost.urandom)
out["key"] = outcome(p.generate_key)
out["again"] = outcome(p.generate_key)
out["info"] = outcome(p.info)
out["forced"] = outcome(p.generate_key, force=True)
out["local"] = json.load(open("hallvote_local.json"))
out["ca"] = open("hall-ca.pem").read()
hvhost.result(out)
"""


def test_keypad_side_checks(micropython):
    try:
        out = micropython.run_json(SCRIPT, input_data={"settings": SETTINGS}, compiled=True)
    except micropython.MicroPythonUnavailable as exc:  # mpy-cross missing
        pytest.fail(str(exc))
    assert out["before_config"]["error"] == "NOT_CONFIGURED"
    assert out["bad_port"]["error"] == "BAD_CONFIG" and "broker_port" in out["bad_port"]["message"]
    assert out["unknown"]["error"] == "BAD_CONFIG" and "colour" in out["unknown"]["message"]
    assert out["bad_id"]["error"] == "BAD_CONFIG" and "device_id" in out["bad_id"]["message"]
    shown = out["written"]["ok"]
    assert "wifi_password" not in shown and "mqtt_password" not in shown and shown["device_id"] == "kp-101"
    assert out["no_wifi"]["error"] == "WIFI" and "hall-keypads" in out["no_wifi"]["message"]
    assert out["asked"] == ["hall-keypads", "wifi-secret"]
    key = out["key"]["ok"]
    assert len(key) == 130 and key.startswith("04")
    assert out["again"]["error"] == "KEY_EXISTS"
    assert out["info"]["ok"]["public_key"] == key and out["info"]["ok"]["device_id"] == "kp-101"
    assert out["forced"]["ok"] != key
    assert out["local"]["ca_file"] == "hall-ca.pem" and out["ca"] == SETTINGS["ca_pem"]
    assert out["local"]["mqtt_password"] == "mqtt-password-1"
