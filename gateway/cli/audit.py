"""``hallvote audit``: verify the audit log's hash chain and the results it froze; show its events.

``verify`` exits 0 when the chain is intact (and contains the head given,
if one is), and every stored result agrees with the chain (its
``result.frozen`` record and the counts behind it, see
:mod:`gateway.audit.results`); 1 when a record was edited, deleted or
reordered, or a result or tally differs (naming the first problem); 2 when
the database cannot be read.  The head it prints (``SEQ:HASH``) is what to
publish (e.g. in the minutes); every announced result publishes its own
(the API's ``audit_head``, the live feed, the retained result broadcast).
Give one back as ``--head``: ``SEQ:HASH``, ``HASH``, ``SEQ``, the API's
JSON with an ``audit_head``, or the result-summary broadcast in hex.  Only
a published head detects records removed from the end of the log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from gateway.audit.chain import Anchor, format_time, parse_anchor
from gateway.audit.log import AuditLog
from gateway.audit.results import check_results
from gateway.db.engine import make_engine
from protocol import codec, consts
from protocol.errors import ProtocolError
from protocol.frames import ResultSummary

__all__ = ["audit_app"]

audit_app = typer.Typer(
    name="audit",
    help="The audit log: verify its hash chain, show its events / 审计日志：校验哈希链、查看事件",
    no_args_is_help=True,
)

DbUrl = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="HALLVOTE_DB_URL",
        help="Database URL: sqlite:///path/hallvote.db or postgresql+psycopg://user@host/db",
    ),
]


def _console() -> Console:
    # Created per command so it writes to the stdout of the moment (CliRunner, pipes).
    return Console(soft_wrap=True, highlight=False)


def _open(url: str, console: Console) -> AuditLog:
    try:
        parsed = make_url(url)
    except ArgumentError:
        console.print(f"[red]not a database URL:[/red] {url}")
        raise typer.Exit(2) from None
    file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if file and file != ":memory:" and not Path(file).exists():
        console.print(f"[red]no such database file:[/red] {file}")
        raise typer.Exit(2)
    try:
        engine = make_engine(url)  # also maps postgresql:// to psycopg 3
        log = AuditLog(engine)
        if not inspect(engine).has_table(log.table.name):
            console.print(
                f"[red]no {log.table.name} table in[/red] {parsed.render_as_string(hide_password=True)}"
            )
            raise typer.Exit(2)
    except (SQLAlchemyError, ValueError) as exc:
        console.print(f"[red]cannot open the database:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    return log


def published_head(text: str) -> Anchor:
    """A head as published anywhere: SEQ:HASH / HASH / SEQ, the API's JSON, a result broadcast in hex."""
    t = text.strip()
    if t.startswith("{"):
        data = json.loads(t)
        found = _find_head(data)
        if found is None:
            raise ValueError("no audit_head in the JSON given")
        return parse_anchor(found)
    if len(t) > 70 and t.lower().startswith(f"{consts.VERSION:02x}{consts.RESULT_SUMMARY:02x}"):
        try:
            frame = codec.decode(bytes.fromhex(t))
        except (ValueError, ProtocolError) as exc:
            raise ValueError(f"not a result-summary broadcast: {exc}") from None
        assert isinstance(frame, ResultSummary)
        if not frame.audit_seq:
            raise ValueError("the result broadcast carries no audit head")
        return Anchor(frame.audit_seq, frame.audit_head.hex())
    return parse_anchor(t)


def _find_head(data: object) -> str | None:
    if isinstance(data, dict):
        head = data.get("audit_head")
        if isinstance(head, str):
            return head
        data = list(data.values())
    if isinstance(data, list):
        for value in data:
            found = _find_head(value)
            if found is not None:
                return found
    return None


@audit_app.command("verify")
def verify(
    db: DbUrl,
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--head",
            "--expect-head",
            help="A published head to check against: SEQ:HASH (as printed by verify), HASH, SEQ, the API's "
            "result JSON (its audit_head), or a result-summary broadcast in hex",
        ),
    ] = None,
    expect_count: Annotated[
        int | None,
        typer.Option("--expect-count", min=0, help="The log must hold at least this many records"),
    ] = None,
) -> None:
    """Recompute the hash chain; name the first edited, deleted or reordered record."""
    console = _console()
    anchor: Anchor | None = None
    try:
        if expect_head is not None:
            anchor = published_head(expect_head)
        if expect_count is not None:
            if anchor is not None and anchor.seq is not None and anchor.seq != expect_count:
                raise ValueError(f"--expect-count {expect_count} contradicts --expect-head seq {anchor.seq}")
            anchor = Anchor(expect_count, anchor.hash if anchor is not None else None)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None

    log = _open(db, console)
    try:
        report = log.verify(anchor=anchor)
        checked, result_problems = check_results(log.engine, log.records())
    except SQLAlchemyError as exc:
        console.print(f"[red]cannot read the audit log:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    finally:
        log.engine.dispose()

    if result_problems and report.ok:
        console.print(
            f"[red]TAMPERED[/red] results disagree with the audit log: first problem {escape(str(result_problems[0]))}"
        )
        table = Table(
            "motion", "round", "chain seq", "reason", "detail", title="results checked against the chain"
        )
        for rp in result_problems:
            seq = "-" if rp.seq is None else str(rp.seq)
            table.add_row(str(rp.motion), str(rp.round), seq, str(rp.reason), escape(rp.detail))
        console.print(table)
        console.print(f"{report.count} records read, last {report.head}")
        raise typer.Exit(1)
    if report.ok:
        console.print(f"results: {checked} stored result(s) agree with the chain")
        console.print(f"[green]OK[/green] audit log intact: {report.count} records")
        console.print(f"head {report.head}")
        if anchor is not None:
            console.print(f"anchor {anchor} found in the log")
        if report.kinds:
            table = Table("kind", "records", title="events by kind")
            for kind, n in sorted(report.kinds.items()):
                table.add_row(escape(kind), str(n))
            console.print(table)
        return

    first = report.first
    assert first is not None
    where = "the log" if first.seq is None else f"seq {first.seq}"
    kind = f" ({escape(first.kind)})" if first.kind else ""
    console.print(
        f"[red]TAMPERED[/red] audit log fails verification: first bad record {where}{kind}: {first.reason}"
    )
    console.print(f"  {escape(first.detail)}")
    console.print(f"{report.count} records read, last {report.head}")
    for rp in result_problems:
        console.print(f"  result: {escape(str(rp))}")
    if len(report.problems) > 1 or report.more:
        table = Table("seq", "kind", "reason", "detail", title="all problems found")
        for p in report.problems:
            table.add_row(
                "-" if p.seq is None else str(p.seq), escape(p.kind or "-"), str(p.reason), escape(p.detail)
            )
        console.print(table)
        if report.more:
            console.print("(more problems not listed)")
    raise typer.Exit(1)


def _pairs(payload: str) -> str:
    """``key=value`` pairs (JSON values, text bare) for reading; the stored text if it is not an object."""
    try:
        data = json.loads(payload)
    except (TypeError, ValueError):
        return escape(repr(payload))
    if not isinstance(data, dict):
        return escape(payload)
    return escape(
        " ".join(
            f"{k}={v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}" for k, v in data.items()
        )
    )


@audit_app.command("show")
def show(
    db: DbUrl,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many of the latest events")] = 20,
) -> None:
    """Show the latest events of the audit log (oldest first)."""
    console = _console()
    log = _open(db, console)
    try:
        records = log.tail(limit)
        head = log.head()
    except SQLAlchemyError as exc:
        console.print(f"[red]cannot read the audit log:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    finally:
        log.engine.dispose()
    table = Table(title=f"audit log: last {len(records)}, head {head}")
    table.add_column("seq", no_wrap=True, justify="right")
    table.add_column("at (UTC)", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("actor", overflow="fold")
    table.add_column("payload", overflow="fold", ratio=1)
    for r in records:
        at = format_time(r.at)[:19].replace("T", " ") if r.at.tzinfo is not None else str(r.at)
        table.add_row(str(r.seq), at, escape(r.kind), escape(r.actor), _pairs(r.payload))
    console.print(table)
