"""``hallvote provision`` end to end against simulated keypads speaking the raw REPL over a pty.

The keypad is the real MicroPython interpreter (WebAssembly port) behind a
pty; mpremote drives its raw REPL as it would an ESP32's.  Every test runs
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlmodel import Session, select

from gateway.audit import AuditLog
from gateway.broker import config as bc
from gateway.core import signatures as crypto
from gateway.db.models import Device
from gateway.provision.link import BoardLink

WIFI_PASSWORD = "wifi-secret-5e2b"


def _devices(engine):
    with Session(engine) as s:
        return {d.device_id: d for d in s.exec(select(Device))}


def _audit(engine, kinds=("device.registered", "device.bound", "device.revoked", "device.swapped")):
    log = AuditLog(engine)
    return [(r.kind, r.actor, json.loads(r.payload)) for r in log.records() if r.kind in kinds]


def _public_of(secret: bytes) -> bytes:
    key = ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1())
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def test_provision_one_keypad_end_to_end(hall, boards):
    board = boards.start()
    result = hall.provision(board.port, "--seat", "B-1")
    assert result.exit_code == 0, result.output
    creds = hall.credentials()
    device = _devices(hall.engine)["kp-101"]  # the first device account not registered yet

    # registered with the key made on the keypad, bound to the seat, broker username = device id
    assert device.seat_id == hall.free_seats["B-1"] and not device.revoked
    assert device.broker_username == "kp-101" and device.hall_id == hall.seeded.hall_id
    assert (
        device.firmware_version == json.loads((hall.build / "manifest.json").read_text())["firmware_version"]
    )
    public_key = bytes(device.public_key)
    short = hashlib.sha256(public_key).hexdigest()[:16]
    label = "-".join(short[i : i + 4] for i in range(0, 16, 4))
    assert f"B-1  kp-101  {label}" in result.output

    manifest = json.loads((hall.build / "manifest.json").read_text())
    with BoardLink(board.port, timeout=5) as link:
        # every file of the build is on the keypad, byte for byte (hashed on the keypad)
        for entry in manifest["files"]:
            assert link.sha256("/" + entry["path"]) == entry["sha256"], entry["path"]
        assert link.read("/manifest.json") == (hall.build / "manifest.json").read_bytes()
        # the configuration the app reads at boot
        local = json.loads(link.read("/hallvote_local.json"))
        ca = link.read("/hall-ca.pem")
        nvs = json.loads(link.read("/hallvote_nvs.json"))
        info = link.call("info")
        # the key signs on the keypad, and the gateway verifies it with the registered key
        out, err = link.run(
            "import binascii, os\nfrom firmware import signer\n"
            "sk = binascii.unhexlify(%r)\n"
            "print(binascii.hexlify(signer.Signer(sk, os.urandom).sign(b'hallvote')).decode())" % nvs["sk"]
        )
    assert not err, err
    crypto.verify(public_key, b"hallvote", bytes.fromhex(out.strip()))
    assert local["hall"] == hall.seeded.hall_id and local["device_id"] == "kp-101"
    assert local["wifi_ssid"] == "hall-keypads" and local["wifi_password"] == WIFI_PASSWORD
    assert local["broker_host"] == "192.168.10.2" and local["broker_port"] == 8883
    assert local["mqtt_password"] == creds["kp-101"] and local["ca_file"] == "hall-ca.pem"
    assert ca == (hall.broker_dir / "ca.crt").read_bytes()
    assert _public_of(bytes.fromhex(nvs["sk"])) == public_key  # the secret in NVS is the registered key's
    assert info["public_key"] == public_key.hex() and info["device_id"] == "kp-101"
    assert nvs["sk"] not in result.output and creds["kp-101"] not in result.output

    events = _audit(hall.engine)
    assert events == [
        (
            "device.registered",
            "technician:wang",
            {
                "device": "kp-101",
                "seat": None,
                "member": None,
                "key_fingerprint": hashlib.sha256(public_key).hexdigest(),
            },
        ),
        (
            "device.bound",
            "technician:wang",
            {
                "device": "kp-101",
                "seat": "B-1",
                "member": None,
                "key_fingerprint": hashlib.sha256(public_key).hexdigest(),
            },
        ),
    ]
    assert AuditLog(hall.engine).verify().ok
    assert "gateway not running" in result.output

    # provisioning the same keypad again changes nothing: same id, same key, no new audit record
    again = hall.provision(board.port, "--seat", "B-1")
    assert again.exit_code == 0, again.output
    assert f"B-1  kp-101  {label}" in again.output
    assert _audit(hall.engine) == events


def test_second_keypad_gets_the_next_account_and_its_own_key(hall, boards):
    first, second = boards.start(), boards.start()
    assert hall.provision(first.port, "--seat", "B-1").exit_code == 0
    result = hall.provision(second.port, "--seat", "B-2")
    assert result.exit_code == 0, result.output
    devices = _devices(hall.engine)
    assert devices["kp-102"].seat_id == hall.free_seats["B-2"]
    assert bytes(devices["kp-101"].public_key) != bytes(devices["kp-102"].public_key)
    with BoardLink(second.port, timeout=5) as link:
        assert json.loads(link.read("/hallvote_local.json"))["mqtt_password"] == hall.credentials()["kp-102"]


def test_spare_and_a_new_broker_account(hall, boards):
    """Past the accounts of credentials.csv a new one is made; with the broker stopped it goes into the
    dynamic-security plugin's file (read when the broker starts)."""
    for seat in ("B-1", "B-2", "B-3"):
        assert hall.provision(boards.start().port, "--seat", seat).exit_code == 0
    result = hall.provision(boards.start().port, "--spare")
    assert result.exit_code == 0, result.output
    assert "备用/spare  kp-001" in result.output and "apply when it starts" in result.output
    creds = hall.credentials()
    assert "kp-001" in creds
    plugin = json.loads((hall.broker_dir / bc.DYNSEC_FILE).read_text())
    assert [c["username"] for c in plugin["clients"]].count("kp-001") == 1
    assert any(r["rolename"] == "device-kp-001" for r in plugin["roles"])
    assert creds["kp-001"] not in (hall.broker_dir / bc.DYNSEC_FILE).read_text()
    assert (hall.broker_dir / "credentials.csv").stat().st_mode & 0o777 == 0o600
    spare = _devices(hall.engine)["kp-001"]
    assert spare.seat_id is None and not spare.revoked


def test_labels_file(hall, boards):
    labels = hall.dir / "labels.csv"
    result = hall.provision(boards.start().port, "--seat", "B-2", "--labels", str(labels))
    assert result.exit_code == 0, result.output
    seat, device, fingerprint, firmware = labels.read_text().strip().split(",")
    assert (seat, device) == ("B-2", "kp-101") and len(fingerprint) == 19 and firmware
