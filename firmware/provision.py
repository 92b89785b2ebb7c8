"""The keypad's side of provisioning, called over the raw REPL by ``hallvote provision``.

The host copies the build onto the board, then runs short snippets such as
``from firmware import provision as p; p.call("info")`` and reads the one
line ``@@HV {...}`` that :func:`call` prints: ``{"ok": value}`` or
``{"error": CODE, "message": text}``.

* :func:`info`: firmware version, device id, hall, public key (hex) if a
  key exists, whether a configuration is present;
* :func:`write_config`: checks the provisioned settings (hall, device id,
  Wi-Fi, broker, MQTT password, hall CA) and writes the files the app reads
  (:data:`firmware.app.config.LOCAL_FILE` and the CA file), keeping any
  other local setting (hardware overrides) already there; an optional
  ``provisioned_at`` (the host's Unix seconds) raises the keypad's time
  floor in NVS (:mod:`firmware.app.timefloor`), so its first TLS handshake
  finds the broker certificate already valid;
* :func:`generate_key`: brings the radio up on a real keypad (so the ESP32
  RNG is truly random; by default it also waits for the Wi-Fi to join, which
  checks the provisioned SSID and password), generates the P-256 key with
  ``os.urandom``, stores the secret in NVS (key ``sk``) and returns only the
  public key.  The secret is never printed or returned.  An existing key is
  kept: it is replaced only with ``force=True``;
* :func:`install_key` (BENCH KEYPADS ONLY): stores a secret made by the
  host (the test rig's) in NVS and returns its public key.  Refused
  (``BENCH_ONLY``) unless the image was built with ``--test-channel``
  (``build_info.TEST_CHANNEL``): a hall keypad's key is always made on the
  keypad and never crosses the serial line.  A new key is a new identity,
  so the previous hall's check-in (``ci``) and unanswered frames (``ob``)
  are dropped with it.

No ``machine`` here: hardware comes from :mod:`firmware.hal.esp32` (its NVS
and Wi-Fi classes), and where that cannot be imported (the simulator, the
WebAssembly port) NVS is a JSON file in the format of
:class:`firmware.hal.sim.SimNvs`.  Tests may inject both with :func:`use`.
"""

import binascii
import json
import os
import sys
import time

from . import version
from .app import config

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = [
    "CA_FILE",
    "MARK",
    "NVS_FILE",
    "ProvisionError",
    "call",
    "generate_key",
    "info",
    "install_key",
    "use",
    "write_config",
]

MARK = "@@HV "
NVS_FILE = "hallvote_nvs.json"  # file-backed NVS where the board has none (simulator)
CA_FILE = "hall-ca.pem"

_REQUIRED = (
    "hall",
    "device_id",
    "wifi_ssid",
    "wifi_password",
    "broker_host",
    "broker_port",
    "mqtt_password",
    "ca_pem",
)
_OPTIONAL = ("server_hostname", "hostname", "profile")
_ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-"
_PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
_PEM_END = "-----END CERTIFICATE-----"

_TIME_KEY = "provisioned_at"  # the host's clock: the keypad's time floor before TLS
_TIME_MIN = 1704067200  # 2024-01-01

_injected: "dict[str, Any]" = {}


class ProvisionError(Exception):
    """A refusal on the keypad: ``code`` (upper-case word) and a message for the technician."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


def use(nvs: "Any" = None, wifi: "Any" = None, rng: "Any" = None) -> None:
    """Inject NVS, Wi-Fi (HAL objects) or ``rng(n)`` instead of the board's (tests)."""
    _injected.clear()
    for name, value in (("nvs", nvs), ("wifi", wifi), ("rng", rng)):
        if value is not None:
            _injected[name] = value


# ------------------------------------------------------------------ hardware


class _FileNvs:
    """NVS as a JSON file of hex values (the format of firmware.hal.sim.SimNvs)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def _load(self) -> "dict[str, str]":
        try:
            with open(self.path) as f:
                data: dict[str, str] = json.load(f)
            return data
        except OSError:
            return {}

    def get(self, key: str) -> "bytes | None":
        value = self._load().get(key)
        return None if value is None else binascii.unhexlify(value)

    def set(self, key: str, value: bytes) -> None:
        data = self._load()
        data[key] = binascii.hexlify(value).decode()
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.rename(tmp, self.path)


def _esp32() -> "Any":
    try:
        from .hal import esp32
    except ImportError:  # no esp32/machine/network modules: not a real keypad
        return None
    return esp32


def _nvs(cfg: "dict[str, Any]") -> "Any":
    if "nvs" in _injected:
        return _injected["nvs"]
    esp32 = _esp32()
    if esp32 is not None:
        return esp32.EspNvs(cfg.get("nvs_namespace") or "hallvote")
    return _FileNvs(NVS_FILE)


def _wifi(cfg: "dict[str, Any]") -> "Any":
    if "wifi" in _injected:
        return _injected["wifi"]
    esp32 = _esp32()
    return esp32.EspWifi(cfg.get("hostname")) if esp32 is not None else None


def _rng() -> "Any":
    if "rng" in _injected:
        return _injected["rng"]
    rng = getattr(os, "urandom", None)
    if rng is None:
        raise ProvisionError("NO_RNG", "this board has no os.urandom: no key generated")
    return rng


def _local() -> "dict[str, Any]":
    try:
        with open(config.LOCAL_FILE) as f:
            data = json.load(f)
    except OSError:
        return {}
    except ValueError:
        raise ProvisionError("BAD_CONFIG", "%s is not valid JSON" % config.LOCAL_FILE) from None
    if not isinstance(data, dict):
        raise ProvisionError("BAD_CONFIG", "%s is not a JSON object" % config.LOCAL_FILE)
    return data


def _effective(local: "dict[str, Any]") -> "dict[str, Any]":
    try:
        return config.load(None, local)
    except ValueError as exc:
        raise ProvisionError("BAD_CONFIG", "%s: %s" % (config.LOCAL_FILE, exc)) from None


# ------------------------------------------------------------------ the calls


def info() -> "dict[str, Any]":
    """What the host needs to know before and after provisioning (no secret)."""
    local = _local()
    secret = _nvs(_effective(local)).get(config.NVS_SECRET)
    public = None
    if secret is not None:
        from . import signer

        public = binascii.hexlify(signer.public_key_sec1(secret)).decode()
    return {
        "firmware": version.string(),
        "platform": sys.platform,
        "configured": bool(local),
        "hall": local.get("hall"),
        "device_id": local.get("device_id"),
        "public_key": public,
    }


def _check_id(settings: "dict[str, Any]", key: str) -> None:
    value = settings[key]
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= 16
        or value[0] == "-"
        or any(ch not in _ID_CHARS for ch in value)
    ):
        raise ProvisionError("BAD_CONFIG", "%s must be 1..16 of a-z 0-9 - not starting with -" % key)


def _check_text(settings: "dict[str, Any]", key: str, low: int, high: int) -> None:
    value = settings[key]
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise ProvisionError("BAD_CONFIG", "%s must be text of %d..%d characters" % (key, low, high))
    for ch in value:
        if ord(ch) < 32 or ord(ch) == 127:
            raise ProvisionError("BAD_CONFIG", "%s contains a control character" % key)


def _check(settings: "dict[str, Any]") -> None:
    if not isinstance(settings, dict):
        raise ProvisionError("BAD_CONFIG", "the settings must be a JSON object")
    for key in settings:
        # optional settings only where this firmware's app knows them
        if key == _TIME_KEY:
            continue
        if key not in _REQUIRED and (key not in _OPTIONAL or key not in config.DEFAULTS):
            raise ProvisionError("BAD_CONFIG", "unknown setting %r" % key)
    for key in _REQUIRED:
        if key not in settings:
            raise ProvisionError("BAD_CONFIG", "missing setting %r" % key)
    _check_id(settings, "hall")
    _check_id(settings, "device_id")
    _check_text(settings, "wifi_ssid", 1, 32)
    _check_text(settings, "wifi_password", 0, 64)
    _check_text(settings, "broker_host", 1, 253)
    _check_text(settings, "mqtt_password", 8, 200)
    port = settings["broker_port"]
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ProvisionError("BAD_CONFIG", "broker_port must be an integer 1..65535")
    for key in ("server_hostname", "hostname"):
        if settings.get(key) is not None:
            _check_text(settings, key, 1, 253)
    when = settings.get(_TIME_KEY)
    if when is not None and (
        not isinstance(when, int) or isinstance(when, bool) or not _TIME_MIN <= when <= 0xFFFFFFFF
    ):
        raise ProvisionError("BAD_CONFIG", "provisioned_at must be Unix seconds (an integer, 2024 or later)")
    pem = settings["ca_pem"]
    if not isinstance(pem, str) or _PEM_BEGIN not in pem or _PEM_END not in pem or len(pem) > 8192:
        raise ProvisionError("BAD_CONFIG", "ca_pem must be the hall CA certificate (PEM)")


def _write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def write_config(json_text: str) -> "dict[str, Any]":
    """Check the provisioned settings and write the app's local file and the CA file.

    Returns the settings written, without secrets (Wi-Fi and MQTT passwords, CA).
    """
    try:
        settings = json.loads(json_text)
    except ValueError:
        raise ProvisionError("BAD_CONFIG", "the settings are not valid JSON") from None
    _check(settings)
    local = _local()
    for key in _REQUIRED + _OPTIONAL:
        if key in settings and key != "ca_pem":
            local[key] = settings[key]
    local["ca_file"] = CA_FILE
    _effective(local)  # the app must accept what it will read at boot
    _write(CA_FILE, settings["ca_pem"])
    _write(config.LOCAL_FILE, json.dumps(local))
    when = settings.get(_TIME_KEY)
    if when is not None:  # the floor only moves forward (firmware/app/timefloor.py)
        from .app import timefloor

        nvs = _nvs(_effective(local))
        raw = nvs.get(timefloor.NVS_KEY)
        if raw is None or len(raw) != 4 or int.from_bytes(raw, "big") < when:
            nvs.set(timefloor.NVS_KEY, when.to_bytes(4, "big"))
    shown = {}
    for key in local:
        if key not in ("wifi_password", "mqtt_password"):
            shown[key] = local[key]
    return shown


def _radio_up(cfg: "dict[str, Any]", wifi_timeout_ms: int) -> None:
    wifi = _wifi(cfg)
    if wifi is None:  # simulator: no radio to bring up
        return
    if wifi_timeout_ms <= 0:  # radio on (the RNG is truly random), joining not required
        return
    wifi.connect(cfg["wifi_ssid"], cfg["wifi_password"])
    waited = 0
    while not wifi.connected():
        if waited >= wifi_timeout_ms:
            raise ProvisionError(
                "WIFI",
                "Wi-Fi %r did not come up within %d ms: check the SSID and password" % (cfg["wifi_ssid"], waited),
            )
        time.sleep(0.1)
        waited += 100


def generate_key(force: bool = False, wifi_timeout_ms: int = 20000) -> str:
    """Generate the device key (after the radio is up), store it in NVS, return the public key hex."""
    local = _local()
    if not local:
        raise ProvisionError("NOT_CONFIGURED", "write the configuration before generating the key")
    cfg = _effective(local)
    nvs = _nvs(cfg)
    if nvs.get(config.NVS_SECRET) is not None and not force:
        raise ProvisionError("KEY_EXISTS", "this keypad already has a key; it is kept unless forced")
    _radio_up(cfg, wifi_timeout_ms)
    from . import signer

    secret = signer.generate_private_key(_rng())
    public = signer.public_key_sec1(secret)
    nvs.set(config.NVS_SECRET, secret)
    if nvs.get(config.NVS_SECRET) != secret:
        raise ProvisionError("NVS", "the key did not read back from NVS")
    return binascii.hexlify(public).decode()


def _bench_image() -> bool:
    """True when this image was built with the bench test channel (``--test-channel``)."""
    try:
        from .hal import build_info  # type: ignore[attr-defined]  # generated by the build
    except ImportError:
        return False
    return bool(getattr(build_info, "TEST_CHANNEL", False))


def install_key(secret_hex: str) -> str:
    """BENCH ONLY: store the host's secret as the device key (replacing any); the public key hex."""
    if not _bench_image():
        raise ProvisionError(
            "BENCH_ONLY",
            "a key from the host is taken only by a --test-channel (bench) image; a hall keypad makes its own",
        )
    local = _local()
    if not local:
        raise ProvisionError("NOT_CONFIGURED", "write the configuration before installing the key")
    try:
        secret = binascii.unhexlify(secret_hex)
    except (TypeError, ValueError):
        raise ProvisionError("BAD_KEY", "the key must be 64 hex digits") from None
    from . import signer
    from .app import outbox

    try:
        public = signer.public_key_sec1(secret)
    except ValueError:
        raise ProvisionError("BAD_KEY", "not a P-256 private key (32 bytes, 0 < d < n)") from None
    nvs = _nvs(_effective(local))
    if nvs.get(config.NVS_SECRET) != secret:  # a new identity: the last hall's state goes
        nvs.set(config.NVS_CHECKIN, bytes(4))
        nvs.set(config.NVS_OUTBOX, outbox.dump([]))
        nvs.set(config.NVS_SECRET, secret)
    if nvs.get(config.NVS_SECRET) != secret:
        raise ProvisionError("NVS", "the key did not read back from NVS")
    return binascii.hexlify(public).decode()


_CALLS: "dict[str, Callable[..., Any]]" = {
    "info": info,
    "write_config": write_config,
    "generate_key": generate_key,
    "install_key": install_key,
}


def call(name: str, *args: "Any", **kwargs: "Any") -> None:
    """Run one of the calls above and print ``@@HV <json>`` with its value or refusal."""
    try:
        result: dict[str, Any] = {"ok": _CALLS[name](*args, **kwargs)}
    except ProvisionError as exc:
        result = {"error": exc.code, "message": exc.message}
    print(MARK + json.dumps(result))
