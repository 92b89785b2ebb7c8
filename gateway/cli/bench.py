"""``hallvote bench``: the whole hall under load against a bare MQTT echo (code in :mod:`hil.bench.hall`)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

__all__ = ["bench"]


def bench(
    keypads: Annotated[
        int, typer.Option("--keypads", "-n", min=1, max=20000, help="Keypads in the hall.")
    ] = 200,
    database: Annotated[str, typer.Option("--database", help="sqlite or postgresql")] = "sqlite",
    postgres_server: Annotated[
        str,
        typer.Option("--postgres-server", help="PostgreSQL server (a fresh database is made and dropped)."),
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario",
            "-s",
            help="Run only these (repeat): checkin, vote_burst, sustained, "
            "close_in_flight, gateway_down, broker_restart.",
        ),
    ] = None,
    burst_s: Annotated[
        float, typer.Option("--burst-s", help="A burst's presses spread over this long.")
    ] = 1.0,
    sustain_s: Annotated[
        float, typer.Option("--sustain-s", help="Length of the sustained scenarios.")
    ] = 10.0,
    inflight: Annotated[
        int, typer.Option("--inflight", help="Presses in flight under sustained load.")
    ] = 500,
    close_after_s: Annotated[
        float, typer.Option("--close-after-s", help="Close this long after the last press.")
    ] = 1.0,
    down_s: Annotated[float, typer.Option("--down-s", help="How long the gateway stays down.")] = 3.0,
    no_echo: Annotated[bool, typer.Option("--no-echo", help="Skip the bare-echo baseline.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    png: Annotated[Path | None, typer.Option("--png", help="Write the latency histogram here.")] = None,
    workdir: Annotated[
        Path | None, typer.Option("--workdir", help="Keep broker, database and logs here.")
    ] = None,
) -> None:
    """Measure a hall of N keypads: broker, gateway and keypads for real / 全会场压力测试."""
    from hil.bench.hall import SCENARIOS, Options, run
    from hil.bench.report import print_table

    err = Console(stderr=True, highlight=False)
    opts = Options(
        keypads=keypads,
        database=database,
        postgres_server=postgres_server,
        burst_s=burst_s,
        sustain_s=sustain_s,
        inflight=inflight,
        close_after_s=close_after_s,
        down_s=down_s,
        scenarios=tuple(scenario) if scenario else SCENARIOS,
        echo=not no_echo,
        workdir=workdir,
        keep=workdir is not None,
        png=png,
        log=lambda line: err.print(f"[dim]bench[/] {line}"),
    )
    try:
        result = asyncio.run(run(opts))
    except (ValueError, RuntimeError, TimeoutError, OSError) as exc:
        err.print(f"[bold red]基准测试失败 / bench failed:[/] {exc}")
        raise typer.Exit(1) from None
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    else:
        print_table(result, sys.stdout)
    if not result["summary"].get("all_invariants_hold", False):
        err.print(
            "[bold red]不变量不成立 / an invariant does not hold[/]: " + json.dumps(result["invariants"])
        )
        raise typer.Exit(3)
