"""The keypad's configuration: one dict of defaults, overridden by a local file.

``load()`` starts from :data:`DEFAULTS`, then applies the JSON object in
the local override file (written at provisioning: hall, device id, Wi-Fi,
broker, MQTT password, CA file), then any ``override`` dict the caller
passes (tests, the simulated rig).  Unknown keys are refused, so a typo in
a provisioning file is an error at boot, not a silently ignored setting.

NVS keys the firmware uses (for provisioning and recovery tools):
``sk`` the device's P-256 private key (32 bytes, never leaves the device),
``ctr`` the frame-counter reservation (:mod:`firmware.counter`), ``boot``
the boot count (u32, keeps nonce counters unique across reboots), ``ci``
the sitting id of the last acknowledged check-in (u32), ``ob`` the signed
frames awaiting an answer (:mod:`firmware.app.outbox` format), ``tf`` the
time floor (:mod:`firmware.app.timefloor`), ``bf``/``bfc`` the last boot
fault and the count of consecutive faulty boots (:mod:`firmware.app.boot`).
"""

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "DEFAULTS",
    "LOCAL_FILE",
    "NVS_BOOTS",
    "NVS_CHECKIN",
    "NVS_COUNTER",
    "NVS_OUTBOX",
    "NVS_SECRET",
    "load",
]

LOCAL_FILE = "hallvote_local.json"

NVS_SECRET = "sk"
NVS_COUNTER = "ctr"
NVS_BOOTS = "boot"
NVS_CHECKIN = "ci"
NVS_OUTBOX = "ob"

DEFAULTS: "dict[str, Any]" = {
    # identity and network (set by provisioning)
    "hall": "hall",
    "device_id": "kp-0",
    "wifi_ssid": "",
    "wifi_password": "",
    "broker_host": "192.168.10.1",
    "broker_port": 8883,
    "server_hostname": None,  # TLS name of the broker; None: broker_host
    "mqtt_password": "",
    "ca_file": "hall-ca.pem",  # the hall CA; None: no TLS (tests only)
    "keepalive": 30,
    "connect_timeout_s": 10,  # TCP connect, TLS handshake (inside the first write), CONNACK: each
    "send_timeout_s": 5,  # one drain; longer is link loss
    "offline_reset_s": 600,  # Wi-Fi up, no broker session this long: reset (0: never)
    # board (read by the board adapter, firmware/hal/esp32.py)
    "profile": None,  # hardware profile name; None: the build's default
    "hardware": {},  # pin overrides of the profile
    "nvs_namespace": "hallvote",
    "hostname": None,
    # timing (milliseconds unless named _s)
    "loop_ms": 10,  # one key scan per loop iteration
    "heartbeat_s": 30,
    "retransmit_ms": 2000,  # first retransmission; doubles per try
    "retransmit_max_ms": 15000,
    "refusal_ms": 4000,  # how long a refusal is shown
    "settle_ms": 300,  # after a reconnect, wait this long for retained broadcasts before resending
    "wifi_retry_ms": 15000,
    "stall_ms": 2000,  # an iteration slower than this is unhealthy: the watchdog is not fed
    # bounds
    "outbox_max": 8,  # signed frames awaiting an answer (the offline queue, kept in NVS; at most 16)
    "inbox_max": 16,  # received messages awaiting the loop
    "counter_block": 64,  # counter values reserved per NVS write
    "nonce_pool": 6,  # precomputed nonces (firmware/signer.py)
    "nonce_reserve": 3,  # heartbeats and hellos never take the last 3: kept for presses
    "steps_per_slice": 1,  # one precompute step per loop iteration (<= 5 ms on an ESP32, estimated)
    # feedback
    "secret_show_choice": False,  # secret rounds: show the choice on the display?
    "rating_keys": {"yes": 2, "abstain": 3, "no": 4},  # 满意 / 基本满意 / 不满意
}


def load(path: "str | None" = LOCAL_FILE, override: "dict[str, Any] | None" = None) -> "dict[str, Any]":
    """The effective configuration (see the module docstring)."""
    cfg = dict(DEFAULTS)
    layers = []
    if path:
        try:
            with open(path) as f:
                layers.append(json.load(f))
        except OSError:  # no local file: defaults only
            pass
    if override:
        layers.append(override)
    for layer in layers:
        for key in layer:
            if key not in DEFAULTS:
                raise ValueError("unknown config key %r" % key)
        cfg.update(layer)
    return cfg
