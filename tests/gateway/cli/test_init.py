"""``hallvote init`` and ``hallvote user add``: a hall folder the broker and the gateway start from."""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import socket
import stat
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from hvtest.mosquitto import mosquitto_executable
from pydantic import BaseModel
from typer.testing import CliRunner

from gateway.broker import config as bc
from gateway.cli import app
from gateway.config.settings import GatewaySettings, load_settings

runner = CliRunner()


@pytest.fixture
def folder() -> Iterator[Path]:
    """A folder Mosquitto's own user can enter (pytest's tmp_path is 0700 root's)."""
    root = Path(tempfile.mkdtemp(prefix="hv-init-"))
    root.chmod(0o755)
    yield root / "hall"
    subprocess.run(["rm", "-rf", str(root)], check=False)


def init(folder: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(
        app, ["init", "--hall", "county-hall", "--dir", str(folder), *args], env={"COLUMNS": "200"}
    )


def test_writes_a_ready_folder_and_prints_each_token_once(folder: Path) -> None:
    result = init(folder, "--name", "县人大常委会会议厅", "--seats", "3000")
    assert result.exit_code == 0, result.output
    for name, mode in (("hall.toml", 0o600), ("gateway-broker.pass", 0o600), ("broker-control.pass", 0o600)):
        assert stat.S_IMODE((folder / name).stat().st_mode) == mode
    settings = load_settings(folder / "hall.toml")
    assert settings.hall_id == "county-hall" and settings.hall_name == "县人大常委会会议厅"
    assert sorted(u.role for u in settings.users) == ["chair", "clerk", "display", "technician"]
    tokens = re.findall(r"│ (\w+)\s+│ \S+\s+│ ([A-Za-z0-9_-]{43}) │", result.output)
    assert len(tokens) == 4
    digests = {u.role: u.token_sha256 for u in settings.users}
    for role, token in tokens:
        assert hashlib.sha256(token.encode()).hexdigest() == digests[role]
        for path in folder.rglob("*"):
            if path.is_file():
                assert token.encode() not in path.read_bytes(), path  # stored nowhere
    creds = bc.parse_credentials_csv((folder / "broker" / bc.CREDENTIALS).read_text())
    assert settings.broker.secret() == creds[bc.GATEWAY_USER]
    assert settings.broker.control_secret() == creds[bc.CONTROL_USER]
    assert "max_queued_messages 12000" in (folder / "broker" / bc.CONF).read_text()
    again = init(folder)
    assert again.exit_code == 2 and "already exists" in again.output
    assert load_settings(folder / "hall.toml") == settings  # nothing overwritten


def test_env_output_is_for_eval(folder: Path) -> None:
    result = init(folder, "--env")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [ln.split("=")[0] for ln in lines] == [
        f"export HALLVOTE_TOKEN_{r}" for r in ("CHAIR", "CLERK", "TECHNICIAN", "DISPLAY")
    ]


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel) and name != "users":
            out += _keys(sub, f"{name}.")
        else:
            out.append(prefix + name)
    return out


def test_every_settings_key_is_explained_in_the_written_file(folder: Path) -> None:
    assert init(folder).exit_code == 0
    text = (folder / "hall.toml").read_text()
    section = ""
    seen: set[str] = set()
    for line in text.splitlines():
        if m := re.match(r"\[\[?(\w+)\]\]?$", line):
            section = m.group(1) + "."
        if m := re.match(r"#?\s*(\w+) = ", line):
            seen.add(section + m.group(1))
    keys = set(_keys(GatewaySettings)) - {"users"}
    keys |= {"users." + k for k in ("name", "role", "token_sha256", "password_argon2")}
    assert keys - seen - {"broker.password", "users.password_argon2"} == set()
    assert "password_argon2" in text and 'or `password = "..."`' in text
    tomllib.loads(text)


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
@pytest.mark.parametrize("as_user", [None, "mosquitto"])
def test_broker_starts_from_the_folder_as_root_and_as_mosquitto(folder: Path, as_user: str | None) -> None:
    exe = mosquitto_executable()
    local = _free()
    assert init(folder, "--port", str(_free()), "--local-port", str(local)).exit_code == 0
    conf = str(folder / "broker" / bc.CONF)
    cmd = [exe, "-c", conf] if as_user is None else ["runuser", "-u", as_user, "--", exe, "-c", conf]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        settings = load_settings(folder / "hall.toml")
        codes: list[int] = []
        c = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
        c.username_pw_set(settings.broker.username, settings.broker.secret())
        c.on_connect = lambda cl, u, f, rc, p: codes.append(rc.value)
        for _ in range(100):
            try:
                c.connect("127.0.0.1", local)
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                time.sleep(0.05)
        c.loop_start()
        deadline = time.monotonic() + 10
        while not codes and time.monotonic() < deadline:
            time.sleep(0.05)
        c.disconnect()
        c.loop_stop()
        assert codes == [0]
        status = (Path("/proc") / str(_broker_pid(proc)) / "status").read_text()
        uid = int(next(ln for ln in status.splitlines() if ln.startswith("Uid:")).split()[1])
        assert uid == pwd.getpwnam("mosquitto").pw_uid  # never root
    finally:
        proc.terminate()
        proc.wait(10)


def _broker_pid(proc: subprocess.Popen[bytes]) -> int:
    """The mosquitto process (runuser execs it as a child)."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    kids = children.read_text().split() if children.exists() else []
    return int(kids[0]) if kids else proc.pid


def _free() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_user_add(folder: Path) -> None:
    assert init(folder).exit_code == 0
    path = folder / "hall.toml"
    result = runner.invoke(app, ["user", "add", "--config", str(path), "--name", "张三", "--role", "clerk"])
    assert result.exit_code == 0, result.output
    token = result.output.splitlines()[1].strip()
    added = [u for u in load_settings(path).users if u.name == "张三"]
    assert len(added) == 1 and added[0].role == "clerk"
    assert added[0].token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert "# 用户 / the people" in path.read_text()  # comments kept
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    for args, message in (
        (["--name", "张三", "--role", "chair"], "exists"),
        (["--name", "李四", "--role", "admin"], "unknown role"),
        (["--name", "a\nb", "--role", "clerk"], "one line"),
    ):
        refused = runner.invoke(app, ["user", "add", "--config", str(path), *args])
        assert refused.exit_code == 2 and message in refused.output, refused.output
        assert path.read_bytes() == before
