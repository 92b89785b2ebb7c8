"""The rig's board for a physical keypad (hil/rig/esp32board.py) against the simulated REPL board.

The keypad is the real MicroPython interpreter (WebAssembly port) behind a
pty with its own raw REPL (tests/hvtest/replboards.py); mpremote drives it
as it would an ESP32 on /dev/ttyUSB0.  With the ESP32 stand-ins of the HAL
tests (tests/firmware/hal/mpstubs: ``machine``, ``network``, ``esp32``) in
its /lib, the firmware takes it for an ESP32: NVS is ``esp32.NVS`` through
the HAL's EspNvs and the watchdog is ``machine.WDT``.  Real builds from
``hallvote firmware build`` (with and without ``--test-channel``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
import serial
from hvtest.micropython import need_mpy_cross
from hvtest.replboards import Boards
from hvtest.tools import REPO

from firmware.app import config, outbox
from firmware.hal.sim import SimNvs
from gateway.broker import pki
from gateway.core import signatures as crypto
from gateway.provision.errors import BuildError, DeviceRefused, NoTestChannel
from gateway.provision.install import copy_build, write_settings
from gateway.provision.link import BoardLink
from hil.rig.esp32board import WATCHDOG_MS, BoardSetupError, Esp32SerialBoard, settings_for
from hil.rig.hall import new_secret, public_key_of

HALL = "hil-hall"
LAN = "192.0.2.10"  # the bench machine as the keypads would reach it; nothing connects in these tests
STUBS = REPO / "tests" / "firmware" / "hal"


def _build(tmp_path_factory: pytest.TempPathFactory, name: str, test_channel: bool) -> Path:
    need_mpy_cross()
    from gateway.firmware_image import build as fb

    out = tmp_path_factory.mktemp(name) / "build"
    fb.build(out, glyphs=False, test_channel=test_channel)
    return out


@pytest.fixture(scope="module")
def bench_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory, "fw-bench", True)


@pytest.fixture(scope="module")
def hall_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory, "fw-hall", False)


@pytest.fixture
def boards():
    b = Boards()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def esp32_root(tmp_path: Path) -> Path:
    """A filesystem tree with the ESP32 stand-ins in /lib (MicroPython's default path)."""
    lib = tmp_path / "esp32fs" / "lib"
    lib.mkdir(parents=True)
    for stub in (STUBS / "mpstubs").glob("*.py"):
        shutil.copy(stub, lib)
    shutil.copy(STUBS / "fakehw.py", lib)
    return lib.parent


@pytest.fixture
def override(tmp_path: Path) -> dict[str, object]:
    """What SerialRig passes to prepare (HallRig.keypad_config) for a rig started with keypad_host=LAN."""
    ca = tmp_path / "ca.crt"
    ca.write_bytes(pki.make_ca(HALL).cert_pem)
    return {
        "hall": HALL,
        "device_id": "kp-0001",
        "broker_host": LAN,
        "broker_port": 18883,
        "server_hostname": LAN,
        "mqtt_password": "mqtt-password-0001",
        "ca_file": str(ca),
        "keepalive": 10,
        "heartbeat_s": 60,
        "offline_reset_s": 0,
    }


def _manifest(build: Path) -> list[dict[str, object]]:
    return json.loads((build / "manifest.json").read_text())["files"]


# ---------------------------------------------------------------- prepare on an "ESP32"

BOOT_READS = """
import binascii, fakehw
from firmware.app import config, keypad
from firmware.hal import esp32
cfg = config.load()
kp = keypad.Keypad(esp32.board(cfg), cfg)
nvs = fakehw.NVS[cfg["nvs_namespace"]]
print(binascii.hexlify(kp.public_key()).decode())
print(binascii.hexlify(nvs["ci"]).decode(), binascii.hexlify(nvs["ob"]).decode())
print(fakehw.WDT["timeout"], fakehw.WDT["feeds"])
for k in ("hall", "device_id", "wifi_ssid", "wifi_password", "broker_host", "broker_port", "server_hostname",
          "mqtt_password", "ca_file", "keepalive", "heartbeat_s", "offline_reset_s"):
    print(k, cfg[k])
"""


def test_prepare_provisions_the_keypad_and_its_boot_code_reads_it(boards, bench_build, esp32_root, override):
    board = boards.start(esp32_root)
    secret = new_secret()
    kp = Esp32SerialBoard(board.port, bench_build, "bench-wifi", "wifi-secret-77", timeout=10)
    try:
        kp.prepare("kp-0001", secret, override)
        assert kp.copied == len(_manifest(bench_build)) + 1  # every file and the manifest: a blank keypad
        assert kp.public_key == public_key_of(secret)
        assert kp.written["device_id"] == "kp-0001" and "mqtt_password" not in kp.written
        link = kp.link
        assert link is not None  # still in the raw REPL until boot
        for entry in _manifest(bench_build):  # hashed on the keypad
            assert link.sha256("/" + str(entry["path"])) == entry["sha256"], entry["path"]
        assert link.read("/manifest.json") == (bench_build / "manifest.json").read_bytes()
        assert link.read("/hall-ca.pem") == Path(str(override["ca_file"])).read_bytes()
        # the firmware's own boot code on this interpreter: config.load(), the ESP32 board (NVS through
        # EspNvs), the keypad app reading its key
        out, err = link.run(BOOT_READS, timeout=60)
        assert not err, err
        lines = out.splitlines()
        assert lines[0] == public_key_of(secret).hex()
        assert lines[1] == f"00000000 {outbox.dump([]).hex()}"  # a new identity: no check-in, no outbox
        timeout, feeds = map(int, lines[2].split())
        assert timeout == WATCHDOG_MS and feeds >= 1  # the watchdog held for the REPL session
        cfg = dict(line.split(" ", 1) for line in lines[3:])
        assert cfg == {
            "hall": HALL,
            "device_id": "kp-0001",
            "wifi_ssid": "bench-wifi",
            "wifi_password": "wifi-secret-77",
            "broker_host": LAN,
            "broker_port": "18883",
            "server_hostname": LAN,
            "mqtt_password": "mqtt-password-0001",
            "ca_file": "hall-ca.pem",
            # not provisioning settings: a physical keypad keeps its firmware's defaults
            "keepalive": str(config.DEFAULTS["keepalive"]),
            "heartbeat_s": str(config.DEFAULTS["heartbeat_s"]),
            "offline_reset_s": str(config.DEFAULTS["offline_reset_s"]),
        }
        # the key in NVS signs on the keypad; the rig's public key verifies it
        out, err = link.run(
            "import binascii, os\nfrom firmware import signer\nfrom firmware.hal import esp32\n"
            "sk = esp32.EspNvs('hallvote').get('sk')\n"
            "print(binascii.hexlify(signer.Signer(sk, os.urandom).sign(b'bench')).decode())"
        )
        assert not err, err
        crypto.verify(public_key_of(secret), b"bench", bytes.fromhex(out.strip()))
    finally:
        kp.close()


def test_boot_leaves_the_raw_repl_and_soft_resets_for_the_rigs_reader(boards, bench_build, override):
    board = boards.start()
    kp = Esp32SerialBoard(board.port, bench_build, "bench-wifi", "wifi-secret-77", timeout=10)
    with pytest.raises(BoardSetupError) as err:
        kp.boot()
    assert err.value.code == "NOT_PREPARED"
    kp.prepare("kp-0001", new_secret(), override)
    reader = serial.Serial(board.port, 115200, timeout=0.1)  # as SerialRig opens it, before boot
    try:
        kp.boot()
        assert kp.link is None
        heard = b""
        deadline = time.monotonic() + 10
        while b"soft reboot" not in heard and time.monotonic() < deadline:
            heard += reader.read(256)
        # the friendly REPL's soft reset: a board runs main.py now (this one's REPL only restarts)
        assert b"soft reboot" in heard, heard
    finally:
        reader.close()
        kp.close()
    with BoardLink(board.port, timeout=5) as link:  # the port was released; the keypad keeps what it got
        assert link.call("info")["device_id"] == "kp-0001"


def test_a_second_prepare_copies_nothing_and_replaces_the_last_halls_identity(boards, bench_build, override, tmp_path):
    # the keypad of an earlier bench run: its key, a check-in and an unanswered frame of that hall, counters
    fs = tmp_path / "fs"
    fs.mkdir()
    old = new_secret()
    nvs = {"sk": old.hex(), "ci": "00000007", "ob": "0101deadbeef", "ctr": "0000000000000200", "boot": "00000009"}
    (fs / "hallvote_nvs.json").write_text(json.dumps(nvs))
    board = boards.start(fs)
    kp = Esp32SerialBoard(board.port, bench_build, "bench-wifi", "wifi-secret-77", timeout=10)
    try:
        kp.prepare("kp-0001", new_secret(), override)  # the blank board gets the build
        secret = new_secret()
        kp.prepare("kp-0002", secret, dict(override, device_id="kp-0002"))
        assert kp.copied == 0  # every file already identical on the keypad
        assert kp.link is not None
        raw = kp.link.read("/hallvote_nvs.json")
        local = json.loads(kp.link.read("/hallvote_local.json"))
    finally:
        kp.close()
    # the file NVS of a board without ESP32 NVS is SimNvs's format: the simulated keypad's boot reads it so
    (tmp_path / "nvs.json").write_bytes(raw)
    got = SimNvs(str(tmp_path / "nvs.json"))
    assert got.get(config.NVS_SECRET) == secret
    assert got.get(config.NVS_CHECKIN) == bytes(4) and got.get(config.NVS_OUTBOX) == outbox.dump([])
    assert got.get(config.NVS_COUNTER) == bytes.fromhex(nvs["ctr"])  # counters only grow: kept
    assert got.get(config.NVS_BOOTS) == bytes.fromhex(nvs["boot"])
    assert local["device_id"] == "kp-0002" and local["broker_host"] == LAN


# ---------------------------------------------------------------- refusals


def test_a_build_without_the_test_channel_is_refused_before_the_keypad_is_touched(boards, hall_build):
    line = boards.silent()  # a board that answered would not tell the difference; nothing may be sent
    with pytest.raises(NoTestChannel) as err:
        Esp32SerialBoard(line.port, hall_build, "bench-wifi", "wifi-secret-77")
    assert err.value.code == "NO_TEST_CHANNEL" and "--test-channel" in str(err.value)
    os.set_blocking(line.master, False)
    with pytest.raises(BlockingIOError):
        os.read(line.master, 64)


def test_a_hall_image_refuses_a_key_from_the_host(boards, hall_build, override):
    from gateway.provision.build import load_build

    board = boards.start()
    secret = new_secret()
    with BoardLink(board.port, timeout=10) as link:
        copy_build(link, load_build(hall_build))
        link.enter()
        write_settings(link, settings_for("kp-0001", override, "bench-wifi", "wifi-secret-77"))
        with pytest.raises(DeviceRefused) as err:
            link.call("install_key", secret.hex())
        assert err.value.device_code == "BENCH_ONLY"
        assert link.call("info")["public_key"] is None  # nothing stored


def test_bad_keys_are_refused_by_the_keypad(boards, bench_build, override):
    board = boards.start()
    kp = Esp32SerialBoard(board.port, bench_build, "bench-wifi", "wifi-secret-77", timeout=10)
    secret = new_secret()
    try:
        kp.prepare("kp-0001", secret, override)
        link = kp.link
        assert link is not None
        for bad in ("zz" * 32, "00" * 32, "ff" * 32, "01" * 31):
            with pytest.raises(DeviceRefused) as err:
                link.call("install_key", bad)
            assert err.value.device_code == "BAD_KEY", bad
        assert link.call("info")["public_key"] == public_key_of(secret).hex()  # the key stays
    finally:
        kp.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_a_broker_on_loopback_is_refused_before_the_keypad_is_touched(boards, bench_build, override, host):
    line = boards.silent()
    kp = Esp32SerialBoard(line.port, bench_build, "bench-wifi", "wifi-secret-77", timeout=2)
    with pytest.raises(BoardSetupError) as err:
        kp.prepare("kp-0001", new_secret(), dict(override, broker_host=host))
    assert err.value.code == "LOOPBACK_BROKER" and "keypad_host" in str(err.value)
    os.set_blocking(line.master, False)
    with pytest.raises(BlockingIOError):
        os.read(line.master, 64)


def test_a_missing_rig_setting_is_named(boards, bench_build, override):
    line = boards.silent()
    kp = Esp32SerialBoard(line.port, bench_build, "bench-wifi", "wifi-secret-77", timeout=2)
    with pytest.raises(BoardSetupError) as err:
        kp.prepare("kp-0001", new_secret(), {k: v for k, v in override.items() if k != "mqtt_password"})
    assert err.value.code == "BAD_OVERRIDE" and "mqtt_password" in str(err.value)


def test_reset_needs_the_modem_lines(boards, bench_build, tmp_path):
    board = boards.start()  # a pty: no DTR/RTS, as a bare UART adapter without them
    kp = Esp32SerialBoard(board.port, bench_build, "bench-wifi", "wifi-secret-77")
    with pytest.raises(BoardSetupError) as err:
        kp.reset(0.05)
    assert err.value.code == "NO_RESET_LINES"
    gone = Esp32SerialBoard(str(tmp_path / "ttyUSB9"), bench_build, "bench-wifi", "wifi-secret-77")
    with pytest.raises(BoardSetupError) as err:
        gone.reset(0.05)
    assert err.value.code == "PORT_UNAVAILABLE"


def test_a_folder_that_is_not_a_matching_build_is_refused(bench_build, tmp_path):
    with pytest.raises(BuildError) as err:
        Esp32SerialBoard("/dev/ttyUSB0", tmp_path, "bench-wifi", "wifi-secret-77")
    assert err.value.code == "BUILD"
    changed = tmp_path / "changed"
    shutil.copytree(bench_build, changed)
    (changed / "main.py").write_text("print('not the build')\n")
    with pytest.raises(BuildError) as err:
        Esp32SerialBoard("/dev/ttyUSB0", changed, "bench-wifi", "wifi-secret-77")
    assert err.value.code == "BUILD" and "main.py" in str(err.value)
