"""Each refusal of ``hallvote provision``: typed, Chinese first, its exit status, and nothing half done.

"Nothing half done": a refused keypad is not written to (no configuration,
no key) unless the refusal can only be known afterwards, and the hall's
records and audit log do not change.
"""

from __future__ import annotations

import json
import time

from sqlmodel import Session, select

from gateway.audit import AuditLog
from gateway.db.models import Device
from gateway.provision.link import BoardLink


def _state(engine):
    with Session(engine) as s:
        devices = sorted((d.device_id, d.seat_id, d.revoked) for d in s.exec(select(Device)))
    return devices, AuditLog(engine).count()


def _untouched(port: str, *names: str) -> None:
    with BoardLink(port, timeout=5) as link:
        for name in names or ("/hallvote_local.json", "/hallvote_nvs.json", "/manifest.json"):
            assert not link.exists(name), name


def test_wrong_firmware_version(hall, boards, old_build):
    board = boards.start(old_build)  # a keypad flashed with firmware 0.0.9 earlier
    before = _state(hall.engine)
    result = hall.provision(board.port, "--seat", "B-1", "--no-copy")
    assert result.exit_code == 4, result.output
    assert "[FIRMWARE_MISMATCH]" in result.output
    assert "表决器固件版本为 0.0.9，应为 0.1.0" in result.output and "expected 0.1.0" in result.output
    assert _state(hall.engine) == before
    _untouched(board.port, "/hallvote_local.json", "/hallvote_nvs.json")
    # copying the build (the default) updates it, and then it provisions
    fixed = hall.provision(board.port, "--seat", "B-1")
    assert fixed.exit_code == 0, fixed.output
    with BoardLink(board.port, timeout=5) as link:
        assert link.call("info")["firmware"] == "0.1.0"


def test_no_firmware_and_no_copy(hall, boards):
    board = boards.start()
    result = hall.provision(board.port, "--seat", "B-1", "--no-copy")
    assert result.exit_code == 4, result.output
    assert "[NO_FIRMWARE]" in result.output and "表决器上没有 hallvote 固件" in result.output


def test_seat_already_bound(hall, boards):
    board = boards.start()
    before = _state(hall.engine)
    result = hall.provision(board.port, "--seat", "A-1")  # kp-1 sits there, not revoked
    assert result.exit_code == 5, result.output
    assert "[SEAT_TAKEN]" in result.output
    assert "座位 A-1 已绑定在用表决器 kp-1" in result.output and "hallvote device swap" in result.output
    assert _state(hall.engine) == before
    _untouched(board.port)  # refused before anything was copied


def test_unknown_seat(hall, boards):
    board = boards.start()
    before = _state(hall.engine)
    result = hall.provision(board.port, "--seat", "Z-99")
    assert result.exit_code == 5, result.output
    assert "[UNKNOWN_SEAT]" in result.output and "会场 county-hall 没有座位 Z-99" in result.output
    assert _state(hall.engine) == before
    _untouched(board.port)


def test_silent_device(hall, boards):
    line = boards.silent()
    before = _state(hall.engine)
    started = time.monotonic()
    result = hall.provision(line.port, "--seat", "B-1", "--timeout", "1")
    assert result.exit_code == 3, result.output
    assert "[DEVICE_SILENT]" in result.output and f"串口 {line.port} 上的表决器无应答" in result.output
    assert time.monotonic() - started < 30
    assert _state(hall.engine) == before


def test_port_that_does_not_exist(hall):
    result = hall.provision("/dev/hallvote-no-such-port", "--seat", "B-1")
    assert result.exit_code == 3, result.output
    assert "[PORT_UNAVAILABLE]" in result.output and "无法打开串口" in result.output


def test_device_registered_with_another_key(hall, boards):
    first, second = boards.start(), boards.start()
    assert hall.provision(first.port, "--seat", "B-1").exit_code == 0  # kp-101, with first's key
    before = _state(hall.engine)
    result = hall.provision(second.port, "--seat", "B-1", "--device-id", "kp-101")
    assert result.exit_code == 5, result.output
    assert "[KEY_MISMATCH]" in result.output and "表决器 kp-101 已用另一个公钥登记" in result.output
    assert _state(hall.engine) == before
    _untouched(second.port)
    # a new keypad given the id of a seeded one (kp-2): its key would not be kp-2's
    third = boards.start()
    result = hall.provision(third.port, "--seat", "B-2", "--device-id", "kp-2")
    assert result.exit_code == 5 and "[KEY_MISMATCH]" in result.output, result.output
    _untouched(third.port)


def test_rekey_of_a_registered_keypad(hall, boards):
    board = boards.start()
    assert hall.provision(board.port, "--seat", "B-1").exit_code == 0
    result = hall.provision(board.port, "--seat", "B-1", "--rekey")
    assert result.exit_code == 5 and "[KEY_MISMATCH]" in result.output, result.output


def test_keypad_refuses_a_bad_setting(hall, boards):
    """The keypad checks what it is given: a broker password under 8 characters is refused on the device."""
    creds = hall.broker_dir / "credentials.csv"
    creds.write_text(creds.read_text().replace(hall.credentials()["kp-101"], "short"))
    board = boards.start()
    result = hall.provision(board.port, "--seat", "B-1")
    assert result.exit_code == 4, result.output
    assert "[DEVICE_REFUSED]" in result.output and "mqtt_password" in result.output
    with BoardLink(board.port, timeout=5) as link:
        assert not link.exists("/hallvote_local.json")


def test_running_gateway_without_token(hall, boards):
    """A running gateway must reload after the change: without a token nothing is done at all."""
    import threading

    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/api/v1/health")
    def health() -> dict[str, object]:
        return {"status": "ok", "hall": hall.seeded.hall_id, "version": 1}

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=hall.api_port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        board = boards.start()
        before = _state(hall.engine)
        result = hall.provision(board.port, "--seat", "B-1")
        assert result.exit_code == 6, result.output
        assert "[GATEWAY]" in result.output and "网关正在运行" in result.output
        assert _state(hall.engine) == before
        _untouched(board.port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_bulk_goes_on_past_a_failed_board(hall, boards):
    good1, silent, good2 = boards.start(), boards.silent(), boards.start()
    rows = hall.dir / "boards.csv"
    rows.write_text(f"port,seat\n{good1.port},B-1\n{silent.port},B-2\n{good2.port},B-3\n")
    labels = hall.dir / "labels.csv"
    result = hall.invoke(
        "provision",
        "bulk",
        "--csv",
        str(rows),
        "--config",
        str(hall.config),
        "--build",
        str(hall.build),
        "--timeout",
        "1",
        "--labels",
        str(labels),
    )
    assert result.exit_code == 1, result.output
    assert "2/3 个表决器完成" in result.output
    assert "DEVICE_SILENT" in result.output and result.output.count("OK") >= 2
    with Session(hall.engine) as s:
        bound = {d.device_id: d.seat_id for d in s.exec(select(Device)) if d.device_id.startswith("kp-10")}
    assert bound == {"kp-101": hall.free_seats["B-1"], "kp-102": hall.free_seats["B-3"]}
    assert [line.split(",")[:2] for line in labels.read_text().splitlines()] == [
        ["B-1", "kp-101"],
        ["B-3", "kp-102"],
    ]
    with BoardLink(good2.port, timeout=5) as link:
        assert json.loads(link.read("/hallvote_local.json"))["device_id"] == "kp-102"
