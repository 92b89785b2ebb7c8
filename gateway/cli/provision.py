"""``hallvote provision``: put the firmware, settings and a key on keypads and register them.

``hallvote provision --port /dev/ttyUSB0 --seat A-12 --config hall.toml``
does one keypad; ``hallvote provision bulk --csv boards.csv --config
hall.toml`` does one per row (``port,seat[,device_id]``), goes on past a
failed board and reports them all.  See docs/provisioning.md and
:mod:`gateway.provision`.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from gateway.provision import context
from gateway.provision.errors import ProvisionError, SettingsError
from gateway.provision.steps import STEPS, Label, Provisioner

provision_app = typer.Typer(
    name="provision",
    help="为表决器写入固件、配置和密钥并登记 / provision keypads over their serial REPL.",
)

_out = Console()
_err = Console(stderr=True)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="The hall's settings (hall.toml).")]
KeypadOpt = Annotated[
    Path | None, typer.Option("--keypad", help="Keypad settings (default: keypad.toml beside hall.toml).")
]
BuildOpt = Annotated[
    Path | None, typer.Option("--build", help="Firmware build folder (hallvote firmware build).")
]
NoCopyOpt = Annotated[
    bool, typer.Option("--no-copy", help="Do not copy the build; require the keypad to run its version.")
]
RekeyOpt = Annotated[
    bool, typer.Option("--rekey", help="Replace the keypad's key (only for a keypad not registered yet).")
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="HALLVOTE_TOKEN", help="Technician token, to make a running gateway reload."
    ),
]
ApiOpt = Annotated[str | None, typer.Option("--api", help="Gateway API URL (default: from hall.toml).")]
ByOpt = Annotated[
    str | None, typer.Option("--by", help="Technician name for the audit log (default: login).")
]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds to wait for the keypad to answer.")]
WifiOpt = Annotated[
    float,
    typer.Option(
        "--wifi-timeout",
        help="Seconds for the keypad to join Wi-Fi before its key is made (0: radio on only).",
    ),
]
LabelsOpt = Annotated[Path | None, typer.Option("--labels", help="Append label rows (CSV) to this file.")]


def _refused(exc: ProvisionError) -> typer.Exit:
    _err.print(
        f"[bold red]拒绝 / refused[/] [{exc.code}] {escape(str(exc))}", highlight=False, soft_wrap=True
    )
    return typer.Exit(exc.exit_code)


def _write_labels(path: Path | None, labels: list[Label]) -> None:
    if path is None or not labels:
        return
    with path.open("a", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        for label in labels:
            w.writerow(label.csv_row())


def _after(p: Provisioner) -> None:
    if p.credentials.applied == "broker":
        _out.print(
            "新的代理账号已写入 credentials.csv 并已在运行的代理上生效；请把编号加入 devices.csv / new broker "
            "accounts were added to credentials.csv and to the running broker: add the ids to devices.csv",
            highlight=False,
            soft_wrap=True,
        )
    elif p.credentials.applied == "file":
        _out.print(
            "新的代理账号已写入 credentials.csv 和代理的账号文件，代理启动时生效；请把编号加入 devices.csv / new "
            "broker accounts were added to credentials.csv and the broker's account file (the broker was not "
            "running: they apply when it starts); add the ids to devices.csv",
            highlight=False,
            soft_wrap=True,
        )
    elif p.credentials.changed:
        _out.print(
            "[yellow]注意 / note:[/] 新的代理账号已写入 credentials.csv、passwd 和 acl；请让 Mosquitto 重新读取 "
            "(kill -HUP <mosquitto pid>)，并把编号加入 devices.csv / new broker accounts were added to "
            "credentials.csv, passwd and acl: send Mosquitto SIGHUP, and add the ids to devices.csv",
            highlight=False,
            soft_wrap=True,
        )


def _make(
    config: Path,
    keypad: Path | None,
    build: Path | None,
    token: str | None,
    api: str | None,
    by: str | None,
    timeout: float,
    no_copy: bool,
    rekey: bool,
    wifi_timeout: float,
) -> tuple[context.Hall, Provisioner]:
    hall = context.open_hall(config, token=token, api=api)
    try:
        return hall, context.provisioner(
            hall,
            config=config,
            keypad=keypad,
            build=build,
            actor=context.actor_name(by),
            timeout=timeout,
            copy=not no_copy,
            rekey=rekey,
            wifi_timeout_s=wifi_timeout,
        )
    except BaseException:
        hall.close()
        raise


@provision_app.callback(invoke_without_command=True)
def provision(
    ctx: typer.Context,
    port: Annotated[
        str | None, typer.Option("--port", help="The keypad's serial port, e.g. /dev/ttyUSB0.")
    ] = None,
    seat: Annotated[
        str | None, typer.Option("--seat", help="Seat label to bind the keypad to, e.g. A-12.")
    ] = None,
    spare: Annotated[
        bool, typer.Option("--spare", help="Register without a seat (a spare for swaps).")
    ] = False,
    device_id: Annotated[
        str | None, typer.Option("--device-id", help="Device id (default: allocated).")
    ] = None,
    config: ConfigOpt = Path("hall.toml"),
    keypad: KeypadOpt = None,
    build: BuildOpt = None,
    no_copy: NoCopyOpt = False,
    rekey: RekeyOpt = False,
    token: TokenOpt = None,
    api: ApiOpt = None,
    by: ByOpt = None,
    timeout: TimeoutOpt = 10.0,
    wifi_timeout: WifiOpt = 20.0,
    labels: LabelsOpt = None,
) -> None:
    """Provision one keypad: copy the build, write its settings, make its key, register and bind it."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        if port is None or (seat is None) == (not spare):
            raise SettingsError(
                "需要 --port，以及 --seat 或 --spare 之一", "give --port, and one of --seat or --spare"
            )
        hall, p = _make(config, keypad, build, token, api, by, timeout, no_copy, rekey, wifi_timeout)
        try:
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=_err,
                transient=True,
            ) as bar:
                task = bar.add_task(f"{port}", total=STEPS)
                label = p.provision(
                    port,
                    seat,
                    device_id,
                    lambda what, step: bar.update(task, completed=step - 1, description=f"{port}: {what}"),
                )
                bar.update(task, completed=STEPS)
        finally:
            hall.close()
    except ProvisionError as exc:
        raise _refused(exc) from None
    _out.print(f"标签 / label: {label.line()}", highlight=False)
    for note in label.notes:
        _out.print(note, highlight=False)
    _write_labels(labels, [label])
    _after(p)


def _rows(path: Path) -> list[tuple[str, str | None, str | None]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"无法读取 {path}", f"cannot read {path}: {exc}") from None
    rows: list[tuple[str, str | None, str | None]] = []
    for i, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells) or cells[0].startswith("#") or (i == 1 and cells[0].lower() == "port"):
            continue
        if len(cells) > 3:
            raise SettingsError(
                f"{path} 第 {i} 行列数过多", f"{path}, row {i}: expected port,seat[,device_id]"
            )
        seat = cells[1] if len(cells) > 1 and cells[1] else None
        device = cells[2] if len(cells) > 2 and cells[2] else None
        rows.append((cells[0], seat, device))
    if not rows:
        raise SettingsError(f"{path} 中没有表决器", f"no boards listed in {path}")
    return rows


@provision_app.command("bulk")
def bulk(
    csv_file: Annotated[
        Path, typer.Option("--csv", help="CSV of port,seat[,device_id] (empty seat: spare).")
    ],
    config: ConfigOpt = Path("hall.toml"),
    keypad: KeypadOpt = None,
    build: BuildOpt = None,
    no_copy: NoCopyOpt = False,
    token: TokenOpt = None,
    api: ApiOpt = None,
    by: ByOpt = None,
    timeout: TimeoutOpt = 10.0,
    wifi_timeout: WifiOpt = 20.0,
    labels: LabelsOpt = None,
) -> None:
    """Provision every keypad of a CSV; go on past failures; summary at the end (exit 1 if any failed)."""
    try:
        rows = _rows(csv_file)
        hall, p = _make(config, keypad, build, token, api, by, timeout, no_copy, False, wifi_timeout)
        try:
            hall.gateway.probe()  # a running gateway without a token: refuse before any board
            hall.gateway.authorize(hall.settings)  # a token that is not a technician's: likewise
        except ProvisionError:
            hall.close()
            raise
    except ProvisionError as exc:
        raise _refused(exc) from None
    done: list[Label] = []
    results: list[tuple[str, str, str, str]] = []
    try:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=_err
        ) as bar:
            task = bar.add_task("表决器 / keypads", total=len(rows))
            for port, seat, device in rows:

                def step(what: str, _n: int, port: str = port) -> None:
                    bar.update(task, description=f"{port}: {what}")

                try:
                    label = p.provision(port, seat, device, step)
                except ProvisionError as exc:
                    results.append((port, seat or "", exc.code, str(exc)))
                except Exception as exc:  # one broken board must not stop the others
                    results.append((port, seat or "", "UNEXPECTED", repr(exc)))
                else:
                    done.append(label)
                    results.append((port, seat or "", "OK", label.line()))
                    _out.print(f"标签 / label: {label.line()}", highlight=False)
                bar.advance(task)
    finally:
        hall.close()
    table = Table(title=f"{len(done)}/{len(rows)} 个表决器完成 / keypads provisioned")
    for column in ("port", "seat", "result", "detail"):
        table.add_column(column, overflow="fold")
    for port, seat, code, detail in results:
        style = "green" if code == "OK" else "red"
        table.add_row(escape(port), escape(seat), f"[{style}]{code}[/]", escape(detail))
    _out.print(table)
    if done:
        _out.print(done[-1].notes[0] if done[-1].notes else "", highlight=False)
    _write_labels(labels, done)
    _after(p)
    if len(done) != len(rows):
        raise typer.Exit(1)
