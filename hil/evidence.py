"""``hallvote evidence``: run the fault matrix, scan for secret-ballot leaks, tamper with the audit log; write the report.

Every row of the report is produced by this run: each fault case is a
whole sitting (a shipped scenario with faults added) on a fresh SimRig, checked
against the model; after each, the database files (tables, WAL, free
pages: the raw bytes), the gateway's and the broker's logs are searched for
any trace of the secret rounds' ballots (each signed vote frame, its
signature, its SHA-256, in raw and hex), every table is checked for rows
linking a member, seat or device to a secret round's choices, and a copy of
the database has one audit record edited and another deleted, each of
which ``hallvote audit verify`` must detect.  Then the attack suite and the
fuzz properties (cases ``attacks`` and ``fuzz``: :mod:`hil.attacks.report`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import random
import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, inspect, text

from gateway.db import make_engine
from hil.attacks.report import attack_evidence, render_attacks
from hil.rig import SimRig
from hil.rig.broker import mosquitto_path
from hil.rig.sim import default_processes
from hil.scenario import load, plan
from hil.scenario.runner import Runner
from hil.scenario.spec import Fault, Scenario, resized
from protocol import codec, frames

__all__ = ["CASES", "EvidenceError", "run_evidence"]

HALLVOTE = str(Path(sys.executable).with_name("hallvote"))


class EvidenceError(RuntimeError):
    """The evidence run cannot start (zh-CN, then English)."""


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    faults: Callable[[Scenario, random.Random], tuple[Fault, ...]]
    store: str = "sqlite"  # SimRig's store: sqlite, sqlite-disk (own small tmpfs), postgres (private cluster)


def _motions(s: Scenario) -> list[str]:
    return [m.key for m in s.motions]


def _long(s: Scenario) -> float:
    return 60.0 if s.seats >= 200 else 10.0


CASES: tuple[Case, ...] = (
    Case("gateway-sigkill", "网关 SIGKILL 后重启，20 个随机时点 / gateway SIGKILL and restart at 20 random points",
         lambda s, r: tuple(Fault("kill_gateway", r.choice(["checkin", *_motions(s)]), round(r.random(), 2), seconds=0.5)
                            for _ in range(20 if s.seats >= 200 else 4))),
    Case("checkin-restart", "签到中网关重启 / gateway restart during check-in",
         lambda s, r: (Fault("kill_gateway", "checkin", 0.5, seconds=1.0),)),
    Case("broker-restart", "表决中代理重启 / broker restart mid-round",
         lambda s, r: tuple(Fault("restart_broker", k, 0.5, seconds=1.0) for k in _motions(s))),
    Case("partition", "成组表决器断网 5-60 秒 / groups of keypads partitioned for 5-60 s",
         lambda s, r: tuple(Fault("partition", k, round(r.random(), 2), keypads=max(2, s.seats // 10),
                                  seconds=round(r.uniform(5, _long(s)), 1)) for k in _motions(s))),
    Case("wifi-cut", "表决器 Wi-Fi 中断 / keypads' Wi-Fi cut",
         lambda s, r: tuple(Fault("cut_wifi", k, 0.4, keypads=max(2, s.seats // 15), seconds=8) for k in _motions(s))),
    Case("power-cycle", "表决器断电重启（NVS 保留）/ keypads power-cycled (NVS kept)",
         lambda s, r: tuple(Fault("power_cycle", k, 0.5, keypads=max(1, s.seats // 30), seconds=0.5) for k in _motions(s))),
    Case("stall", "链路停滞 / links stalled",
         lambda s, r: tuple(Fault("stall", k, 0.3, keypads=max(2, s.seats // 10), seconds=6) for k in _motions(s))),
    Case("db-unreachable", "表决中数据库不可达（PostgreSQL）/ database unreachable mid-round (PostgreSQL)",
         lambda s, r: tuple(Fault("db_unreachable", k, round(r.uniform(0.2, 0.6), 2), seconds=8) for k in _motions(s)),
         store="postgres"),
    Case("disk-full", "表决中数据库磁盘满（SQLite）/ database disk full mid-round (SQLite)",
         lambda s, r: tuple(Fault("disk_full", k, round(r.uniform(0.2, 0.6), 2), seconds=6) for k in _motions(s)),
         store="sqlite-disk"),
    Case("disk-full-pg", "表决中数据库磁盘满（PostgreSQL）/ database disk full mid-round (PostgreSQL)",
         lambda s, r: tuple(Fault("disk_full", k, round(r.uniform(0.2, 0.6), 2), seconds=6) for k in _motions(s)),
         store="postgres"),
    Case("keypad-swap", "表决中更换表决器 / a keypad swapped mid-round",
         lambda s, r: tuple(Fault("swap", k, 0.5, keypads=1) for k in _motions(s))),
)  # fmt: skip


def _needles(frame: bytes) -> dict[str, bytes]:
    sig = frame[-64:]
    digest = hashlib.sha256(frame).digest()
    return {"frame": frame, "signature": sig, "signature hex": sig.hex().encode(), "sha256": digest,
            "sha256 hex": digest.hex().encode()}  # fmt: skip


def _haystack(rig: SimRig) -> list[Path]:
    """The files the hall keeps: logs in the work folder; on SQLite the database, its WAL and shm files."""
    files = [p for p in rig.workdir.iterdir() if p.suffix == ".log" or p.name.startswith("hallvote.db")]
    if rig.database_url.startswith("sqlite:///"):
        db = Path(rig.database_url.removeprefix("sqlite:///"))
        if db.parent != rig.workdir:
            files += [p for p in db.parent.iterdir() if p.name.startswith(db.name)]
    if rig.postgres is not None and rig.postgres.log.exists():
        files.append(rig.postgres.log)
    return sorted(files, key=lambda p: p.name)


def secret_scan(rig: SimRig, secret_motions: set[int]) -> dict[str, Any]:
    """Search every byte the hall keeps for the secret rounds' frames; check tables for ballot links.

    On PostgreSQL the haystack is the logs (the gateway's, the broker's, the server's); the cluster's data
    files are not searched (see docs/evidence.md)."""
    votes: list[tuple[str, bytes]] = []
    rig.sync()  # keypads in worker processes: every frame they sent is in their mirrors
    for kp in rig.keypads.values():
        for raw in dict.fromkeys(kp.sent):  # a retransmission is the same frame
            with _quiet():
                f = codec.decode(raw)
                if isinstance(f, frames.Vote) and f.motion_id in secret_motions:
                    votes.append((kp.device_id, raw))
    contents = {p.name: p.read_bytes() for p in _haystack(rig)}
    found, where = 0, []
    for dev, raw in votes:
        hits = [
            f"{kind} in {name}" for kind, n in _needles(raw).items() for name, b in contents.items() if n in b
        ]
        if hits:
            found += 1
            where.append(f"{dev}: {', '.join(hits)}")
    links = _table_links(rig, secret_motions)
    return {"frames": len(votes), "files": list(contents), "bytes": sum(len(b) for b in contents.values()),
            "found": found, "where": where, "table_links": links}  # fmt: skip


class _quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], Exception)  # type: ignore[arg-type]


def _table_links(rig: SimRig, secret_motions: set[int]) -> dict[str, int]:
    """Rows of a secret motion in a table that holds choices next to a member, seat or device."""
    out: dict[str, int] = {}
    marks = sorted(secret_motions) or [-1]
    engine = make_engine(rig.database_url)
    try:
        with engine.connect() as con:
            rounds = [r[0] for r in con.execute(text("select id from round where motion_id in :m").bindparams(
                bindparam("m", expanding=True)), {"m": marks})] or [-1]  # fmt: skip
            insp = inspect(con)
            tables = insp.get_table_names()
            for table in tables:
                cols = {c["name"] for c in insp.get_columns(table)}
                who = cols & {"member_id", "device_id", "seat_id", "seat", "member"}
                if not who or not ({"choices", "choice"} & cols):
                    continue
                col, keys = ("round_id", rounds) if "round_id" in cols else ("motion_id", marks)
                if col not in cols:
                    continue
                q = text(f'select count(*) from "{table}" where {col} in :k').bindparams(
                    bindparam("k", expanding=True)
                )
                out[table] = int(con.execute(q, {"k": keys}).scalar_one())
            out["secret_pending"] = (
                int(con.execute(text("select count(*) from secret_pending")).scalar_one())
                if "secret_pending" in tables
                else 0
            )
            named = 0
            for (payload,) in con.execute(
                text("select payload from audit_event where kind like 'vote.%' and payload like '%choices%'")
            ):
                with _quiet():
                    if int(json.loads(payload).get("motion", -1)) in secret_motions:
                        named += 1
            out["audit_event (choices)"] = named
    finally:
        engine.dispose()
    return out


def tamper_check(rig: SimRig, workdir: Path) -> dict[str, Any]:
    """Edit one audit record, delete another (on copies): ``hallvote audit verify`` must fail both."""
    results: dict[str, Any] = {}
    for how in ("edit", "delete"):
        url = _copy(rig, workdir, how)
        engine = make_engine(url)
        try:
            with engine.begin() as con:
                seq = con.execute(
                    text("select seq from audit_event order by seq limit 1 offset 5")
                ).scalar_one()
                if how == "edit":
                    con.execute(
                        text("update audit_event set actor = actor || 'x' where seq = :s"), {"s": seq}
                    )
                else:
                    con.execute(text("delete from audit_event where seq = :s"), {"s": seq})
        finally:
            engine.dispose()
        out = subprocess.run([HALLVOTE, "audit", "verify", "--db", url], capture_output=True,
                             text=True, timeout=300)  # fmt: skip
        results[how] = {"seq": seq, "exit": out.returncode, "detected": out.returncode == 1}
    return results


def _copy(rig: SimRig, workdir: Path, how: str) -> str:
    """A copy of the rig's database to tamper with: a SQLite backup, or a PostgreSQL database made from it."""
    if rig.postgres is not None:
        if rig.gateway is not None:
            rig.gateway.stop()  # a template database must have no other connection
        name = f"tamper_{how}"
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{rig.postgres.port}/postgres",
                             autocommit=True) as conn:  # fmt: skip
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "hallvote"')
        return rig.postgres.url(name)
    db = Path(rig.database_url.removeprefix("sqlite:///"))
    copy = workdir / f"tamper-{how}.db"
    src = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{copy}"


def _busy_answers(log: Path) -> int:
    """Frames the gateway answered BUSY because its store was away (from its log lines)."""
    found = re.findall(
        rb"store unavailable [^\n]*?: (\d+) frame\(s\) answered BUSY",
        log.read_bytes() if log.exists() else b"",
    )
    return sum(int(n) for n in found)


def run_case(
    case: Case, base: Scenario, workdir: Path, say: Callable[[str], None], processes: int = 1
) -> dict[str, Any]:
    rng = random.Random(f"{base.seed}-{case.name}")
    s = replace(base, faults=case.faults(base, rng), pause_s=0)
    p = plan(s)
    say(f"[{case.name}] {case.what}: {len(s.faults)} faults, {s.seats} keypads")
    spares = sum(f.keypads for f in s.faults if f.verb == "swap")
    rig = SimRig(workdir / case.name, s.seats, hall="evidence-hall", seed_value=s.seed, store=case.store,
                 spares=spares, processes=processes)  # fmt: skip
    try:
        rig.start()
        report = Runner(rig, p, speed=0.0, show_progress=False, say=lambda _m: None).run()
        secret = {mid for mid, m in zip(report.get("motion_ids", []), s.motions, strict=False) if m.secret}
        scan = secret_scan(rig, secret)
        tamper = tamper_check(rig, workdir / case.name)
        busy = _busy_answers(rig.workdir / "gateway.log")
        refused = rig.gateway.store_retries if rig.gateway is not None else 0
    finally:
        rig.close()
    expected = sum(st["expected"].get("voted", 0) for st in report["steps"] if st["step"] != "checkin")
    counted = sum(st["actual"].get("voted", 0) for st in report["steps"] if st["step"] != "checkin")
    lost = sum(
        max(0, st["expected"]["voted"] - st["actual"]["voted"])
        for st in report["steps"]
        if st["step"] != "checkin"
    )
    double = sum(
        max(0, st["actual"]["voted"] - st["expected"]["voted"])
        for st in report["steps"]
        if st["step"] != "checkin"
    )
    inv = {c["check"]: c["ok"] for c in report["invariants"]}
    return {
        "case": case.name,
        "what": case.what,
        "faults": dict(Counter(f["verb"] for f in report["faults"])),
        "presses": sum(len(v) for v in p.presses.values()) + len(p.checkins),
        "ballots_expected": expected,
        "ballots_counted": counted,
        "lost": lost,
        "double_counted": double,
        "shown_not_counted": sum(1 for k, ok in inv.items() if "shows recorded" in k and not ok),
        "results_match": all(st["match"] for st in report["steps"]),
        "memory_equals_store": all(ok for k, ok in inv.items() if k.startswith("memory")),
        "audit_intact": all(ok for k, ok in inv.items() if k.startswith("audit")),
        "repressed": report["repressed"],
        "busy": busy,
        "store_refused": refused,
        "secret_scan": scan,
        "tamper": tamper,
        "seconds": report["seconds"],
        "failed_checks": [c for c in report["invariants"] if not c["ok"]]
        + [
            {"check": st["step"], "detail": {"expected": st["expected"], "actual": st["actual"]}}
            for st in report["steps"]
            if not st["match"]
        ],
        "ok": report["ok"]
        and scan["found"] == 0
        and not any(scan["table_links"].values())
        and all(t["detected"] for t in tamper.values()),
    }


def guarded_case(
    case: Case, base: Scenario, workdir: Path, say: Callable[[str], None], processes: int = 1
) -> dict[str, Any]:
    """:func:`run_case`, or, when the case cannot finish (a rig that does not start, a verb that fails), a
    failed row naming the error: the other cases still run and the report is still written."""
    try:
        return run_case(case, base, workdir, say, processes)
    except Exception as e:  # any failure of one case is that case's failed row
        error = f"{type(e).__name__}: {e}"
        say(f"[{case.name}] did not finish: {error}")
        return {"case": case.name, "what": case.what, "error": error, "ok": False}


def run_evidence(
    *, scale: str = "county", keypads: int | None = None, cases: list[str] | None = None, workdir: Path,
    say: Callable[[str], None] = print, fuzz_examples: int = 1000, processes: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    if mosquitto_path() is None:
        raise EvidenceError("未找到 Mosquitto / Mosquitto was not found (apt-get install mosquitto)")
    base = load(scale)
    if keypads is not None and keypads != base.seats:
        base = resized(base, keypads)
    chosen = [c for c in CASES if cases is None or c.name in cases]
    if processes is None:
        processes = default_processes(base.seats)
    t0 = time.monotonic()
    rows = [guarded_case(c, base, workdir, say, processes) for c in chosen]
    attacks = attack_evidence(workdir=workdir, keypads=base.seats, cases=cases, fuzz_examples=fuzz_examples, say=say)
    return {
        "attacks": attacks,
        "scale": scale,
        "seats": base.seats,
        "processes": processes,
        "rows": rows,
        "seconds": round(time.monotonic() - t0),
        "machine": f"{platform.node()}: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "mosquitto": subprocess.run(
            [mosquitto_path() or "mosquitto", "-h"], capture_output=True, text=True
        ).stdout.splitlines()[0:1],
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "ok": all(r["ok"] for r in rows) and attacks["ok"],
    }


def render(report: dict[str, Any], command: str) -> str:
    rows = report["rows"]
    lines = [
        "# Evidence: faults injected, ballots kept secret, audit log tamper-evident",
        "",
        "Written by `hallvote evidence`; every row below comes from the run it describes. Do not edit by hand:",
        "run the command again.",
        "",
        f"* command: `{command}`",
        f"* machine: {report['machine']}",
        f"* broker: {' '.join(report['mosquitto']) or 'mosquitto'}",
        f"* when: {report['when']}; took {report['seconds']} s; scale: {report['scale']} ({report['seats']} keypads "
        "running the real keypad firmware, real Mosquitto, the real gateway process on SQLite, on a private "
        "PostgreSQL cluster where the case says so)",
        f"* overall: **{'all checks held' if report['ok'] else 'A CHECK FAILED'}**",
        "",
        "## Fault matrix",
        "",
        "Each case is a whole sitting (check-in and every motion of the scenario) with the faults injected at",
        "random shares of a phase's presses; expected results come from the scenario's model.",
        "",
        "| case | faults injected | presses | ballots expected | counted | lost | double counted "
        "| shown recorded, not counted | results = model | memory = store | audit chain | re-pressed "
        "| answered BUSY (store away) | chair/clerk calls answered 503 (store away) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['case']} ({r['what']}) | did not finish: `{r['error'][:300]}` |" + " - |" * 12)
            continue
        faults = ", ".join(f"{v}x {k}" for k, v in r["faults"].items())
        lines.append(
            f"| {r['case']} ({r['what']}) | {faults} | {r['presses']} | {r['ballots_expected']} | {r['ballots_counted']} "
            f"| {r['lost']} | {r['double_counted']} | {r['shown_not_counted']} | {'yes' if r['results_match'] else 'NO'} "
            f"| {'yes' if r['memory_equals_store'] else 'NO'} | {'intact' if r['audit_intact'] else 'BROKEN'} "
            f"| {r['repressed']} | {r.get('busy', 0)} | {r.get('store_refused', 0)} |"
        )
    done = [r for r in rows if "error" not in r]
    failed = [(r["case"], {"check": "did not finish", "detail": r["error"]}) for r in rows if "error" in r]
    failed += [(r["case"], c) for r in done for c in r["failed_checks"]]
    failed += [
        (r["case"], {"check": "secret-ballot scan", "detail": w})
        for r in done
        for w in r["secret_scan"]["where"]
    ]
    if failed:
        lines += ["", "Failed checks:", ""]
        lines += [f"* {case}: {c['check']}: `{str(c.get('detail'))[:400]}`" for case, c in failed]
    lines += [
        "",
        "## Secret-ballot scan (after every secret round closed)",
        "",
        "Needles per secret vote frame a keypad sent: the frame, its signature, its SHA-256 (raw and hex).",
        "Haystack: the raw bytes of the database file, its WAL and shared-memory files (every table and free",
        "page), the gateway's log and the broker's log. Tables: rows of a secret motion holding choices next",
        "to a member, seat or device; pending secret rows; audit events carrying a secret motion's choices.",
        "",
        "| case | secret frames | files | bytes scanned | frames found | table rows linking voter and choice |",
        "|---|---|---|---|---|---|",
    ]
    for r in done:
        sc = r["secret_scan"]
        links = sum(sc["table_links"].values())
        lines.append(
            f"| {r['case']} | {sc['frames']} | {', '.join(sc['files'])} | {sc['bytes']} | {sc['found']} | {links} |"
        )
    lines += [
        "",
        "## Audit tamper check (on copies of each case's database)",
        "",
        "| case | record edited: detected | record deleted: detected |",
        "|---|---|---|",
    ]
    for r in done:
        t = r["tamper"]
        lines.append(
            f"| {r['case']} | seq {t['edit']['seq']}: {'yes' if t['edit']['detected'] else 'NO'} (exit {t['edit']['exit']}) "
            f"| seq {t['delete']['seq']}: {'yes' if t['delete']['detected'] else 'NO'} (exit {t['delete']['exit']}) |"
        )
    lines += render_attacks(report.get("attacks"))
    lines += [
        "",
        "## Not covered by this command yet",
        "",
        "On PostgreSQL (db-unreachable, disk-full-pg) the secret-ballot scan searches the logs (the gateway's, the",
        "broker's, the server's) and the tables, not the cluster's data files.",
        "",
    ]
    return "\n".join(lines)
