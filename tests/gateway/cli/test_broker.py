"""``hallvote broker config`` through typer's CliRunner."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from typer.testing import CliRunner

from gateway.broker import config as bc
from gateway.cli import app

runner = CliRunner()


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["broker", "config", *args], catch_exceptions=False)


def test_generates_a_directory(tmp_path: Path) -> None:
    devices = tmp_path / "devices.csv"
    devices.write_text("device_id,password\nkp-1,\nkp-2,password-of-kp-2\n")
    out = tmp_path / "out"
    result = run(
        "--hall",
        "h1",
        "--out",
        str(out),
        "--devices",
        str(devices),
        "--port",
        "9883",
        "--bind",
        "0.0.0.0",
        "--host",
        "broker.hall",
        "--host",
        "192.0.2.10",
        "--local-port",
        "1884",
        "--persistence",
        "--log",
        "file",
    )
    assert result.exit_code == 0, result.output
    assert "2 device account(s)" in result.output
    assert "mosquitto -c" in result.output
    conf = (out / bc.CONF).read_text()
    assert "listener 9883 0.0.0.0" in conf
    assert "listener 1884 127.0.0.1" in conf
    assert "persistence true" in conf
    assert f"log_dest file {out.absolute()}/mosquitto.log" in conf
    assert stat.S_IMODE((out / bc.DYNSEC_FILE).stat().st_mode) == 0o600
    assert not (out / bc.PASSWORD_FILE).exists()
    assert "max_queued_messages 1000" in conf  # the default hall of 200 seats
    creds = bc.parse_credentials_csv((out / bc.CREDENTIALS).read_text())
    assert creds["kp-2"] == "password-of-kp-2"
    assert set(creds) == {bc.GATEWAY_USER, bc.DISPLAY_USER, bc.CONTROL_USER, "kp-1", "kp-2"}
    server = bc.KeyPair((out / bc.SERVER_CERT).read_bytes(), b"").cert
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["broker.hall"]


def test_static_accounts_and_seats(tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = run("--hall", "h1", "--out", str(out), "--static-accounts", "--seats", "3000")
    assert result.exit_code == 0, result.output
    conf = (out / bc.CONF).read_text()
    assert f"password_file {out.absolute()}/passwd" in conf
    assert "max_queued_messages 12000" in conf
    assert not (out / bc.DYNSEC_FILE).exists()
    assert stat.S_IMODE((out / bc.PASSWORD_FILE).stat().st_mode) == 0o600
    assert bc.CONTROL_USER not in bc.parse_credentials_csv((out / bc.CREDENTIALS).read_text())


def test_defaults_without_devices(tmp_path: Path) -> None:
    result = run("--hall", "h1", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    conf = (tmp_path / "o" / bc.CONF).read_text()
    assert "listener 8883 127.0.0.1" in conf
    assert "persistence false" in conf


def test_rerun_keeps_passwords_unless_fresh(tmp_path: Path) -> None:
    out = tmp_path / "o"
    devices = tmp_path / "d.csv"
    devices.write_text("kp-1\n")
    assert run("--hall", "h1", "--out", str(out), "--devices", str(devices)).exit_code == 0
    before = bc.parse_credentials_csv((out / bc.CREDENTIALS).read_text())
    assert run("--hall", "h1", "--out", str(out), "--devices", str(devices)).exit_code == 0
    assert bc.parse_credentials_csv((out / bc.CREDENTIALS).read_text()) == before
    assert run("--hall", "h1", "--out", str(out), "--devices", str(devices), "--fresh").exit_code == 0
    after = bc.parse_credentials_csv((out / bc.CREDENTIALS).read_text())
    assert after["kp-1"] != before["kp-1"]


@pytest.mark.parametrize(
    ("csv_text", "args", "message"),
    [
        (None, ["--hall", "Hall-1"], "bad hall id 'Hall-1'"),
        ("kp-1\nkp_2\n", [], "row 2: bad device id 'kp_2'"),
        ("kp-1\nkp-1\n", [], "row 2: device 'kp-1' already listed in row 1"),
        ("kp-1,short\n", [], "row 1: password must be"),
        (None, ["--port", "0"], "port must be 1..65535"),
        (None, ["--host", "bad host"], "bad host name 'bad host'"),
        (None, ["--log", "console"], "log destination"),
    ],
)
def test_errors_exit_nonzero_with_a_clear_message(
    tmp_path: Path, csv_text: str | None, args: list[str], message: str
) -> None:
    full = ["--out", str(tmp_path / "o")]
    if "--hall" not in args:
        full += ["--hall", "h1"]
    if csv_text is not None:
        (tmp_path / "d.csv").write_text(csv_text)
        full += ["--devices", str(tmp_path / "d.csv")]
    result = run(*full, *args)
    assert result.exit_code == 2
    assert "error:" in result.output
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "o" / bc.CONF).exists()


def test_missing_devices_file(tmp_path: Path) -> None:
    result = run("--hall", "h1", "--out", str(tmp_path / "o"), "--devices", str(tmp_path / "no.csv"))
    assert result.exit_code == 2
    assert "cannot read devices CSV" in result.output


def test_unwritable_out_dir_exits_1(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run("--hall", "h1", "--out", str(blocker / "sub"))
    assert result.exit_code == 1
    assert "cannot write" in result.output


def test_warns_when_the_broker_is_running(tmp_path: Path) -> None:
    from hvtest.mosquitto import MosquittoBroker

    with MosquittoBroker(tmp_path, devices=["kp-1"], dynsec=True) as broker:
        result = run("--hall", broker.hall, "--out", str(broker.confdir), "--port", str(broker.port))
        assert result.exit_code == 0, result.output
        assert "restart it to read the new account file" in " ".join(result.output.split())
    quiet = run("--hall", "h1", "--out", str(tmp_path / "other"), "--port", str(broker.port))
    assert quiet.exit_code == 0 and "restart it" not in quiet.output
