"""Benchmarks of the gateway's store path, on a real SQLite file or a real PostgreSQL database.

    python -m hil.bench.store ack-latency  [--db sqlite|postgresql] [--members 300] [--presses 10]
                                           [--batch 32] [--writers 100] [--json]
    python -m hil.bench.store secret-close [--db sqlite|postgresql] [--frames 500000] [--members 300]
                                           [--closes 5] [--json]

``ack-latency``: a burst of ``members * presses`` signed presses handed to
``Gateway.handle_batch`` in batches (as the broker bridge does), timed per
batch (the time a keypad's ack waits for its decision to be durable), once
alone and once while ``writers`` threads keep adding seats through the real
FastAPI app (in-process client) until the burst ends.  Reports p50 / p95 /
p99 / max per batch, the ratio with/without, and how many API writes
succeeded or failed.

``secret-close``: a day's traffic in ``accepted_frame`` (``frames`` rows of
heartbeats and votes), then ``closes`` secret rounds of ``members``
presses each are closed; reports the time of each close (commit, and the
purge until it completed).

Measuring tools, not tests: the figures are reported, never asserted.
PostgreSQL runs on a throw-away database on ``HALLVOTE_TEST_PG`` (default
``postgresql://postgres@127.0.0.1:5432/test``), dropped afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))  # the test fixtures' seeding helpers (hvtest)


@contextlib.contextmanager
def database(backend: str) -> Iterator[str]:
    from hvtest.databases import postgres_database, sqlite_url

    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="hallvote-bench-") as tmp:
            yield sqlite_url(Path(tmp))
    else:
        yield from postgres_database()


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(samples_s: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(pct(ms, 0.95), 2),
        "p99_ms": round(pct(ms, 0.99), 2),
        "max_ms": round(max(ms), 2),
    }


# ---------------------------------------------------------------- ack latency


def ack_latency(args: argparse.Namespace) -> dict[str, Any]:
    from fastapi.testclient import TestClient
    from hvtest.seed import add_motion, seed_hall

    from gateway.api import create_app
    from gateway.audit import AuditLog
    from gateway.config.settings import GatewaySettings
    from gateway.core.decide import Inbound
    from gateway.db import init_db, make_engine
    from gateway.service import Gateway
    from protocol import codec, consts, frames

    token = "bench-technician-token"
    import hashlib

    settings_users = [
        {"name": "技术员", "role": "technician", "token_sha256": hashlib.sha256(token.encode()).hexdigest()}
    ]
    out: dict[str, Any] = {
        "db": args.db,
        "members": args.members,
        "presses": args.presses,
        "batch": args.batch,
    }
    with database(args.db) as url:
        engine = make_engine(url)
        init_db(engine)
        hall = seed_hall(engine, members=args.members)
        audit = AuditLog(engine)
        gw = Gateway(engine, hall.hall_id, audit_log=audit)
        settings = GatewaySettings(hall_id=hall.hall_id, broker={"password": "unused"}, users=settings_users)
        app = create_app(gw, settings, audit=audit, heartbeat_s=5)
        gw.open_checkin("chair")
        nonce = gw.sitting.nonce  # type: ignore[union-attr]
        ins = [
            Inbound(f"kp-{i}", "up", hall.kp(i).check_in(hall.sitting_id, nonce), 1.0)
            for i in range(1, args.members + 1)
        ]
        for i in range(0, len(ins), args.batch):
            gw.handle_batch(ins[i : i + args.batch])
        gw.start_session("chair")

        def burst(label: str) -> tuple[list[float], int]:
            motion = add_motion(
                engine, hall.sitting_id, title=label, secret=False, press_policy=consts.LAST_PRESS
            )
            key = gw.add_motion(motion, "clerk")
            gw.open_round(key, "chair")
            rn = gw.sitting.rounds[key].nonce  # type: ignore[union-attr]
            presses = [
                Inbound(f"kp-{i}", "up", hall.kp(i).vote(key[0], 1, rn, ((p % 3) + 1,)), 2.0)
                for p in range(args.presses)
                for i in range(1, args.members + 1)
            ]
            times: list[float] = []
            acked = 0
            for i in range(0, len(presses), args.batch):
                t0 = time.perf_counter()
                result = gw.handle_batch(presses[i : i + args.batch])
                times.append(time.perf_counter() - t0)
                acked += sum(
                    isinstance(codec.decode(o.payload), frames.Ack)
                    for o in result
                    if o.topic.endswith("/down")
                )
            gw.close_round(key, "chair")
            return times, acked

        alone, acked_alone = burst("无 API 写入 / without API writes")
        done = threading.Event()
        statuses: list[int] = []
        labels = iter(range(1_000_000))
        lock = threading.Lock()
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(app) as client:

            def writer() -> None:
                while not done.is_set():
                    with lock:
                        n = next(labels)
                    body = {"label": f"W{n}", "row": 100 + n // 100, "col": n % 100 + 1}
                    r = client.post(f"/api/v1/halls/{hall.hall_id}/seats", json=body, headers=headers)
                    with lock:
                        statuses.append(r.status_code)

            with ThreadPoolExecutor(args.writers) as pool:
                futures = [pool.submit(writer) for _ in range(args.writers)]
                time.sleep(0.2)
                busy, acked_busy = burst("有 API 写入 / with API writes")
                done.set()
                for f in futures:
                    f.result()
        gw.close()
        engine.dispose()
    out["without_api"] = {**summary(alone), "acked": acked_alone}
    out["with_api"] = {**summary(busy), "acked": acked_busy}
    out["api_writes"] = {"ok": statuses.count(201), "failed": len(statuses) - statuses.count(201)}
    out["ratio_p50"] = round(out["with_api"]["p50_ms"] / out["without_api"]["p50_ms"], 2)
    out["ratio_p99"] = round(out["with_api"]["p99_ms"] / out["without_api"]["p99_ms"], 2)
    return out


# ---------------------------------------------------------------- secret close


def secret_close(args: argparse.Namespace) -> dict[str, Any]:
    from hvtest.seed import add_motion, seed_hall
    from sqlalchemy import func, insert, select

    from gateway.audit import AuditLog
    from gateway.core.decide import Inbound
    from gateway.db import init_db, make_engine
    from gateway.service import Gateway
    from gateway.store import tables as t
    from protocol import consts

    out: dict[str, Any] = {"db": args.db, "frames": args.frames, "members": args.members}
    with database(args.db) as url:
        engine = make_engine(url)
        init_db(engine)
        hall = seed_hall(engine, members=args.members)
        # A day's traffic: heartbeats (status frames) and votes of earlier rounds, spread over the keypads.
        rows = []
        per = max(1, args.frames // args.members)
        for i in range(1, args.members + 1):
            for c in range(per):
                ftype = consts.VOTE if c % 10 == 0 else consts.STATUS
                rows.append(
                    {
                        "device_id": f"kp-{i}",
                        "counter": 10_000_000 + c,
                        "frame_type": ftype,
                        "reason": 0,
                        "ref_id": 0,
                        "round": 0,
                        "digest": None,
                    }
                )
        with engine.begin() as conn:
            for i in range(0, len(rows), 20_000):
                conn.execute(insert(t.accepted), rows[i : i + 20_000])
        del rows
        for i in range(1, args.members + 1):  # the keypads go on counting after the day's frames
            hall.kp(i).counter = 10_000_000 + per
        audit = AuditLog(engine)
        gw = Gateway(engine, hall.hall_id, audit_log=audit)
        with engine.connect() as conn:
            out["accepted_frame_rows_before"] = conn.execute(
                select(func.count()).select_from(t.accepted)
            ).scalar()
        gw.open_checkin("chair")
        nonce = gw.sitting.nonce  # type: ignore[union-attr]
        ins = [
            Inbound(f"kp-{i}", "up", hall.kp(i).check_in(hall.sitting_id, nonce), 1.0)
            for i in range(1, args.members + 1)
        ]
        gw.handle_batch(ins)
        gw.start_session("chair")
        closes: list[float] = []
        for n in range(args.closes):
            motion = add_motion(
                engine, hall.sitting_id, title=f"无记名 {n}", secret=True, press_policy=consts.LAST_PRESS
            )
            key = gw.add_motion(motion, "clerk")
            gw.open_round(key, "chair")
            rn = gw.sitting.rounds[key].nonce  # type: ignore[union-attr]
            gw.handle_batch(
                [
                    Inbound(f"kp-{i}", "up", hall.kp(i).vote(key[0], 1, rn, ((i % 3) + 1,)), 2.0)
                    for i in range(1, args.members + 1)
                ]
            )
            t0 = time.perf_counter()
            gw.close_round(key, "chair")
            while gw.purge_pending:
                gw.retry_purge()
            closes.append(time.perf_counter() - t0)
        with engine.connect() as conn:
            out["accepted_frame_rows_after"] = conn.execute(
                select(func.count()).select_from(t.accepted)
            ).scalar()
        gw.close()
        engine.dispose()
    out["close"] = summary(closes)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hil.bench.store", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    a = sub.add_parser("ack-latency")
    a.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    a.add_argument("--members", type=int, default=300)
    a.add_argument("--presses", type=int, default=10)
    a.add_argument("--batch", type=int, default=32)
    a.add_argument("--writers", type=int, default=100)
    a.add_argument("--json", action="store_true")
    c = sub.add_parser("secret-close")
    c.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    c.add_argument("--frames", type=int, default=500_000)
    c.add_argument("--members", type=int, default=300)
    c.add_argument("--closes", type=int, default=5)
    c.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = ack_latency(args) if args.what == "ack-latency" else secret_close(args)
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
