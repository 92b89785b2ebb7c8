"""A simulated 8-hour day of a hall, on a virtual clock, sampling the gateway's memory.

    python -m hil.bench.day [--keypads 3000] [--hours 8] [--heartbeat-s 30] [--rounds 8]
                            [--db sqlite|postgresql] [--sample-min 10] [--json-file day.json]

Drives the real gateway service (:class:`gateway.service.Gateway`: the pure
core, the store's batched writes, the audit trail, pruning of old frames) on
a real SQLite file (or PostgreSQL) in one process, the way the broker bridge
does: frames are handed to ``handle_batch`` in batches of 256, ``tick()``
runs once per heartbeat period.  The day: check-in of every keypad (each
check-in sent twice, the second a retransmission), then every keypad sends
a status frame every ``--heartbeat-s`` of simulated time, and ``--rounds``
rounds spread over the day (named and secret in turn, last press counts;
every keypad presses, one in ten presses twice and retransmits once), each
closed and announced.

What it skips, said plainly: signatures are **not verified**.  Every frame
carries the same 64 zero bytes as its signature and the gateway is built
with a verifier that accepts anything (:func:`skip_verify`), since signing
and verifying 2.9 million frames would take an hour and are not what is
measured.  No broker: the acks are encoded but not published.

Reports, as JSON: RSS (``VmRSS`` of this process) at start (after seeding
and loading), its maximum and at the end, a sample every ``--sample-min``
simulated minutes with the replay windows' sizes (keypads, accepted
counters, whole answers held) and the ``accepted_frame`` rows, and the
frames sent and answered by kind.  A measuring tool, not a test: nothing is
asserted.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))  # the test fixtures' seeding helpers (hvtest)

BATCH = 256
ZERO_SIGNATURE = bytes(64)
_REPLY = {0x41: "ack", 0x42: "nack"}


def skip_verify(public_key: bytes, region: bytes, signature: bytes) -> None:
    """Accepts every signature: this bench does not measure signature checks (see the module docstring)."""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _sign(region: bytes) -> bytes:
    return ZERO_SIGNATURE


def _seed(url: str, n: int) -> tuple[str, int]:
    from hvtest.seed import seed_hall

    from gateway.db import make_engine

    engine = make_engine(url)
    hall = seed_hall(engine, members=n)
    engine.dispose()
    return hall.hall_id, hall.sitting_id


def _window_sizes(windows: Any) -> dict[str, int]:
    """Accepted counters and whole answers held, over every replay window.

    Also reads the layout before the digest ring (``accepted``: a dict of
    whole answers), so this command can measure a checkout from before it.
    """
    counters = held = 0
    for w in windows:
        if isinstance(w.accepted, dict):
            counters += len(w.accepted)
            held += len(w.accepted)
        else:
            counters += len(w.accepted())
            held += len(w.records)
    return {"replay_counters": counters, "replay_answers_held": held}


def run(args: argparse.Namespace, log: Any = print) -> dict[str, Any]:
    from hvtest.seed import add_motion
    from sqlalchemy import func, select

    from gateway.audit import AuditLog
    from gateway.core.decide import Inbound
    from gateway.db import init_db, make_engine
    from gateway.service import Gateway
    from gateway.store import tables as t
    from hil.bench.store import database
    from protocol import codec, consts, frames

    n = args.keypads
    period = args.heartbeat_s
    ticks = int(args.hours * 3600 / period)
    sample_every = max(1, int(args.sample_min * 60 / period))
    round_every = max(1, ticks // (args.rounds + 1)) if args.rounds else 0
    out: dict[str, Any] = {
        "keypads": n,
        "hours": args.hours,
        "heartbeat_s": period,
        "db": args.db,
        "signatures": "not verified: dummy signatures, a verifier that accepts all (hil.bench.day.skip_verify)",
    }
    sent: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    now = [1_800_000_000.0]
    counters = [0] * (n + 1)

    with database(args.db) as url:
        engine = make_engine(url)
        init_db(engine)
        log(f"seeding {n} keypads (in a child process: its garbage is not this process's RSS)")
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            hall_id, sid = pool.submit(_seed, url, n).result()
        gw = Gateway(engine, hall_id, verify=skip_verify, clock=lambda: now[0], audit_log=AuditLog(engine))

        def frame(i: int, make: Any) -> Inbound:
            counters[i] += 1
            payload = codec.seal(make(f"kp-{i}", counters[i]), _sign)
            return Inbound(f"kp-{i}", "up", payload, now[0])

        def feed(inbounds: list[Inbound], kind: str) -> None:
            for k in range(0, len(inbounds), BATCH):
                for o in gw.handle_batch(inbounds[k : k + BATCH]):
                    if o.topic.endswith("/down"):  # ack / nack: version, type, counter u32, reason u8
                        answered[f"{kind} {_REPLY.get(o.payload[1], '?')} {o.payload[6]:#04x}"] += 1
            sent[kind] += len(inbounds)

        def _status(dev: str, c: int) -> Any:
            return frames.Status(dev, c, (1, 2, 0), 3600, 88, -60, 72_000)

        # A keypad's status frames differ only in the counter: one encoded template per keypad.
        templates = {i: codec.seal(_status(f"kp-{i}", 1), _sign) for i in range(1, n + 1)}

        def status(i: int) -> Inbound:
            counters[i] += 1
            tpl, at = templates[i], 3 + templates[i][2]
            payload = tpl[:at] + counters[i].to_bytes(4, "big") + tpl[at + 4 :]
            return Inbound(f"kp-{i}", "status", payload, now[0])

        samples: list[dict[str, Any]] = []

        def sample(tick: int) -> None:
            windows = gw.state.replay.values()
            with engine.connect() as conn:
                rows = conn.execute(select(func.count()).select_from(t.accepted)).scalar_one()
            samples.append(
                {
                    "sim_min": round(tick * period / 60),
                    "rss_mb": rss_mb(),
                    "replay_keypads": len(gw.state.replay),
                    **_window_sizes(windows),
                    "accepted_frame_rows": rows,
                }
            )
            log(f"t={samples[-1]['sim_min']:4d} min  rss {samples[-1]['rss_mb']} MB  {samples[-1]}")

        gc.collect()
        out["rss_mb_loaded"] = rss_mb()
        started = time.perf_counter()
        cpu0 = time.process_time()
        gw.open_checkin("chair")
        nonce = gw.sitting.nonce  # type: ignore[union-attr]
        checkins = [frame(i, lambda d, c: frames.CheckIn(d, c, sid, nonce, b"")) for i in range(1, n + 1)]
        feed(checkins, "check-in")
        feed(checkins, "check-in retransmission")
        gw.start_session("chair")
        sample(0)
        start_rss = samples[0]["rss_mb"]
        rounds_done = 0
        for tick in range(1, ticks + 1):
            now[0] += period
            feed([status(i) for i in range(1, n + 1)], "status")
            if round_every and tick % round_every == 0 and rounds_done < args.rounds:
                rounds_done += 1
                secret = rounds_done % 2 == 0
                motion = add_motion(
                    engine, sid, title=f"议案 {rounds_done}", secret=secret, press_policy=consts.LAST_PRESS
                )
                key = gw.add_motion(motion, "clerk")
                gw.open_round(key, "chair")
                rn = gw.sitting.rounds[key].nonce  # type: ignore[union-attr]
                kind = "secret vote" if secret else "named vote"

                def vote(i: int, choice: int, key: Any = key, rn: bytes = rn) -> Inbound:
                    return frame(
                        i,
                        lambda d, c: frames.Vote(d, c, key[0], key[1], rn, consts.YES_NO_ABSTAIN, (choice,)),
                    )

                presses = [vote(i, 1 + (i + rounds_done) % 3) for i in range(1, n + 1)]
                again = [vote(i, 1 + (i + rounds_done + 1) % 3) for i in range(1, n + 1, 10)]
                feed(presses, kind)
                feed(again, kind + " change")
                feed(again, kind + " retransmission")
                gw.close_round(key, "chair")
                gw.announce_round(key, "chair")
            gw.tick()
            if tick % sample_every == 0 or tick == ticks:
                sample(tick)
        out["wall_s"] = round(time.perf_counter() - started, 1)
        out["cpu_s"] = round(time.process_time() - cpu0, 1)
        gw.close()
        engine.dispose()
    out["frames_sent"] = dict(sent)
    out["answers"] = dict(sorted(answered.items()))
    out["rss_mb_start"] = start_rss
    out["rss_mb_max"] = max(s["rss_mb"] for s in samples)
    out["rss_mb_end"] = samples[-1]["rss_mb"]
    out["samples"] = samples
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hil.bench.day", description=__doc__.split("\n")[0])
    p.add_argument("--keypads", type=int, default=3000)
    p.add_argument("--hours", type=float, default=8.0)
    p.add_argument("--heartbeat-s", type=float, default=30.0)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--sample-min", type=float, default=10.0)
    p.add_argument("--json-file", type=Path)
    args = p.parse_args(argv)
    report = run(args, log=lambda line: print(line, file=sys.stderr))
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if args.json_file:
        args.json_file.write_text(text + "\n")
    summary = {k: v for k, v in report.items() if k != "samples"}
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
