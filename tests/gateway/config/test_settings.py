"""The gateway's settings file: a good one loads; every bad one names the bad key; the CLI exits 2 on it."""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config.settings import ConfigError, GatewaySettings, load_settings

DIGEST = hashlib.sha256(b"chair-token-7f3a9c2e1b").hexdigest()

GOOD = f"""
hall_id = "county-hall"
database_url = "postgresql+psycopg://hallvote@db.example/hallvote"

[broker]
host = "broker.hall.example"
username = "_gateway"
password_file = "broker.pass"
ca_file = "ca.crt"

[api]
host = "0.0.0.0"
port = 8443

[[users]]
name = "主任"
role = "chair"
token_sha256 = "{DIGEST.upper()}"

[[users]]
name = "大屏"
role = "display"
token_sha256 = "{"0" * 64}"
"""

MINIMAL = """
hall_id = "town-hall"
[broker]
password = "s3cret-password"
"""


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    fields = ("HALL_ID", "DATABASE_URL", "BROKER", "API", "USERS")
    for name in list(os.environ):
        if name.upper().startswith(tuple(f"HALLVOTE_{f}" for f in fields)):
            monkeypatch.delenv(name)


def _write(tmp_path: Path, text: str, name: str = "hall.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value).startswith("配置有误 / bad configuration: ")
    return err.value.problems


def test_a_good_file_loads(tmp_path: Path) -> None:
    (tmp_path / "broker.pass").write_text("gateway-password\n")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    s = load_settings(_write(tmp_path, GOOD))
    assert s.hall_id == "county-hall"
    assert s.database_url.startswith("postgresql+psycopg://")
    assert (s.broker.host, s.broker.port, s.broker.username) == ("broker.hall.example", 8883, "_gateway")
    assert s.broker.secret() == "gateway-password"  # read from the file, relative to the config file
    assert s.broker.ca_file == tmp_path / "ca.crt"
    assert (s.api.host, s.api.port) == ("0.0.0.0", 8443)
    assert [(u.name, u.role, u.token_sha256) for u in s.users] == [
        ("主任", "chair", DIGEST),  # hex normalised to lower case
        ("大屏", "display", "0" * 64),
    ]
    assert "gateway-password" not in repr(s)


def test_defaults(tmp_path: Path) -> None:
    s = load_settings(_write(tmp_path, MINIMAL))
    assert s.database_url == "sqlite:///hallvote.db"
    assert (s.broker.host, s.broker.port, s.broker.ca_file) == ("127.0.0.1", 1883, None)  # no CA: plain 1883
    assert s.broker.client_id is None  # the bridge's fixed default, hallvote-gw-<hall>
    assert (s.api.host, s.api.port) == ("127.0.0.1", 8080)
    assert s.users == []


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALLVOTE_BROKER__PORT", "1884")
    monkeypatch.setenv("HALLVOTE_DATABASE_URL", "sqlite:////var/lib/hallvote/hall.db")
    s = load_settings(_write(tmp_path, MINIMAL))
    assert s.broker.port == 1884 and s.broker.secret() == "s3cret-password"  # the rest of [broker] kept
    assert s.database_url == "sqlite:////var/lib/hallvote/hall.db"
    monkeypatch.setenv("HALLVOTE_BROKER__PORT", "eighteen")
    (problem,) = _problems(_write(tmp_path, MINIMAL))
    assert problem.startswith("broker.port: ") and "HALLVOTE_BROKER__PORT" in problem


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (MINIMAL.replace('"town-hall"', '"Town_Hall"'), "hall_id: "),
        (MINIMAL.replace('"town-hall"', '"-hall"'), "hall_id: "),
        (MINIMAL + "port = 'eighteen'\n", "broker.port: Input should be a valid integer"),
        (MINIMAL + "port = 70000\n", "broker.port: "),
        (
            MINIMAL + "[[users]]\nname = 'x'\nrole = 'mayor'\ntoken_sha256 = '" + "a" * 64 + "'\n",
            "users[0].role: ",
        ),
        (
            MINIMAL + "[[users]]\nname = 'x'\nrole = 'chair'\ntoken_sha256 = 'plain-token'\n",
            "users[0].token_sha256: ",
        ),
        (
            MINIMAL + "[[users]]\nname = 'x'\nrole = 'chair'\n",
            "users[0].token_sha256: 缺少此项 / missing key",
        ),
        (MINIMAL + "[api]\nport = 0\n", "api.port: "),
        (MINIMAL + "pasword = 'typo'\n", "broker.pasword: 未知的配置项 / unknown key"),
        ("brokr = {}\n" + MINIMAL, "brokr: 未知的配置项 / unknown key"),
        ('hall_id = "h"\n', "broker: 缺少此项 / missing key"),
        (
            MINIMAL.replace("hall_id", "database_url = 'mysql://x/y'\nhall_id"),
            "database_url: unsupported database",
        ),
        (MINIMAL + "password_file = 'nowhere.pass'\n", "broker: "),
        (
            MINIMAL.replace('password = "s3cret-password"', 'password_file = "nowhere.pass"'),
            "broker.password_file: cannot read",
        ),
        (MINIMAL + "ca_file = 'missing-ca.crt'\n", "broker.ca_file: no such file"),
    ],
)
def test_each_bad_key_is_named(tmp_path: Path, text: str, key: str) -> None:
    problems = _problems(_write(tmp_path, text))
    assert any(p.startswith(key) or key in p for p in problems), problems
    assert all(p.split(":", 1)[0].strip() for p in problems)


def test_every_bad_key_is_reported_at_once(tmp_path: Path) -> None:
    text = MINIMAL.replace('"town-hall"', '"Town Hall"') + "port = 'x'\n[api]\nhost = ''\n"
    problems = _problems(_write(tmp_path, text))
    assert [p.split(":", 1)[0] for p in problems] == ["hall_id", "broker.port", "api.host"]


def test_duplicate_users_are_refused(tmp_path: Path) -> None:
    user = "[[users]]\nname = '主任'\nrole = 'chair'\ntoken_sha256 = '" + "b" * 64 + "'\n"
    (problem,) = _problems(_write(tmp_path, MINIMAL + user + user))
    assert problem.startswith("users: ") and "主任" in problem


def test_missing_unreadable_and_broken_files(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path / "nowhere.toml")
    assert "nowhere.toml" in problem and "no such file" in problem
    (problem,) = _problems(tmp_path)
    assert "is a directory" in problem
    (problem,) = _problems(_write(tmp_path, 'hall_id = "x"\n[broker\n'))
    assert "invalid TOML" in problem and "line 2" in problem
    (problem,) = _problems(_write(tmp_path, "hall_id = \n"))
    assert "invalid TOML" in problem
    bad = tmp_path / "gbk.toml"
    bad.write_bytes('hall_id = "会场"'.encode("gbk"))
    (problem,) = _problems(bad)
    assert "UTF-8" in problem


def test_settings_built_in_code() -> None:
    s = GatewaySettings(hall_id="h1", broker={"password": "p"}, users=[])
    assert s.broker.port == 1883


# --------------------------------------------------------------------------- the CLI


def test_gateway_run_with_a_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "port = 'eighteen'\n")
    result = CliRunner().invoke(app, ["gateway", "run", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert "broker.port" in result.output and "bad configuration" in result.output


def test_gateway_run_with_a_missing_config_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["gateway", "run", "--config", str(tmp_path / "hall.toml")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_init_db_and_check_config(tmp_path: Path) -> None:
    db = tmp_path / "hall.db"
    path = _write(tmp_path, MINIMAL.replace("hall_id", f"database_url = 'sqlite:///{db}'\nhall_id"))
    result = CliRunner().invoke(app, ["gateway", "init-db", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert db.exists() and "database ready" in result.output
    result = CliRunner().invoke(app, ["gateway", "check-config", "--config", str(path), "--offline"])
    assert result.exit_code == 0 and "town-hall" in result.output
    assert "s3cret-password" not in result.output
    # online (the default): the database answers, no broker listens on the port: exit 1 with the reason
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    result = CliRunner().invoke(
        app, ["gateway", "check-config", "--config", str(path)], env={"HALLVOTE_BROKER__PORT": str(closed)}
    )
    assert result.exit_code == 1, result.output
    assert "ok           database" in result.output
    assert "failed       broker: refused:" in result.output
    assert "s3cret-password" not in result.output


def test_hash_token() -> None:
    result = CliRunner().invoke(app, ["gateway", "hash-token", "chair-token-7f3a9c2e1b"])
    assert result.exit_code == 0 and result.output.strip() == DIGEST
    result = CliRunner().invoke(app, ["gateway", "hash-token"], input="chair-token-7f3a9c2e1b\n")
    assert result.exit_code == 0 and result.output.strip().splitlines()[-1] == DIGEST
    result = CliRunner().invoke(app, ["gateway", "hash-token", "--generate"])
    lines = dict(line.split("=", 1) for line in result.output.splitlines())
    token, digest = lines["token        "].strip(), lines["token_sha256 "].strip()
    assert hashlib.sha256(token.encode()).hexdigest() == digest and len(token) >= 32
    assert CliRunner().invoke(app, ["gateway", "hash-token", "short"]).exit_code == 2
