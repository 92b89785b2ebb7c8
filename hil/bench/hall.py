"""``hallvote bench``: a whole hall under load, measured against a bare MQTT echo in the same run.

    hallvote bench --keypads 3000 [--database sqlite|postgresql] [--json] [--png FILE]

Stands up the hall's generated Mosquitto (TLS, an account per keypad,
limits for N seats), a seeded database and the real gateway process
(``hallvote gateway run``), connects N keypads as an external fleet
(:mod:`hil.bench.fleet`: TLS, own account, frames signed beforehand, the
firmware's retransmission timers), and runs, in order:

``echo``
    the baseline: the same fleet against a bare paho QoS 1 echo on the
    gateway's account (:mod:`hil.bench.echo`), a burst of N presses within
    ``--burst-s`` and ``--sustain-s`` seconds with ``--inflight`` presses in
    flight;
``checkin``
    the chair opens check-in; all N check in within ``--burst-s``;
``vote_burst``
    a named round; all N press within ``--burst-s``; then the chair closes
    (close -> final result readable from the API) and announces (announce
    -> the retained result broadcast at every keypad);
``sustained``
    ``--inflight`` presses in flight for ``--sustain-s`` seconds (last press
    counts: every press is a durable change);
``close_in_flight``
    all N press within ``--burst-s``; the chair closes ``--close-after-s``
    after the last press was sent, while answers are still coming: how many
    presses were refused ``ROUND_CLOSED``;
``gateway_down``
    the gateway is killed (SIGKILL) during a burst and restarted after
    ``--down-s`` seconds; every press must still be answered;
``broker_restart``
    Mosquitto restarts; every keypad and the gateway reconnect and a full
    round is pressed: time from the restart until every press is answered.

Measured: press->answer p50/p95/p99/max per scenario (from the first send,
retransmissions included), durable votes per second and their ratio to the
echo, messages Mosquitto dropped (``$SYS/broker/publish/messages/dropped``),
refused-at-close, close->result latency, gateway CPU per vote (user+system
of the gateway process over the vote scenarios) and its peak RSS.  Finally
the invariants are checked against the database: every acked vote is
stored once, counts add up, the audit chain verifies.  Figures are
reported, never asserted (the machine may be loaded): compare ratios to the
echo of the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.broker import config as bc
from protocol import consts, frames, reasons

from . import report
from .fleet import Fleet, Keypad, Press
from .stage import BENCH_USER, TOKENS, Broker, Proc, free_port, hallvote_exe, seed, write_hall_toml

__all__ = ["SCENARIOS", "Options", "run"]

HALL = "bench-hall"
SCENARIOS = ("checkin", "vote_burst", "sustained", "close_in_flight", "gateway_down", "broker_restart")
MOTION = {
    "ballot_kind": consts.YES_NO_ABSTAIN,
    "secret": False,
    "press_policy": consts.LAST_PRESS,
    "passing_rule": {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
}
CHOICES = (consts.YES, consts.NO, consts.ABSTAIN)


@dataclass
class Options:
    keypads: int = 200
    database: str = "sqlite"  # or "postgresql"
    postgres_server: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    database_url: str | None = None  # an existing empty database instead (not created nor dropped)
    burst_s: float = 1.0
    sustain_s: float = 10.0
    inflight: int = 500
    close_after_s: float = 1.0
    down_s: float = 3.0
    scenarios: tuple[str, ...] = SCENARIOS
    echo: bool = True
    workdir: Path | None = None
    keep: bool = False
    png: Path | None = None
    timeout_s: float = 180.0
    log: Callable[[str], None] = lambda line: None


class _DropWatch:
    """``$SYS/broker/publish/messages/dropped`` of the running broker, summed over its restarts."""

    def __init__(self, broker: Broker) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self._lock = threading.Lock()
        self._base = 0
        self._last = 0
        self.seen = threading.Event()
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=BENCH_USER, protocol=paho.MQTTv311)
        c.username_pw_set(BENCH_USER, broker.bench_password)
        c.on_connect = lambda client, *_: client.subscribe("$SYS/broker/publish/messages/dropped", 0)
        c.on_message = self._on_message
        c.reconnect_delay_set(1, 2)
        c.connect_async("127.0.0.1", broker.local_port, keepalive=30)
        c.loop_start()
        self._client = c

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        try:
            value = int(msg.payload)
        except ValueError:
            return
        with self._lock:
            if value < self._last:  # the broker restarted: its counters begin again
                self._base += self._last
            self._last = value
        self.seen.set()

    def total(self) -> int:
        with self._lock:
            return self._base + self._last

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class Bench:
    def __init__(self, opts: Options) -> None:
        self.o = opts
        self.n = opts.keypads
        self.report: dict[str, Any] = {
            "keypads": self.n,
            "database": opts.database,
            "machine": report.machine(),
            "options": {
                "burst_s": opts.burst_s,
                "sustain_s": opts.sustain_s,
                "inflight": min(opts.inflight, self.n),
                "close_after_s": opts.close_after_s,
                "down_s": opts.down_s,
            },
            "echo": {},
            "scenarios": {},
            "summary": {},
            "invariants": {},
        }
        self.latencies: dict[str, list[float]] = {}
        self.rounds: dict[str, tuple[int, int]] = {}  # scenario -> (motion id, round)
        self.accepted_votes: dict[int, set[str]] = {}  # motion id -> devices with an accepted vote
        self.vote_cpu = 0.0
        self.votes_durable = 0

    # ------------------------------------------------------------ stage

    async def setup(self) -> None:
        o = self.o
        self.workdir = o.workdir or Path(tempfile.mkdtemp(prefix="hallvote-bench-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        devices = [f"kp-{i}" for i in range(1, self.n + 1)]
        o.log(f"generating the broker configuration and {self.n} keypad keys in {self.workdir}")
        self.broker = Broker(self.workdir, HALL, devices, seats=self.n)
        await asyncio.to_thread(self.broker.write)
        self.report["broker_limits"] = {
            k: v for k, v in vars(self.broker.config.settings.limits).items() if k != "seats"
        }
        keys = {d: ec.generate_private_key(ec.SECP256R1()) for d in devices}
        self.database_url = await asyncio.to_thread(self._database)
        self.fleet = Fleet(
            hall=HALL,
            host="127.0.0.1",
            port=self.broker.port,
            ca_file=self.broker.ca_file,
            accounts={d: self.broker.password(d) for d in devices},
            keys=keys,
        )
        seeded = await asyncio.to_thread(
            seed, self.database_url, HALL, {d: kp.public_key for d, kp in self.fleet.keypads.items()}
        )
        self.sitting_id = seeded.sitting_id
        self.broker.start()
        self.drops = _DropWatch(self.broker)
        o.log(f"connecting {self.n} keypads over TLS")
        t0 = time.monotonic()
        await self.fleet.start(timeout=o.timeout_s)
        self.report["fleet_connect_s"] = round(time.monotonic() - t0, 2)
        self.api_port = free_port()
        config = write_hall_toml(
            self.workdir / "hall.toml",
            hall=HALL,
            database_url=self.database_url,
            broker=self.broker,
            api_port=self.api_port,
        )
        self.gateway = Proc(
            [*hallvote_exe(), "gateway", "run", "--config", str(config), "--log-level", "warning"],
            self.workdir / "gateway.log",
        )
        self.api = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.api_port}/api/v1", timeout=60.0)

    def _database(self) -> str:
        if self.o.database_url is not None:
            return self.o.database_url
        if self.o.database == "sqlite":
            return f"sqlite:///{self.workdir / 'hallvote.db'}"
        if self.o.database != "postgresql":
            raise ValueError("database must be sqlite or postgresql")
        import psycopg
        from psycopg import sql
        from sqlalchemy.engine import make_url

        server = make_url(self.o.postgres_server)
        self.pg_name = f"hallvote_bench_{random.randrange(16**8):08x}"
        with psycopg.connect(
            server.set(drivername="postgresql").render_as_string(False), autocommit=True
        ) as c:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.pg_name)))
        return server.set(drivername="postgresql+psycopg", database=self.pg_name).render_as_string(False)

    async def teardown(self) -> None:
        with contextlib.suppress(Exception):
            await self.fleet.stop()
        with contextlib.suppress(Exception):
            await self.api.aclose()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.gateway.stop)
        with contextlib.suppress(Exception):
            self.drops.close()
        with contextlib.suppress(Exception):
            self.broker.stop()
        if getattr(self, "pg_name", None):
            import psycopg
            from psycopg import sql
            from sqlalchemy.engine import make_url

            server = make_url(self.o.postgres_server).set(drivername="postgresql")
            with (
                contextlib.suppress(Exception),
                psycopg.connect(server.render_as_string(False), autocommit=True) as c,
            ):
                c.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.pg_name))
                )
        if not self.o.keep and self.o.workdir is None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    async def start_gateway(self) -> None:
        await asyncio.to_thread(self.gateway.start)
        end = time.monotonic() + self.o.timeout_s
        while time.monotonic() < end:
            if not self.gateway.alive():
                raise RuntimeError(f"gateway exited:\n{self.gateway.log.read_text(errors='replace')[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await self.api.get("/health", timeout=2.0)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
        raise TimeoutError("the gateway's API did not come up")

    async def call(self, method: str, path: str, role: str = "chair", **kw: Any) -> httpx.Response:
        r = await self.api.request(method, path, headers={"Authorization": f"Bearer {TOKENS[role]}"}, **kw)
        if r.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r

    # ------------------------------------------------------------ helpers

    def _wait(self, pred: Callable[[], bool], what: str) -> Any:
        return self.fleet.wait(pred, self.o.timeout_s, what)

    async def _answered(self, presses: list[Press], what: str) -> None:
        await self._wait(lambda: all(p.answered_at is not None for p in presses), what)

    def _drops_now(self) -> int:
        return self.drops.total()

    async def _drops_since(self, before: int) -> int:
        await asyncio.sleep(1.2)  # $SYS is published every second
        return self._drops_now() - before

    def _record(self, name: str, presses: list[Press], **extra: Any) -> dict[str, Any]:
        stats = report.latency_stats(presses) | extra
        self.report["scenarios"][name] = stats
        self.latencies[name] = [p.latency * 1000 for p in presses if p.latency is not None]
        self.o.log(f"{name}: p50 {stats['p50_ms']} ms, p99 {stats['p99_ms']} ms, {stats['replies']}")
        return stats

    def _votes(self, motion: int, rnd: int, nonce: bytes, keypads: list[Keypad] | None = None) -> list[Press]:
        def vote(device_id: str, counter: int) -> frames.Uplink:
            # The choice follows the counter, so a keypad's next press always changes its vote.
            choice = CHOICES[counter % len(CHOICES)]
            return frames.Vote(device_id, counter, motion, rnd, nonce, consts.YES_NO_ABSTAIN, (choice,))

        return [kp.seal(vote) for kp in (keypads or list(self.fleet.keypads.values()))]

    def _note_accepted(self, motion: int, presses: list[Press]) -> None:
        for p in presses:
            # ALREADY_RECORDED: committed before a crash took the first ack; the retransmission is re-acked.
            if isinstance(p.reply, frames.Ack):
                self.accepted_votes.setdefault(motion, set()).add(p.device_id)

    async def open_motion(self, title: str) -> tuple[int, bytes]:
        created = await self.call(
            "POST", f"/sittings/{self.sitting_id}/motions", role="clerk", json={**MOTION, "title": title}
        )
        motion = int(created.json()["id"])
        await self.call("POST", f"/motions/{motion}/rounds/1/open")
        await self._wait(
            lambda: all(
                kp.motion is not None and kp.motion.motion_id == motion
                for kp in self.fleet.keypads.values()
            ),
            f"motion {motion} open at every keypad",
        )
        first = next(iter(self.fleet.keypads.values())).motion
        return motion, first.round_nonce

    # ------------------------------------------------------------ the echo baseline

    async def echo(self) -> None:
        o = self.o
        pw = self.workdir / "echo.password"
        pw.write_text(self.broker.password(bc.GATEWAY_USER))
        ready = self.workdir / "echo.ready"
        import sys

        echo = Proc(
            [
                sys.executable,
                "-m",
                "hil.bench.echo",
                "--hall",
                HALL,
                "--port",
                str(self.broker.local_port),
                "--username",
                bc.GATEWAY_USER,
                "--password-file",
                str(pw),
                "--ready-file",
                str(ready),
            ],
            self.workdir / "echo.log",
        )
        await asyncio.to_thread(echo.start)
        try:
            await self._wait(ready.exists, "the echo subscribed")
            nonce = b"\x00" * consts.NONCE_LEN
            drops = self._drops_now()
            cpu0 = echo.cpu()
            burst = self._votes(999999, 1, nonce)
            await self.fleet.send_spread(burst, o.burst_s)
            await self._answered(burst, "echo burst answered")
            stats = report.latency_stats(burst)
            stats["broker_dropped"] = await self._drops_since(drops)
            self.report["echo"]["burst"] = stats
            self.latencies["echo burst"] = [p.latency * 1000 for p in burst if p.latency is not None]
            sustained, per_s = await self._closed_loop(lambda kps: self._votes(999999, 1, nonce, kps))
            self.report["echo"]["sustained"] = report.latency_stats(sustained) | {"per_s": per_s}
            msgs = len(burst) + len(sustained)
            self.report["echo"]["cpu_ms_per_message"] = round((echo.cpu() - cpu0) * 1000 / max(msgs, 1), 3)
            o.log(f"echo: burst p99 {stats['p99_ms']} ms, sustained {per_s}/s")
        finally:
            await asyncio.to_thread(echo.stop)

    async def _closed_loop(self, make: Callable[[list[Keypad]], list[Press]]) -> tuple[list[Press], float]:
        """Keep ``inflight`` presses unanswered for ``sustain_s`` s, one per keypad at a time; answers/s."""
        o = self.o
        width = max(1, min(o.inflight, self.n))
        kps = list(self.fleet.keypads.values())
        stock = {kp.device_id: make([kp] * 4) for kp in kps}  # signed before the clock starts
        busy: dict[str, Press] = {}
        idle = list(kps)
        random.shuffle(idle)
        done: list[Press] = []
        start = time.monotonic()
        end = start + o.sustain_s
        answered_in_window = 0
        while time.monotonic() < end:
            for dev, p in list(busy.items()):
                if p.answered_at is not None:
                    del busy[dev]
                    done.append(p)
                    answered_in_window += 1
                    idle.append(self.fleet.keypads[dev])
            while len(busy) < width and idle:
                kp = idle.pop(0)
                queue = stock[kp.device_id]
                p = queue.pop(0) if queue else make([kp])[0]
                busy[kp.device_id] = p
                kp.send(p)
            await asyncio.sleep(0.002)
        elapsed = time.monotonic() - start
        tail = list(busy.values())
        await self._answered(tail, "the sustained tail answered")
        return done + tail, round(answered_in_window / elapsed, 1)

    # ------------------------------------------------------------ scenarios

    async def checkin(self) -> None:
        drops = self._drops_now()
        b0 = self.fleet.broadcasts
        await self.call("POST", f"/sittings/{self.sitting_id}/checkin/open")
        await self._wait(
            lambda: all(
                kp.sitting is not None and kp.sitting.state == consts.SITTING_CHECKIN_OPEN
                for kp in self.fleet.keypads.values()
            ),
            "check-in open at every keypad",
        )
        nonces = {
            d: kp.sitting.sitting_nonce for d, kp in self.fleet.keypads.items() if kp.sitting is not None
        }

        def checkin(device_id: str, counter: int) -> frames.Uplink:
            return frames.CheckIn(device_id, counter, self.sitting_id, nonces[device_id])

        presses = [kp.seal(checkin) for kp in self.fleet.keypads.values()]
        await self.fleet.send_spread(presses, self.o.burst_s)
        await self._answered(presses, "every check-in answered")
        self._record(
            "checkin",
            presses,
            broker_dropped=await self._drops_since(drops),
            broadcasts_received=self.fleet.broadcasts - b0,
        )
        await self.call("POST", f"/sittings/{self.sitting_id}/start")

    async def vote_burst(self) -> None:
        motion, nonce = await self.open_motion("基准：表决高峰 / benchmark: vote burst")
        self.rounds["vote_burst"] = (motion, 1)
        presses = self._votes(motion, 1, nonce)
        drops, cpu0 = self._drops_now(), self.gateway.cpu()
        await self.fleet.send_spread(presses, self.o.burst_s)
        await self._answered(presses, "every vote answered")
        cpu = self.gateway.cpu() - cpu0
        self._note_accepted(motion, presses)
        stats = self._record("vote_burst", presses, broker_dropped=await self._drops_since(drops))
        self._count_cpu(cpu, presses)
        stats["gateway_cpu_ms_per_vote"] = round(cpu * 1000 / max(stats["answered"], 1), 3)
        # close -> final result from the API; announce -> retained result broadcast at the keypads
        t0 = time.monotonic()
        await self.call("POST", f"/motions/{motion}/rounds/1/close")
        end = t0 + self.o.timeout_s
        while True:  # the chair sees the result once closed (the display only once announced)
            res = (await self.call("GET", f"/motions/{motion}/results")).json()
            if res["rounds"] and res["rounds"][0].get("result"):
                break
            if time.monotonic() > end:
                raise TimeoutError("no result from the API after the close")
            await asyncio.sleep(0.005)
        api_ms = (time.monotonic() - t0) * 1000
        t1 = time.monotonic()
        await self.call("POST", f"/motions/{motion}/rounds/1/announce")
        kps = list(self.fleet.keypads.values())
        await self._wait(
            lambda: all(kp.result_at is not None and kp.result_at >= t1 for kp in kps),
            "the result broadcast at every keypad",
        )
        arrivals = sorted(kp.result_at - t1 for kp in kps if kp.result_at is not None)
        counts = res["rounds"][0]["result"]["items"][0]["counts"]
        stats["result_counts"] = counts
        self.report["close_to_result"] = {
            "api_ms": round(api_ms, 1),
            "announce_to_broadcast_first_ms": round(arrivals[0] * 1000, 1),
            "announce_to_broadcast_all_ms": round(arrivals[-1] * 1000, 1),
        }

    def _count_cpu(self, cpu: float, presses: list[Press]) -> None:
        self.vote_cpu += cpu
        self.votes_durable += sum(isinstance(p.reply, frames.Ack) for p in presses)

    async def sustained(self) -> None:
        motion, nonce = await self.open_motion("基准：持续负载 / benchmark: sustained")
        self.rounds["sustained"] = (motion, 1)
        drops, cpu0 = self._drops_now(), self.gateway.cpu()
        presses, per_s = await self._closed_loop(lambda kps: self._votes(motion, 1, nonce, kps))
        cpu = self.gateway.cpu() - cpu0
        self._note_accepted(motion, presses)
        self._count_cpu(cpu, presses)
        stats = self._record("sustained", presses, per_s=per_s, broker_dropped=await self._drops_since(drops))
        stats["gateway_cpu_ms_per_vote"] = round(cpu * 1000 / max(stats["answered"], 1), 3)
        await self.call("POST", f"/motions/{motion}/rounds/1/close")

    async def close_in_flight(self) -> None:
        motion, nonce = await self.open_motion("基准：发送中关闭 / benchmark: close in flight")
        self.rounds["close_in_flight"] = (motion, 1)
        presses = self._votes(motion, 1, nonce)
        drops = self._drops_now()
        await self.fleet.send_spread(presses, self.o.burst_s)
        last_sent = time.monotonic()
        await asyncio.sleep(self.o.close_after_s)
        unanswered_at_close = sum(p.answered_at is None for p in presses)
        t0 = time.monotonic()
        await self.call("POST", f"/motions/{motion}/rounds/1/close")
        close_ms = (time.monotonic() - t0) * 1000
        await self._answered(presses, "every press answered after the close")
        self._note_accepted(motion, presses)
        refused = sum(p.reason == reasons.ROUND_CLOSED for p in presses)
        self._record(
            "close_in_flight",
            presses,
            refused_at_close=refused,
            unanswered_at_close=unanswered_at_close,
            close_after_last_press_s=round(t0 - last_sent, 3),
            close_call_ms=round(close_ms, 1),
            broker_dropped=await self._drops_since(drops),
        )

    async def gateway_down(self) -> None:
        motion, nonce = await self.open_motion("基准：网关中断 / benchmark: gateway down")
        self.rounds["gateway_down"] = (motion, 1)
        presses = self._votes(motion, 1, nonce)
        drops = self._drops_now()
        sending = asyncio.ensure_future(self.fleet.send_spread(presses, self.o.burst_s))
        await asyncio.sleep(self.o.burst_s * 0.3)
        await asyncio.to_thread(self.gateway.kill)
        acked_before_kill = sum(p.answered_at is not None for p in presses)
        await asyncio.sleep(self.o.down_s)
        await sending
        await self.start_gateway()
        await self._answered(presses, "every press answered after the gateway came back")
        self._note_accepted(motion, presses)
        self._record(
            "gateway_down",
            presses,
            answered_before_kill=acked_before_kill,
            down_s=self.o.down_s,
            broker_dropped=await self._drops_since(drops),
        )
        await self.call("POST", f"/motions/{motion}/rounds/1/close")

    async def broker_restart(self) -> None:
        motion, nonce = await self.open_motion("基准：代理重启 / benchmark: broker restart")
        self.rounds["broker_restart"] = (motion, 1)
        presses = self._votes(motion, 1, nonce)
        before = {d: kp.connects for d, kp in self.fleet.keypads.items()}
        t0 = time.monotonic()
        await asyncio.to_thread(self.broker.stop)
        for p in presses:  # pressed while the broker is away: sent on reconnect, after the settle time
            self.fleet.keypads[p.device_id].send(p)
        await asyncio.to_thread(self.broker.start)
        reconnected = await self._wait(
            lambda: all(kp.connected and kp.connects > before[d] for d, kp in self.fleet.keypads.items()),
            "every keypad reconnected",
        )
        await self._answered(presses, "the full round answered after the broker restart")
        last = max(p.answered_at for p in presses if p.answered_at is not None)
        self._note_accepted(motion, presses)
        self._record(
            "broker_restart",
            presses,
            keypads_reconnected_s=round(reconnected - t0, 2),
            full_round_answered_s=round(last - t0, 2),
        )
        await self.call("POST", f"/motions/{motion}/rounds/1/close")

    # ------------------------------------------------------------ invariants

    async def check(self) -> None:
        from sqlalchemy import func, select

        from gateway.audit import AuditLog
        from gateway.db import make_engine
        from gateway.store import tables as t

        engine = make_engine(self.database_url)
        try:
            inv: dict[str, Any] = {}
            with engine.connect() as conn:
                if "checkin" in self.report["scenarios"]:
                    present = conn.execute(
                        select(func.count())
                        .select_from(t.attendance)
                        .where(t.attendance.c.sitting_id == self.sitting_id)
                    ).scalar_one()
                    inv["checked_in_stored"] = present
                    inv["checkin_all_durable"] = present == self.n
                stored_ok = True
                per_round: dict[str, Any] = {}
                for name, (motion, rnd) in self.rounds.items():
                    rid = conn.execute(
                        select(t.round_.c.id).where(t.round_.c.motion_id == motion, t.round_.c.number == rnd)
                    ).scalar_one()
                    rows = (
                        conn.execute(select(t.named.c.device_id).where(t.named.c.round_id == rid))
                        .scalars()
                        .all()
                    )
                    acked = self.accepted_votes.get(motion, set())
                    ok = set(rows) == acked and len(rows) == len(set(rows))
                    per_round[name] = {"acked_devices": len(acked), "stored_ballots": len(rows), "match": ok}
                    stored_ok = stored_ok and ok
                inv["rounds"] = per_round
                inv["every_acked_vote_stored_once"] = stored_ok
            answered_all = all(sc["unanswered"] == 0 for sc in self.report["scenarios"].values())
            inv["every_press_answered"] = answered_all
            vb = self.report["scenarios"].get("vote_burst")
            if vb is not None and "result_counts" in vb:
                inv["vote_burst_counts_add_up"] = (
                    sum(vb["result_counts"]) == per_round["vote_burst"]["stored_ballots"]
                )
            inv["audit_chain_verifies"] = bool(await asyncio.to_thread(lambda: AuditLog(engine).verify().ok))
            self.report["invariants"] = inv
        finally:
            engine.dispose()

    def summarise(self) -> None:
        s = self.report["summary"]
        sc = self.report["scenarios"]
        echo = self.report["echo"]
        echo_rate = (echo.get("sustained") or {}).get("per_s")
        echo_burst = (echo.get("burst") or {}).get("answered_per_s")
        if "sustained" in sc:
            s["sustained_durable_votes_per_s"] = sc["sustained"]["per_s"]
            if echo_rate:
                s["sustained_ratio_to_echo"] = round(sc["sustained"]["per_s"] / echo_rate, 3)
        if "vote_burst" in sc:
            s["vote_burst_p99_ms"] = sc["vote_burst"]["p99_ms"]
            s["vote_burst_durable_per_s"] = sc["vote_burst"]["answered_per_s"]
            if echo_burst and sc["vote_burst"]["answered_per_s"]:
                s["vote_burst_ratio_to_echo"] = round(sc["vote_burst"]["answered_per_s"] / echo_burst, 3)
            if echo.get("burst"):
                s["echo_burst_p99_ms"] = echo["burst"]["p99_ms"]
        if "close_in_flight" in sc:
            s["refused_at_close"] = sc["close_in_flight"]["refused_at_close"]
        if "checkin" in sc:
            s["checkin_p99_ms"] = sc["checkin"]["p99_ms"]
        if "broker_restart" in sc:
            s["broker_restart_full_round_s"] = sc["broker_restart"]["full_round_answered_s"]
        s["broker_dropped_total"] = sum(v.get("broker_dropped", 0) for v in sc.values())
        s["broker_sys_counters_seen"] = self.drops.seen.is_set()  # False: the drop counts are unknown
        if self.votes_durable:
            s["gateway_cpu_ms_per_vote"] = round(self.vote_cpu * 1000 / self.votes_durable, 3)
        if echo.get("cpu_ms_per_message") is not None:
            s["echo_cpu_ms_per_message"] = echo["cpu_ms_per_message"]
        s["gateway_peak_rss_mb"] = round(self.gateway.rss_peak() / 2**20, 1)
        if "close_to_result" in self.report:
            s.update(self.report["close_to_result"])
        s["all_invariants_hold"] = all(v for k, v in self.report["invariants"].items() if isinstance(v, bool))


async def run(opts: Options) -> dict[str, Any]:
    """Run the benchmark; returns the report (figures, invariants).  Never asserts a time."""
    unknown = set(opts.scenarios) - set(SCENARIOS)
    if unknown:
        raise ValueError(f"unknown scenario(s): {sorted(unknown)}")
    bench = Bench(opts)
    try:
        await bench.setup()
        if opts.echo:
            await bench.echo()
        await bench.start_gateway()
        order = [s for s in SCENARIOS if s in opts.scenarios]
        if order and "checkin" not in order:
            order.insert(0, "checkin")  # votes need members present
        for name in order:
            opts.log(f"scenario {name}")
            await getattr(bench, name)()
        bench.gateway.rss_peak()
        await bench.check()
        bench.summarise()
        if opts.png is not None:
            report.histogram_png(
                opts.png,
                {k: v for k, v in bench.latencies.items() if k in ("echo burst", "vote_burst", "checkin")},
                f"hallvote bench: {opts.keypads} keypads, {opts.database}",
            )
            bench.report["histogram_png"] = str(opts.png)
        return bench.report
    finally:
        await bench.teardown()
