"""``hallvote device``: the hall's keypads during a sitting.

* ``hallvote device swap --seat A-12 --to kp-031 --config hall.toml``:
  replace a failed keypad by a provisioned spare.  The token's role is
  checked first (a technician's, else nothing changes anywhere).  The old
  keypad is revoked, the new one bound to the seat, both and the swap
  audited in one transaction; the member's check-in is kept (it belongs to
  the member, not the keypad), and so are their presses in a live round.
  With the gateway running the swap goes through its API (under its lock,
  announced on the chair's live feed); without, straight to the database.
* ``hallvote device list --config hall.toml``: health of every keypad
  (online, battery, signal, last seen, firmware, seat).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gateway.provision import context, store
from gateway.provision.errors import ProvisionError

device_app = typer.Typer(
    name="device",
    help="表决器：更换、状态 / keypads: swap a failed one, health.",
    no_args_is_help=True,
)

_out = Console()
_err = Console(stderr=True)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="The hall's settings (hall.toml).")]


def _refused(exc: ProvisionError) -> typer.Exit:
    _err.print(
        f"[bold red]拒绝 / refused[/] [{exc.code}] {escape(str(exc))}", highlight=False, soft_wrap=True
    )
    return typer.Exit(exc.exit_code)


@device_app.command("swap")
def swap(
    seat: Annotated[str, typer.Option("--seat", help="Seat label of the failed keypad, e.g. A-12.")],
    to: Annotated[
        str, typer.Option("--to", help="Device id of the replacement (provisioned, e.g. a spare).")
    ],
    config: ConfigOpt = Path("hall.toml"),
    reason: Annotated[
        str, typer.Option("--reason", help="Why (recorded in the audit log).")
    ] = "故障更换 / failed",
    token: Annotated[
        str | None,
        typer.Option(
            "--token", envvar="HALLVOTE_TOKEN", help="Technician token (required while the gateway runs)."
        ),
    ] = None,
    api: Annotated[
        str | None, typer.Option("--api", help="Gateway API URL (default: from hall.toml).")
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Technician name for the audit log.")] = None,
) -> None:
    """Replace the keypad at SEAT by the registered keypad TO; check-in and presses carry over."""
    try:
        hall = context.open_hall(config, token=token, api=api)
        try:
            running = hall.gateway.probe()
            hall.gateway.authorize(hall.settings)  # the token's role first: a refusal changes nothing
            if running:
                answer = hall.gateway.swap(seat, to, f"{reason} ({context.actor_name(by)})")
                old, new, member = answer["old"], answer["new"], answer.get("member")
                checked_in, carried = answer.get("checked_in"), bool(answer.get("carried_over"))
                note = "网关已更换并重新加载 / the running gateway swapped the keypad and reloaded"
            else:
                done = store.swap(
                    hall.engine,
                    hall_id=hall.settings.hall_id,
                    seat_label=seat,
                    new_device=to,
                    actor=context.actor_name(by),
                    reason=reason,
                )
                old, new, member, checked_in, carried = (
                    done.old,
                    done.new,
                    done.member,
                    done.checked_in,
                    False,
                )
                note = "网关未运行，启动时加载 / gateway not running: it loads the keypads when it starts"
        finally:
            hall.close()
    except ProvisionError as exc:
        raise _refused(exc) from None
    _out.print(
        f"座位 {seat}: {old} → {new}（{old} 已停用）/ seat {seat}: {old} replaced by {new} ({old} revoked)",
        highlight=False,
    )
    if member is not None:
        state = "已签到，签到保留 / checked in, check-in kept" if checked_in else "未签到 / not checked in"
        _out.print(f"代表 / member {member}: {state}", highlight=False)
    if carried:
        _out.print("本轮已按项目保留 / the member's presses in the live round carry over", highlight=False)
    _out.print(note, highlight=False)
    _out.print("审计 / audited: device.revoked, device.bound, device.swapped", highlight=False)


def _age(at: dt.datetime | None, now: dt.datetime) -> str:
    if at is None:
        return "—"
    seconds = int((now - at).total_seconds())
    if seconds < 120:
        return f"{max(seconds, 0)} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return at.astimezone().strftime("%Y-%m-%d %H:%M")


@device_app.command("list")
def list_devices(
    config: ConfigOpt = Path("hall.toml"),
    all_: Annotated[bool, typer.Option("--all", help="Also list revoked keypads.")] = False,
) -> None:
    """Health of the hall's keypads: online, battery, RSSI, last seen, firmware, seat."""
    try:
        hall = context.open_hall(config, token=None, api=None)
        try:
            rows = store.health(hall.engine, hall.settings.hall_id, include_revoked=all_)
        finally:
            hall.close()
    except ProvisionError as exc:
        raise _refused(exc) from None
    now = dt.datetime.now(dt.UTC)
    table = Table(title=f"会场 {hall.settings.hall_id} 表决器 / keypads")
    for column in (
        "座位 seat",
        "表决器 device",
        "在线 online",
        "电量 battery",
        "信号 RSSI",
        "最近 last seen",
        "固件 firmware",
    ):
        table.add_column(column, overflow="fold")
    online = 0
    for r in rows:
        online += r.online and not r.revoked
        state = (
            "[red]停用 revoked[/]"
            if r.revoked
            else ("[green]在线 online[/]" if r.online else "[yellow]离线 offline[/]")
        )
        battery = "—" if r.battery is None else f"{r.battery}%"
        rssi = "—" if r.rssi is None else f"{r.rssi} dBm"
        table.add_row(
            escape(r.seat or "备用 spare"),
            escape(r.device_id),
            state,
            battery,
            rssi,
            _age(r.last_seen, now),
            escape(r.firmware or "—"),
        )
    _out.print(table)
    _out.print(f"{online}/{sum(not r.revoked for r in rows)} 在线 / online", highlight=False)
