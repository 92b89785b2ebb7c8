"""``hallvote init``: one command from nothing to a hall folder the broker and the gateway start from.

``hallvote init --hall county-hall --dir hall/`` writes, into a new folder:

=========================  ====  ===============================================
``hall.toml``              0600  the gateway's settings, every key commented
``broker/``                      the broker's configuration (``hallvote broker
                                 config``: hall CA, TLS, accounts, limits)
``gateway-broker.pass``    0600  the gateway's broker password
``broker-control.pass``    0600  the ``_control`` account's password (dynamic
                                 security: the gateway disables revoked keypads)
=========================  ====  ===============================================

and one person per role (chair, clerk, technician, display) in
``hall.toml`` as ``[[users]]`` with the SHA-256 of a new token; each token
is printed once (``--env``: as ``export HALLVOTE_TOKEN_<ROLE>=...`` lines
for a shell's ``eval``) and stored nowhere.  A folder that already holds
a ``hall.toml`` is refused (nothing is overwritten).  Run as root, the
broker's files are handed to the user Mosquitto runs as, and a folder the
broker cannot reach is named as a warning.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gateway.broker import config as bc
from gateway.broker.owner import broker_user, check_reachable
from gateway.config.settings import ROLES, ConfigError, load_settings
from gateway.config.template import TemplateUser, render

__all__ = ["DEFAULT_NAMES", "init"]

DEFAULT_NAMES = {"chair": "主持人", "clerk": "工作人员", "technician": "技术人员", "display": "大屏"}
GATEWAY_PASS = "gateway-broker.pass"
CONTROL_PASS = "broker-control.pass"
HALL_TOML = "hall.toml"


def _write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(fd, 0o600)
        f.write(text)


def new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hashlib.sha256(token.encode()).hexdigest()


def init(
    hall: Annotated[str, typer.Option("--hall", help="Hall id (1..16 of a-z 0-9 -), as in MQTT topics.")],
    folder: Annotated[
        Path, typer.Option("--dir", help="The hall folder to create (must not hold a hall.toml).")
    ],
    name: Annotated[str | None, typer.Option("--name", help="The hall's name (default: the id).")] = None,
    seats: Annotated[
        int, typer.Option("--seats", help="Keypads in the hall: sizes the broker's limits.")
    ] = bc.DEFAULT_SEATS,
    bind: Annotated[
        str, typer.Option("--bind", help="Address the broker's TLS listener binds to (the hall LAN address).")
    ] = "127.0.0.1",
    host: Annotated[
        list[str] | None,
        typer.Option(
            "--host", help="Name or IP keypads reach the broker by (repeatable; server certificate)."
        ),
    ] = None,
    port: Annotated[int, typer.Option("--port", help="The broker's TLS port (keypads).")] = 8883,
    local_port: Annotated[
        int, typer.Option("--local-port", help="The broker's plain loopback port (the gateway).")
    ] = 1884,
    api_host: Annotated[str, typer.Option("--api-host", help="Address the API listens on.")] = "127.0.0.1",
    api_port: Annotated[int, typer.Option("--api-port", help="Port the API listens on.")] = 8080,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Default: SQLite hallvote.db in the folder."),
    ] = None,
    run_as: Annotated[
        str | None, typer.Option("--run-as", help="Unix user Mosquitto switches to when started as root.")
    ] = None,
    static_accounts: Annotated[
        bool,
        typer.Option(
            "--static-accounts", help="Static passwd/acl broker accounts instead of dynamic security."
        ),
    ] = False,
    env: Annotated[
        bool, typer.Option("--env", help="Print the tokens as `export HALLVOTE_TOKEN_<ROLE>=...` lines only.")
    ] = False,
) -> None:
    """Create a hall folder: settings, broker configuration, passwords, one person per role / 初始化会场."""
    out, err = Console(soft_wrap=True, highlight=False), Console(stderr=True, soft_wrap=True, highlight=False)

    def fail(message: str, code: int = 2) -> typer.Exit:
        err.print(f"[bold red]error:[/] {escape(message)}")
        return typer.Exit(code)

    folder = folder.absolute()
    if (folder / HALL_TOML).exists():
        raise fail(
            f"{folder / HALL_TOML} 已存在 / already exists: nothing was changed "
            "(add people with `hallvote user add`, accounts with `hallvote broker config`)"
        )
    settings = bc.BrokerSettings(
        hall=hall,
        port=port,
        bind=bind,
        hosts=tuple(host) if host else bc.DEFAULT_HOSTS,
        local_port=local_port,
        run_as_user=run_as,
        seats=seats,
        dynsec=not static_accounts,
    )
    try:
        settings.validate()
        user = broker_user(run_as)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o711 if user is not None else 0o700)
        generated, written = bc.write_broker_config(folder / "broker", settings, reuse=False)
    except bc.BrokerConfigError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot write {folder}: {exc}", 1) from None

    _write_secret(folder / GATEWAY_PASS, generated.account(bc.GATEWAY_USER).password + "\n")
    control: str | None = None
    if settings.dynsec:
        _write_secret(folder / CONTROL_PASS, generated.account(bc.CONTROL_USER).password + "\n")
        control = CONTROL_PASS
    tokens: dict[str, str] = {}
    users = []
    for role in ROLES:
        token, digest = new_token()
        tokens[role] = token
        users.append(TemplateUser(DEFAULT_NAMES[role], role, digest))
    text = render(
        hall_id=hall,
        hall_name=name or hall,
        database_url=database_url or f"sqlite:///{folder / 'hallvote.db'}",
        broker_port=local_port,
        gateway_password_file=GATEWAY_PASS,
        control_password_file=control,
        api_host=api_host,
        api_port=api_port,
        users=users,
    )
    _write_secret(folder / HALL_TOML, text)
    try:
        load_settings(folder / HALL_TOML)  # what we wrote must be what the gateway accepts
    except ConfigError as exc:  # pragma: no cover - a bug in the template
        raise fail("\n".join(exc.lines()), 1) from None

    if env:
        for who, token in tokens.items():
            print(f"export HALLVOTE_TOKEN_{who.upper()}={token}")
    else:
        table = Table(title=f"令牌只显示这一次 / tokens, shown this once: hall {hall}")
        for column in ("role", "name", "token"):
            table.add_column(column, overflow="fold")
        for u in users:
            table.add_row(u.role, u.name, tokens[u.role])
        out.print(table)
        out.print(f"会场目录 / hall folder: {folder}")
        out.print(
            f"  {HALL_TOML}  (settings), broker/ ({len(written)} files), {GATEWAY_PASS}"
            + (f", {CONTROL_PASS}" if control else "")
        )
        out.print(f"start the broker:  mosquitto -c {written[bc.CONF]}")
        out.print(f"start the gateway: hallvote gateway run --config {folder / HALL_TOML}")
    if user is not None and (problem := check_reachable(folder / "broker", user)):
        err.print(f"[bold yellow]warning:[/] {escape(problem)}")
