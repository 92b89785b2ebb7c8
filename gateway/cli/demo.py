"""``hallvote demo``: the demo hall (thin: the work is in :mod:`hil.demo`).

Exit codes: 0 when every result equals the model's, 1 on any mismatch or
failed invariant, 2 when the demo cannot start (e.g. ``--broker mosquitto``
without Mosquitto installed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["demo"]


def demo(
    headless: Annotated[
        bool, typer.Option("--headless", help="run the sitting at once, no waiting; report and exit")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the report as JSON (expected vs actual per result)")
    ] = False,
    keypads: Annotated[
        int | None,
        typer.Option("--keypads", min=3, max=3000, help="simulated keypads (members); default: the scenario's seats"),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="data folder (default demo-data/<time>; headless: a temporary one)"),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option("--speed", min=0.0, help="time scale of the script (1 watchable, 0 at once)"),
    ] = None,
    scenario: Annotated[
        str, typer.Option("--scenario", help="a shipped scenario name or a YAML file")
    ] = "demo",
    broker: Annotated[
        str,
        typer.Option(
            "--broker",
            help="auto (Mosquitto when installed, else embedded), mosquitto, or embedded (amqtt, in-process)",
        ),
    ] = "auto",
    processes: Annotated[
        int | None,
        typer.Option("--processes", min=1, help="keypad processes (default: 1 up to 300 keypads, more above)"),
    ] = None,
) -> None:
    """演示会场：MQTT 代理、网关、控制台和模拟表决器，运行一次会议 / the demo hall: broker, gateway, console,
    simulated keypads running the real firmware, and a scripted sitting."""
    from hil.demo import DemoError, run_demo

    err = Console(stderr=True)
    quiet = as_json

    def say(message: str) -> None:
        if not quiet:
            print(message, flush=True)
        else:
            err.print(message, markup=False, highlight=False, soft_wrap=True)

    try:
        report = run_demo(keypads=keypads, headless=headless, data=data, speed=speed, scenario=scenario, say=say,
                          progress=not quiet, broker=broker, processes=processes)  # fmt: skip
    except DemoError as e:
        err.print(str(e), markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err.print("已停止 / stopped (Ctrl-C)", markup=False)
        raise typer.Exit(130) from None
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        table = Table(title="预期 vs 实际 / expected vs actual")
        for column in ("step", "expected", "actual", "match"):
            table.add_column(column)
        for step in report["steps"]:
            table.add_row(step["step"], json.dumps(step["expected"], ensure_ascii=False),
                          json.dumps(step["actual"], ensure_ascii=False), "✓" if step["match"] else "✗ MISMATCH")  # fmt: skip
        Console().print(table)
        bad = [c["check"] for c in report["invariants"] if not c["ok"]]
        print(
            "不变量全部成立 / every invariant held"
            if not bad
            else "不变量失败 / invariants failed: " + "; ".join(bad)
        )
    raise typer.Exit(0 if report["ok"] else 1)
