"""``hallvote evidence``: fault matrix, secret-ballot scan, audit tamper check, attacks, fuzzing -> docs/evidence.md.

Thin: the work is in :mod:`hil.evidence`.  Exit 0 when every check held,
1 when one failed (the report says which), 2 when it cannot start.
"""

from __future__ import annotations

import json
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["evidence"]


def evidence(
    scale: Annotated[str, typer.Option("--scale", help="scenario: town (60) or county (300)")] = "county",
    keypads: Annotated[
        int | None, typer.Option("--keypads", min=3, max=3000, help="resize the scenario")
    ] = None,
    case: Annotated[
        list[str] | None, typer.Option("--case", help="run only these cases (repeatable; also attacks, fuzz)")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="the report (Markdown)")] = Path("docs/evidence.md"),
    as_json: Annotated[bool, typer.Option("--json", help="also print the full report as JSON")] = False,
    fuzz_examples: Annotated[
        int, typer.Option("--fuzz-examples", min=1, help="examples per fuzz property (case fuzz)")
    ] = 1000,
    workdir: Annotated[
        Path | None,
        typer.Option("--workdir", help="keep each case's rig folder (logs, database, NVS) here; default: a "
                     "temporary folder, removed at the end"),
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option("--processes", min=1, help="keypad processes per fault case (default: by the hall's size)"),
    ] = None,
) -> None:
    """证据报告：故障矩阵、无记名扫描、审计篡改检查、攻击、模糊测试 / evidence: fault matrix, secret-ballot scan, audit
    tamper check, attacks, fuzzing."""
    from hil.evidence import EvidenceError, render, run_evidence

    command = "hallvote " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hallvote-evidence-") as tmp:
        try:
            report = run_evidence(scale=scale, keypads=keypads, cases=case, workdir=workdir or Path(tmp),
                                  say=lambda m: print(m, file=sys.stderr, flush=True),
                                  fuzz_examples=fuzz_examples, processes=processes)  # fmt: skip
        except EvidenceError as e:
            print(str(e), file=sys.stderr)
            raise typer.Exit(2) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(report, command), encoding="utf-8")
    print(f"{out}: {'all checks held' if report['ok'] else 'A CHECK FAILED'}", file=sys.stderr)
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    raise typer.Exit(0 if report["ok"] else 1)
