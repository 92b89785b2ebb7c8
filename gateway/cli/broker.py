"""``hallvote broker ...``: the hall's Mosquitto broker.

``hallvote broker config --hall HALL --out DIR`` writes a complete broker
configuration (hall CA, server certificate, password file, ACL,
mosquitto.conf, credentials for provisioning); see
:mod:`gateway.broker.config`.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gateway.broker import config as bc
from gateway.broker.owner import broker_user, check_reachable

broker_app = typer.Typer(
    name="broker",
    help="The hall's MQTT broker (Mosquitto): generated TLS, passwords and ACL.",
    no_args_is_help=True,
)

_out = Console()
_err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@broker_app.command("config")
def config(
    hall: Annotated[str, typer.Option("--hall", help="Hall id (1..16 of a-z 0-9 -).")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write the configuration into.")],
    devices: Annotated[
        Path | None,
        typer.Option(
            "--devices",
            help="CSV of device_id[,password]; an empty password is generated.",
        ),
    ] = None,
    port: Annotated[int, typer.Option("--port", help="TLS listener port.")] = 8883,
    bind: Annotated[
        str,
        typer.Option("--bind", help="Address the TLS listener binds to (the hall LAN address)."),
    ] = "127.0.0.1",
    host: Annotated[
        list[str] | None,
        typer.Option(
            "--host",
            help="DNS name or IP address for the server certificate (repeatable). "
            "Default: localhost and 127.0.0.1.",
        ),
    ] = None,
    local_port: Annotated[
        int | None,
        typer.Option("--local-port", help="Also listen plain on 127.0.0.1:PORT for the gateway."),
    ] = None,
    persistence: Annotated[
        bool,
        typer.Option(
            "--persistence/--no-persistence",
            help="Broker persistence (kept in DIR/data). Off by default for secret ballots.",
        ),
    ] = False,
    log: Annotated[
        str, typer.Option("--log", help="Broker log: stderr, file (DIR/mosquitto.log) or syslog.")
    ] = "stderr",
    run_as: Annotated[
        str | None, typer.Option("--run-as", help="Unix user mosquitto switches to when root.")
    ] = None,
    seats: Annotated[
        int,
        typer.Option("--seats", help="Keypads in the hall: sizes the broker's queue and inflight limits."),
    ] = bc.DEFAULT_SEATS,
    static_accounts: Annotated[
        bool,
        typer.Option(
            "--static-accounts",
            help="Static passwd and acl files (changed only by SIGHUP) instead of the dynamic-security "
            "plugin the gateway manages at runtime.",
        ),
    ] = False,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="Make a new hall CA and new passwords even if DIR has them "
            "(provisioned keypads will then need re-provisioning).",
        ),
    ] = False,
) -> None:
    """Generate a Mosquitto configuration for HALL in DIR."""
    running = _answering(bind, port) or (local_port is not None and _answering("127.0.0.1", local_port))
    try:
        device_rows: list[tuple[str, str | None]] = []
        if devices is not None:
            try:
                text = devices.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise _fail(f"cannot read devices CSV {devices}: {e}") from e
            device_rows = bc.parse_devices_csv(text, source=str(devices))
        settings = bc.BrokerSettings(
            hall=hall,
            port=port,
            bind=bind,
            hosts=tuple(host) if host else bc.DEFAULT_HOSTS,
            local_port=local_port,
            persistence=persistence,
            log_dest=log,
            run_as_user=run_as,
            seats=seats,
            dynsec=not static_accounts,
        )
        generated, written = bc.write_broker_config(out, settings, device_rows, reuse=not fresh)
    except bc.BrokerConfigError as e:
        raise _fail(str(e)) from e
    except OSError as e:
        raise _fail(f"cannot write {out}: {e}", code=1) from e

    table = Table(title=f"hallvote broker configuration for hall {hall}", show_lines=False)
    table.add_column("file", overflow="fold")
    table.add_column("mode")
    table.add_column("what", overflow="fold")
    what = {
        bc.CONF: "broker configuration",
        bc.CA_CERT: "hall CA: provision onto every keypad",
        bc.CA_KEY: "hall CA key: keep offline if you can",
        bc.SERVER_CERT: "server certificate for " + ", ".join(settings.hosts),
        bc.SERVER_KEY: "server key",
        bc.PASSWORD_FILE: "hashed passwords",
        bc.DYNSEC_FILE: "accounts and rights (dynamic security; the broker rewrites it)",
        bc.ACL_FILE: "access control list",
        bc.CREDENTIALS: "passwords in clear: provisioning only",
    }
    for name, path in written.items():
        mode = "" if path.is_dir() else oct(path.stat().st_mode & 0o777)[2:]
        table.add_row(str(path), mode, what.get(name, ""))
    _out.print(table)
    _out.print(
        f"{len(generated.devices)} device account(s), gateway account "
        f"[bold]{bc.GATEWAY_USER}[/], display account [bold]{bc.DISPLAY_USER}[/]"
        + (f", control account [bold]{bc.CONTROL_USER}[/]" if settings.dynsec else "")
        + "; "
        f"TLS on {bind}:{port}" + (f", plain on 127.0.0.1:{local_port}" if local_port else ""),
        highlight=False,
    )
    _out.print(f"start the broker with: mosquitto -c {written[bc.CONF]}", highlight=False, soft_wrap=True)
    if running and settings.dynsec:
        _err.print(
            "[bold yellow]warning:[/] 代理似乎正在运行：请重启它以读取新的账号文件（运行中的代理会覆盖它）/ a broker "
            f"answers on port {port}: restart it to read the new account file (a running broker's next account "
            "change would overwrite it); for a few keypads at runtime, provisioning adds them over the control topic",
            highlight=False,
            soft_wrap=True,
        )
    user = broker_user(run_as)
    if user is not None and (problem := check_reachable(Path(out).absolute(), user)):
        _err.print(f"[bold yellow]warning:[/] {escape(problem)}", highlight=False, soft_wrap=True)


def _answering(host: str, port: int) -> bool:
    try:
        with socket.create_connection(
            ("127.0.0.1" if host in ("0.0.0.0", "::") else host, port), timeout=0.3
        ):
            return True
    except OSError:
        return False
