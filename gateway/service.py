"""The running gateway for one hall: the pure core between the broker bridge and the store.

One lock serialises everything that touches the hall state: batches of
uplink frames from the bridge and commands from the chair's console.

**The in-memory state holds only what is committed.**  A batch is decided
frame by frame on a fork of the state (each decision sees the ones before
it), its events are written to the store in **one transaction**, and only
after the commit does the fork become the live state and are the replies
handed back for publishing: a keypad is acked only for a durable decision.
If the commit fails the fork is dropped and the live state is untouched:

* the store is unreachable (connection refused or lost, disk full, locked
  too long: SQLAlchemy's ``OperationalError``): every frame of the batch
  is answered ``BUSY`` (nothing was recorded; the keypad sends it again);
* any other refusal raises :class:`StoreError` after reloading the state
  from the store (it may have changed behind the gateway's back); the
  bridge retries the batch and then each frame alone (one poison frame
  cannot hold up the others) and finally answers ``BUSY``.

Commands work the same way: events from :mod:`gateway.core.commands`,
applied to a fork, committed with their audit records, then the fork
becomes live and the events are broadcast (retained) so keypads and
screens see the sitting and motion state.  A command whose commit fails
raises :class:`StoreUnavailable` or :class:`StoreError` (the API answers
503) and changes nothing, in memory or in the store: a round closed during
an outage stays open in both.

**A close is fair: drain, then close.**  Before a round is closed (by the
chair or its countdown) the gateway asks the bridge to handle every message
it has received so far (:meth:`set_drain`, the bridge's ``drain``), without
holding the lock: a press that reached the bridge before the close was
requested is decided in the round; only later ones are ``ROUND_CLOSED``.

**Broadcasts that scale.**  A check-in changes 实到 (present) in the
retained sitting broadcast that every keypad receives; during a check-in
burst these are coalesced: at most one every :func:`sitting_interval`
seconds (0.25 s, longer for a hall of more than :data:`SITTING_FANOUT`
seats: every broadcast goes to every keypad), always carrying the latest
count (a batch past the interval, or :meth:`tick`, publishes it).  A change
of the sitting's state is never held.

After a secret round's close has committed, its deleted rows are purged
from the database files (:mod:`gateway.store.purge`); the purge is retried
between batches until it succeeds.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, bindparam, update
from sqlalchemy.exc import DBAPIError, OperationalError

from gateway.audit import AuditLog
from gateway.audit.trail import attach_heads, make_hook
from gateway.broker_bridge.broadcasts import ROUND_EVENTS, motion_frame, round_frames, sitting_frame
from gateway.broker_bridge.handler import Outbound
from gateway.core import commands, manual
from gateway.core import signatures as crypto
from gateway.core.apply import apply_all
from gateway.core.decide import Inbound, Verifier, decide
from gateway.core.events import (
    CheckInRecorded,
    Event,
    RoundClosed,
    RoundOpened,
    SittingStateChanged,
)
from gateway.core.picture import live_picture
from gateway.core.state import REPLAY_WINDOW, HallState, RoundKey, SittingRun
from gateway.core.states import RoundState
from gateway.core.wire import encode_reply
from gateway.db.engine import own_pool, reader, writer
from gateway.rules import ChairOverride
from gateway.store import Writer, load_hall, load_sitting
from gateway.store import tables as t
from gateway.store.convert import from_ts, motion_spec
from gateway.store.errors import StoreError, StoreUnavailable, store_error, unavailable
from gateway.store.prune import PRUNE_DEVICES, FramePruner
from gateway.store.purge import SecretPurge, vacuum_sqlite
from gateway.store.secretkeys import RoundKeys
from protocol import codec, consts, reasons, topics
from protocol.frames import Ack, Nack

__all__ = [
    "SITTING_EVERY_S",
    "SITTING_FANOUT",
    "Gateway",
    "StoreError",
    "StoreUnavailable",
    "sitting_interval",
]

SITTING_EVERY_S = 0.25
"""Check-ins change 实到 in the retained sitting broadcast at most this often (coalesced, always the
latest; the countdown ticker publishes one still due); a change of the sitting's state goes out at once."""
SITTING_FANOUT = 500
"""Above this many seats (应到) the interval grows in proportion: a sitting broadcast is delivered to every
keypad, so check-ins cost the broker and the keypads at most 2,000 deliveries a second (3,000 seats: 1.5 s)."""


def sitting_interval(expected: int) -> float:
    """Seconds between coalesced 实到 broadcasts for a roster of ``expected`` members."""
    return SITTING_EVERY_S * max(1.0, expected / SITTING_FANOUT)


log = logging.getLogger("hallvote.gateway")

AuditHook = Callable[[Any, HallState, Sequence[Event], str], Any]
T = TypeVar("T")


_PRESENCE = (
    update(t.device)
    .where(t.device.c.device_id == bindparam("b_device"))
    .values(online=bindparam("b_online"), last_seen=bindparam("b_seen"))
)


class Gateway:
    def __init__(
        self,
        engine: Engine,
        hall_id: str,
        *,
        verify: Verifier = crypto.verify,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], bytes] = lambda: secrets.token_bytes(consts.NONCE_LEN),
        audit_log: AuditLog | None = None,
        secret_keys: Path | None = None,
    ) -> None:
        self.engine = engine
        # PostgreSQL: a secret round's pending choices are sealed under a per-round key kept in
        # files in ``secret_keys``, never in the database (gateway.store.secretkeys).
        self.round_keys = (
            RoundKeys(secret_keys)
            if secret_keys is not None and engine.dialect.name == "postgresql"
            else None
        )
        if secret_keys is None and engine.dialect.name == "postgresql":
            log.warning(
                "no secret key directory: a secret round's pending choices are stored unsealed "
                "(hallvote gateway run always sets secret_keys_dir)"
            )
        # The hot path has its own connections: API requests holding (or waiting for) pooled
        # connections never make a keypad commit wait for one.  Loads only read.
        self._hot = writer(own_pool(engine))
        self._read = reader(self._hot)
        self.hall_id = topics.check_id(hall_id, "hall")
        self._verify = verify
        self._clock = clock
        self._nonce = nonce
        self._audit_log = audit_log
        self._audit: AuditHook | None = make_hook(audit_log) if audit_log is not None else None
        self._lock = threading.RLock()
        self._writer = Writer(hall_id, self.round_keys)
        self._listeners: list[Callable[[list[Outbound]], None]] = []
        self._down: dict[str, str] = {}  # device id -> its down topic
        self._drain: Callable[[], bool] | None = None
        self._snapshot: tuple[Any, dict[str, Any]] | None = None  # (change key, live picture)
        self._sitting_sent = 0.0  # monotonic time of the last sitting broadcast
        self._sitting_due = False  # check-ins changed 实到 since then
        self.notices: list[dict[str, Any]] = []  # keypad swaps, for the chair's live feed
        self._reload_listeners: list[Callable[[], None]] = []
        self.version = 0
        self.last_commit: tuple[float, float] | None = None
        """(when, seconds) of the last successful commit of events: for health."""
        self._pruner = FramePruner()
        self._purge = SecretPurge(
            self._hot,
            destroy_key=self.round_keys.destroy if self.round_keys is not None else None,
            completed=self._purged,
        )
        with self._read.connect() as conn:
            self.state: HallState = load_hall(conn, hall_id, self.round_keys)
        self._forget_closed_round_keys()
        if engine.dialect.name == "sqlite":  # a close not purged before a crash leaves nothing in the files
            try:
                if not vacuum_sqlite(self._hot):
                    log.warning("start-up purge (checkpoint, VACUUM) blocked by a reader")
            except (DBAPIError, OperationalError, sqlite3.Error) as exc:
                log.warning("start-up purge failed (%s)", type(exc).__name__)

    # ------------------------------------------------------------ state

    def reload(self) -> None:
        """Rebuild the hall state from the store (after a failed commit, or a setup change).

        The sitting that was current stays current, even if it is not the
        hall's latest open one (a chair may have activated an older sitting).
        """
        with self._lock:
            current = self.state.sitting.sitting_id if self.state.sitting is not None else None
            try:
                with self._read.connect() as conn:
                    state = load_hall(conn, self.hall_id, self.round_keys)
                    if current is not None and (state.sitting is None or state.sitting.sitting_id != current):
                        state.sitting = load_sitting(conn, current, self.round_keys)
            except (DBAPIError, OperationalError) as exc:
                raise store_error(exc) from exc
            self._writer.forget()
            self.state = state
            self.version += 1
        for listener in self._reload_listeners:
            listener()

    def on_reload(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every reload (keypads revoked or swapped: broker accounts follow)."""
        self._reload_listeners.append(listener)

    def _forget_closed_round_keys(self) -> None:
        """Key files of rounds that are no longer live (a crash between a close and its purge): purge them."""
        if self.round_keys is None:
            return
        sitting = self.state.sitting
        live = {sitting.current} if sitting is not None and sitting.current is not None else set()
        for key in self.round_keys.stored():
            if key not in live:
                self._purge.due(key)
        self._purge.attempt()

    def close(self) -> None:
        """Release the hot path's own connections (the engine passed in is the caller's)."""
        if self._hot.engine is not self.engine:
            self._hot.engine.dispose()

    @property
    def sitting(self) -> SittingRun | None:
        return self.state.sitting

    @property
    def audit_log(self) -> AuditLog | None:
        """The hall's audit log (the console's records and event tail read it)."""
        return self._audit_log

    def locked(self) -> AbstractContextManager[Any]:
        """``with gateway.locked():`` the gateway's lock, for a consistent read of the committed state
        or a change no command may interleave with (keep it short: the hot path waits while it is held)."""
        return self._lock

    def set_drain(self, drain: Callable[[], bool]) -> None:
        """``drain()`` returns once every frame received so far is decided (the bridge's ``drain``);
        called before each close, never under the lock."""
        self._drain = drain

    def _drain_received(self) -> None:
        if self._drain is not None and not self._drain():
            log.warning("closing without a full drain: frames received before the close were still queued")

    def setup_change(self, change: Callable[[], T]) -> T:
        """Run a committed setup change (keypads, seats) under the lock, then reload.

        No frame is decided between the change's commit and the reload, so a
        revoked keypad is never accepted once its revocation is durable.
        """
        with self._lock:
            try:
                return change()
            finally:
                self.reload()

    def announce_swap(self, seat: str, old: str, new: str, member: str | None) -> dict[str, Any]:
        """Tell the chair's side (live feed ``notices``) that a seat's keypad was swapped."""
        with self._lock:
            sitting = self.state.sitting
            run = sitting.rounds.get(sitting.current) if sitting is not None and sitting.current else None
            member_id = sitting.seat_map.get(seat) if sitting is not None else None
            carried = run is not None and member_id in run.ballots and run.ballots[member_id].pressed
            who = member or "—"
            notice: dict[str, Any] = {
                "kind": "device.swapped",
                "at": self._clock(),
                "seat": seat,
                "member": member,
                "from": old,
                "to": new,
                "round": list(run.key) if run is not None else None,
                "carried_over": carried,
                "zh": f"座位 {seat}（{who}）表决器已更换：{old} → {new}"
                + ("；本轮已按项目保留" if carried else ""),
                "en": f"seat {seat} ({who}): keypad {old} replaced by {new}"
                + ("; the member's presses in this round carry over" if carried else ""),
            }
            self.notices.append(notice)
            del self.notices[:-50]
            self.version += 1
            return notice

    def on_broadcast(self, listener: Callable[[list[Outbound]], None]) -> None:
        """Call ``listener`` with retained broadcasts produced by commands (the bridge publishes them)."""
        self._listeners.append(listener)

    # ------------------------------------------------------------ frames (bridge Handler)

    def handle_batch(self, batch: Sequence[Inbound]) -> list[Outbound]:
        """Decide, commit, then answer: BUSY for every frame while the store is unreachable."""
        with self._lock:
            state = self.state.fork()
            decisions = []
            events: list[Event] = []
            for inbound in batch:
                decision = decide(state, inbound, verify=self._verify)
                apply_all(state, decision.events)
                events.extend(decision.events)
                decisions.append(decision)
            try:
                self._commit(state, events, actor="keypads")
            except StoreUnavailable as exc:
                log.warning("store unavailable (%s): %d frame(s) answered BUSY", exc, len(batch))
                return [self._busy(d) for d in decisions]
            down = self._down_topic
            out = [Outbound(down(d.device_id), encode_reply(d.reply)) for d in decisions]
            out.extend(self._broadcasts(events))
        self.retry_purge()
        return out

    def _busy(self, decision: Any) -> Outbound:
        reply = decision.reply
        kind = reply.acked_type if isinstance(reply, Ack) else reply.nacked_type
        nack = Nack(reply.counter, reasons.BUSY, kind)
        return Outbound(self._down_topic(decision.device_id), codec.encode(nack))

    def _down_topic(self, device_id: str) -> str:
        """A keypad's ``down`` topic (kept per registered keypad: one per answer otherwise)."""
        topic = self._down.get(device_id)
        if topic is None:
            topic = topics.device(self.hall_id, device_id, "down")
            if device_id in self.state.devices:
                self._down[device_id] = topic
        return topic

    def presence(self, device_id: str, online: bool, at: float) -> list[Outbound]:
        return self.presences([(device_id, online, at)])

    def presences(self, items: Sequence[tuple[str, bool, float]]) -> list[Outbound]:
        """Store presence changes ``(device_id, online, at)`` of known keypads in one transaction."""
        with self._lock:
            rows = [
                {"b_device": dev, "b_online": online, "b_seen": from_ts(at)}
                for dev, online, at in items
                if dev in self.state.devices
            ]
            if not rows:
                return []
            try:
                with self._hot.begin() as conn:
                    conn.execute(_PRESENCE, rows)
            except (DBAPIError, OperationalError) as exc:
                if not unavailable(exc):
                    raise store_error(exc) from exc
                # Presence is advisory (health view only): not worth holding the bridge up in an outage.
                log.warning(
                    "%d presence change(s) not stored: store unavailable (%s)", len(rows), store_error(exc)
                )
                return []
            self.version += 1
            return []

    def _commit(
        self,
        state: HallState,
        events: Sequence[Event],
        actor: str,
        extra: Sequence[tuple[str, dict[str, Any]]] = (),
    ) -> None:
        """Write ``events`` (decided on ``state``, a fork) in one transaction; then ``state`` becomes live.

        On failure the live state is untouched and a :class:`StoreError` is
        raised (:class:`StoreUnavailable` when the store cannot be reached).
        The log line names the error, never the statement's parameters.
        """
        if events:
            started = time.monotonic()
            try:
                with self._hot.begin() as conn:
                    self._writer.write(conn, events)
                    if self._audit is not None:
                        attach_heads(state, self._audit(conn, state, events, actor))
                    if extra and self._audit_log is not None:
                        self._audit_log.append_many(
                            [(kind, actor, payload) for kind, payload in extra], conn=conn
                        )
            except Exception as exc:
                self._writer.forget()  # ids it cached in the rolled-back transaction do not exist
                error = store_error(exc)
                log.error("commit of %d event(s) failed, nothing changed: %s", len(events), error)
                if not isinstance(error, StoreUnavailable):
                    # The store refused what memory allowed: it may have changed behind the
                    # gateway's back (a setup edit without reload).  Resync, if it answers.
                    try:
                        self.reload()
                    except StoreError:
                        log.warning("could not reload the hall state after a failed commit")
                # Not chained: the driver's message may quote row values (PostgreSQL's DETAIL line).
                raise error from None
            self.last_commit = (time.time(), time.monotonic() - started)
            self.version += 1
        self.state = state

    # ------------------------------------------------------------ commands

    def _run(
        self, events: list[Event], actor: str, extra: Sequence[tuple[str, dict[str, Any]]] = ()
    ) -> list[Event]:
        state = self.state.fork()
        apply_all(state, events)
        self._commit(state, events, actor, extra)
        outs = self._broadcasts(events)
        for listener in self._listeners:
            listener(outs)
        return events

    def activate_sitting(self, sitting_id: int) -> SittingRun:
        """Make a sitting of this hall the current one (loaded from the store)."""
        with self._lock:
            try:
                with self._read.connect() as conn:
                    run = load_sitting(conn, sitting_id, self.round_keys)
            except (DBAPIError, OperationalError) as exc:
                raise store_error(exc) from exc
            state = self.state.fork()
            state.sitting = run
            self.state = state
            self.version += 1
        self._publish(self._sitting_frame(run))
        return run

    def open_checkin(self, actor: str) -> list[Event]:
        with self._lock:
            return self._run(commands.open_checkin(self.state, at=self._clock()), actor)

    def start_session(self, actor: str) -> list[Event]:
        with self._lock:
            return self._run(commands.start_session(self.state, at=self._clock()), actor)

    def close_sitting(self, actor: str) -> list[Event]:
        with self._lock:
            return self._run(commands.close_sitting(self.state, at=self._clock()), actor)

    def add_motion(self, motion_row_id: int, actor: str) -> RoundKey:
        """Load a motion created in the store (gateway.db) into the sitting, with its round 1."""
        with self._lock:
            try:
                with self._read.connect() as conn:
                    row = conn.execute(t.motion.select().where(t.motion.c.id == motion_row_id)).one()
            except (DBAPIError, OperationalError) as exc:
                raise store_error(exc) from exc
            spec = motion_spec(row)
            self._run(commands.add_motion(self.state, spec, nonce=self._nonce(), at=self._clock()), actor)
            return (spec.motion_id, 1)

    def open_round(self, key: RoundKey, actor: str, override: ChairOverride | None = None) -> list[Event]:
        with self._lock:
            events, decision = commands.open_round(self.state, key, at=self._clock(), override=override)
            extra: list[tuple[str, dict[str, Any]]] = []
            if decision.override_used and override is not None:
                opened = events[0]
                assert isinstance(opened, RoundOpened)
                extra.append(
                    (
                        "override.quorum",
                        {
                            "motion": key[0],
                            "round": key[1],
                            "chair": override.by,
                            "reason": override.reason,
                            "quorum_expected": opened.expected,
                            "quorum_present": opened.present,
                        },
                    )
                )
            return self._run(events, actor, extra)

    def pause_round(self, key: RoundKey, actor: str) -> list[Event]:
        with self._lock:
            return self._run(commands.pause_round(self.state, key, at=self._clock()), actor)

    def resume_round(self, key: RoundKey, actor: str) -> list[Event]:
        with self._lock:
            return self._run(commands.resume_round(self.state, key, at=self._clock()), actor)

    def close_round(self, key: RoundKey, actor: str) -> list[Event]:
        """Drain, then close a round (see the module's notes); a secret one's close is complete once
        its purge is (see :attr:`purge_pending`).  Never call it holding the gateway's lock."""
        self._drain_received()
        with self._lock:
            events = self._close(key, actor)
        self.retry_purge()
        return events

    def _close(self, key: RoundKey, actor: str) -> list[Event]:
        events = self._run(commands.close_round(self.state, key, at=self._clock()), actor)
        for e in events:
            if isinstance(e, RoundClosed) and e.secret:
                self._purge.due(e.round)
        return events

    def announce_round(self, key: RoundKey, actor: str) -> list[Event]:
        with self._lock:
            return self._run(commands.announce_round(self.state, key, at=self._clock()), actor)

    def rerun(self, motion_id: int, actor: str) -> list[Event]:
        with self._lock:
            return self._run(
                commands.rerun(self.state, motion_id, nonce=self._nonce(), at=self._clock()), actor
            )

    def enter_manual(
        self, key: RoundKey, counts: list[list[int]], method: str, reason: str, actor: str, role: str
    ) -> list[Event]:
        """Counts entered by hand (keypads failed); they wait for the other person's confirmation."""
        with self._lock:
            events = manual.enter_manual(
                self.state,
                key,
                counts=counts,
                method=method,
                reason=reason,
                by=actor,
                role=role,
                at=self._clock(),
            )
            return self._run(events, actor)

    def confirm_manual(self, key: RoundKey, actor: str, role: str) -> list[Event]:
        with self._lock:
            return self._run(
                manual.confirm_manual(self.state, key, by=actor, role=role, at=self._clock()), actor
            )

    def reject_manual(self, key: RoundKey, reason: str, actor: str, role: str) -> list[Event]:
        with self._lock:
            events = manual.reject_manual(
                self.state, key, by=actor, role=role, reason=reason, at=self._clock()
            )
            return self._run(events, actor)

    def focus_item(self, key: RoundKey, item: int, actor: str) -> list[Event]:
        with self._lock:
            return self._run(commands.focus_item(self.state, key, item, at=self._clock()), actor)

    def prune_frames(self, devices: int = PRUNE_DEVICES) -> int:
        """Delete up to ``devices`` keypads' accepted frames below their replay window (gateway.store.prune);
        rows deleted.  Called from :meth:`tick`, a slice of keypads at a time."""
        with self._lock:
            floors = {dev: w.highest - REPLAY_WINDOW for dev, w in self.state.replay.items()}
        chunk = self._pruner.due(floors, devices)
        if not chunk:
            return 0
        try:
            with self._hot.begin() as conn:
                deleted = self._pruner.prune(conn, chunk)
        except (DBAPIError, OperationalError) as exc:
            log.warning("pruning accepted frames failed (%s); retried at the next tick", type(exc).__name__)
            return 0
        self._pruner.done(chunk)
        return deleted

    def flush_sitting(self) -> int:
        """Publish the coalesced sitting broadcast if it is due (the ticker calls this); how many."""
        with self._lock:
            sitting = self.state.sitting
            if (
                sitting is None
                or not self._sitting_due
                or time.monotonic() - self._sitting_sent < sitting_interval(sitting.expected)
            ):
                return 0
            self._sitting_sent, self._sitting_due = time.monotonic(), False
            self._publish(self._sitting_frame(sitting))
            return 1

    def tick(self) -> list[Event]:
        """Close the live round when its countdown has run out (drained first, as any close);
        publish a coalesced sitting broadcast that is due; retry purges; prune old frames."""
        self.flush_sitting()
        if self._due() is None:
            self.retry_purge()
            self.prune_frames()
            return []
        self._drain_received()
        with self._lock:
            key = self._due()  # still due: no one closed or paused it meanwhile
            events = self._close(key, "countdown") if key is not None else []
        self.retry_purge()
        self.prune_frames()
        return events

    def _due(self) -> RoundKey | None:
        with self._lock:
            sitting = self.state.sitting
            if sitting is None or sitting.current is None:
                return None
            run = sitting.rounds[sitting.current]
            if run.state is RoundState.OPEN and run.deadline is not None and self._clock() >= run.deadline:
                return run.key
            return None

    @property
    def purge_pending(self) -> frozenset[RoundKey]:
        """Secret rounds closed in the store whose deleted rows may still be in the database files."""
        return frozenset(self._purge.pending)

    def retry_purge(self) -> list[RoundKey]:
        """Try the pending secret purges now (never waits for readers); the rounds completed."""
        return self._purge.attempt()

    def _purged(self, key: RoundKey) -> None:
        if self._audit_log is not None:
            self._audit_log.append("secret.purged", "gateway", {"motion": key[0], "round": key[1]})

    # ------------------------------------------------------------ broadcasts

    def current_broadcasts(self) -> list[Outbound]:
        """The retained broadcasts that describe the hall now (sitting, live round): to publish at start."""
        with self._lock:
            sitting = self.state.sitting
            if sitting is None:
                return []
            out = [self._sitting_frame(sitting)]
            if sitting.current is not None:
                out.append(self._motion_frame(sitting.current))
            return out

    def republish(self, publish: Callable[[Outbound], object]) -> int:
        """Hand the current broadcasts to ``publish`` under the lock (no command's newer one can slip
        in between); the bridge calls it on every (re)connect.  Returns how many."""
        with self._lock:
            outs = self.current_broadcasts()
            for outbound in outs:
                publish(outbound)
            return len(outs)

    def _publish(self, outbound: Outbound) -> None:
        for listener in self._listeners:
            listener([outbound])

    def _sitting_frame(self, sitting: SittingRun) -> Outbound:
        return sitting_frame(self.hall_id, sitting, int(self._clock()))

    def _motion_frame(self, key: RoundKey) -> Outbound:
        sitting = self.state.sitting
        assert sitting is not None
        return motion_frame(self.hall_id, sitting, key, int(self._clock()))

    def _broadcasts(self, events: Sequence[Event]) -> list[Outbound]:
        sitting = self.state.sitting
        if sitting is None:
            return []
        out: list[Outbound] = []
        kinds = {type(e) for e in events}  # one pass: a batch of votes is thousands of events
        if SittingStateChanged in kinds:
            out.append(self._sitting_frame(sitting))  # a state change goes out at once
            self._sitting_sent, self._sitting_due = time.monotonic(), False
        elif CheckInRecorded in kinds:
            self._sitting_due = True  # 实到 changed: coalesced, see _due_sitting
        if self._sitting_due and time.monotonic() - self._sitting_sent >= sitting_interval(sitting.expected):
            out.append(self._sitting_frame(sitting))
            self._sitting_sent, self._sitting_due = time.monotonic(), False
        if kinds & ROUND_EVENTS:
            out.extend(round_frames(self.hall_id, sitting, events, int(self._clock())))
        return out

    # ------------------------------------------------------------ what the console and screen show

    def snapshot(self) -> dict[str, Any]:
        """The live picture: sitting with 应到/实到, and the current (or latest) round.

        Counts of a named round are live; a secret round shows only how many
        have voted until it closes, then its totals and result.  Computed once
        per change (``version``, pending purges), not per request: callers must
        not modify it.
        """
        with self._lock:
            key = (self.version, frozenset(self._purge.pending))
            if self._snapshot is None or self._snapshot[0] != key:
                self._snapshot = (key, self._build_snapshot())
            return self._snapshot[1]

    def sitting_run(self, sitting_id: int) -> SittingRun | None:
        """The committed in-memory run of ``sitting_id`` if it is the current sitting (no store read)."""
        sitting = self.state.sitting  # swapped whole after each commit: one read is consistent
        return sitting if sitting is not None and sitting.sitting_id == sitting_id else None

    def _build_snapshot(self) -> dict[str, Any]:
        with self._lock:
            return live_picture(self.hall_id, self.version, self.state, self._purge.pending, self.notices)
