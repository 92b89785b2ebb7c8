"""The keypad's state machine, as data.

Rules (what the table below says, in words):

1. ``booting`` waits for ``booted`` (config, counter and key loaded), then
   ``joining`` Wi-Fi; ``wifi_up`` generates the key if there is none (so the
   RNG is truly random) and goes to ``connecting`` (MQTT).  Wi-Fi lost while
   connecting goes back to ``joining``.
2. ``mqtt_up`` (first connect or a reconnect) sends hello, resends every
   unanswered frame once the retained broadcasts had ``settle_ms`` to say
   whether its round is still open, and RESUMEs (rule 8).
3. Once online, losing Wi-Fi or MQTT goes to ``offline``.  Offline, presses
   are still signed and kept in the bounded outbox (oldest dropped first,
   counted) and sent when the link returns, if their round is still open.
4. A check-in or vote press that the keypad can turn into a frame signs it
   (counter persisted first), puts it in the outbox and goes to ``sent``
   (offline: stays ``offline``); a press the keypad refuses locally (no
   sitting, not checked in, round paused, first press already made, choice
   not admitted ...) goes to ``refused`` with the reason.  Navigation keys
   only edit the draft ballot.  Key events exist only where they make
   sense: ``key_checkin`` when not checked in and none is unanswered (idle,
   refused, offline), ``key_vote`` with a round open and a check-in
   (motion_open, sent, recorded, refused, offline); elsewhere they stay.
5. ``ack`` for an outbox frame records it (checked in / item recorded) and
   RESUMEs; ``nack`` drops the frame and shows the reason (``refused``);
   ``nack_busy`` (gateway BUSY) keeps it: stay and retransmit.
6. ``retransmit`` resends the unchanged signed frames that are due;
   ``heartbeat`` sends a status frame; both only while online.
7. Broadcasts update what the keypad knows in every state (a new sitting
   forgets the old one's check-in; a closed sitting also its rounds and
   unanswered frames; a new round drops unanswered votes of the old round;
   a closed round drops its unanswered votes and shows ROUND_CLOSED if one
   was dropped); online they RESUME, since the state follows from what
   changed.  A refusal is shown until ``display_timeout`` (``refused``
   then RESUMEs).
8. RESUME means "the state the keypad's knowledge implies", in this order:
   a refusal to show -> ``refused``; an unanswered frame -> ``sent``; not
   checked in -> ``idle``; the current round's item recorded ->
   ``recorded``; a round open -> ``motion_open``; else ``checked_in``.
   :func:`derive` is that rule.

``transition(state, event)`` is ``(next, action)``; ``next`` is a state, SAME
or RESUME, ``action`` the name of an action ``Keypad._do`` runs, or None.
Every state has a row for every event: :func:`transition` never guesses.
The rows are written below as dicts; the keypad keeps them packed into one
bytes object (``TABLE[state][event]``, the dicts, and :func:`table`, which
builds them, exist on CPython only: the keypad needs neither).
"""

import sys

if sys.implementation.name != "micropython":
    __all__ = [
        "ACTIONS",
        "EVENTS",
        "ONLINE",
        "RESUME",
        "SAME",
        "STATES",
        "TABLE",
        "derive",
        "table",
        "transition",
    ]

# States.
BOOTING = "booting"
JOINING = "joining"  # joining Wi-Fi
CONNECTING = "connecting"  # connecting to the broker
IDLE = "idle"  # online, not checked in
CHECKED_IN = "checked_in"
MOTION_OPEN = "motion_open"
SENT = "sent"  # a signed frame awaits its ack
RECORDED = "recorded"
REFUSED = "refused"  # shows the reason
OFFLINE = "offline"
STATES = (BOOTING, JOINING, CONNECTING, IDLE, CHECKED_IN, MOTION_OPEN, SENT, RECORDED, REFUSED, OFFLINE)
ONLINE = (IDLE, CHECKED_IN, MOTION_OPEN, SENT, RECORDED, REFUSED)

# Pseudo targets.
SAME = "=same"
RESUME = "=resume"

# Events.
BOOTED = "booted"
WIFI_UP = "wifi_up"
WIFI_DOWN = "wifi_down"
MQTT_UP = "mqtt_up"
MQTT_DOWN = "mqtt_down"
KEY_CHECKIN = "key_checkin"  # a check-in press the keypad can sign
KEY_VOTE = "key_vote"  # a ballot ready to sign (arg: choices)
KEY_NAV = "key_nav"  # draft edited (navigation, item choice)
KEY_DENIED = "key_denied"  # a press refused locally (arg: reason code)
SITTING_NEW = "sitting_new"
SITTING_UPDATE = "sitting_update"
SITTING_CLOSED = "sitting_closed"
MOTION_OPENED = "motion_open"  # a new round (arg: MotionOpen)
MOTION_UPDATE = "motion_update"  # same round, paused or focus changed
MOTION_CLOSED = "motion_closed"  # the current round closed
RESULT = "result"
ACK = "ack"  # for a frame in the outbox
NACK = "nack"  # a refusal for a frame in the outbox
NACK_BUSY = "nack_busy"  # BUSY: nothing recorded, keep retransmitting
RETRANSMIT = "retransmit"  # an outbox frame is due
HEARTBEAT = "heartbeat"
DISPLAY_TIMEOUT = "display_timeout"  # a refusal has been shown long enough
EVENTS = (
    BOOTED, WIFI_UP, WIFI_DOWN, MQTT_UP, MQTT_DOWN,
    KEY_CHECKIN, KEY_VOTE, KEY_NAV, KEY_DENIED,
    SITTING_NEW, SITTING_UPDATE, SITTING_CLOSED,
    MOTION_OPENED, MOTION_UPDATE, MOTION_CLOSED, RESULT,
    ACK, NACK, NACK_BUSY, RETRANSMIT, HEARTBEAT, DISPLAY_TIMEOUT,
)  # fmt: skip

# Actions: a cell names one of these (run by ``Keypad._do``) or None.
ACTIONS = (
    "boot", "wifi_up", "online", "link_down", "send_checkin", "send_vote", "redraw", "deny",
    "new_sitting", "update_sitting", "close_sitting", "open_round", "update_round", "close_round",
    "show_result", "acked", "refused", "busy", "retransmit", "heartbeat", "clear_refusal",
)  # fmt: skip

# The keypad keeps the table packed in two bytes objects.  _PAIRS: the distinct cells, two bytes
# each: the next state's index in _TARGETS, and 0 for no action or 1 + the action's index in
# ACTIONS.  _PACKED: per state (in STATES order) a row of one byte per event (in EVENTS order), the
# cell's index in _PAIRS (a few dozen distinct cells: a byte each instead of two).
_TARGETS = STATES + (SAME, RESUME)


def _packed() -> "tuple[bytes, bytes]":
    """The table, written out as dicts, packed: ``(_PAIRS, _PACKED)``.  Runs once, at import; the
    dicts and this function's code are left to the GC."""
    # What a broadcast or an answer does to the keypad's knowledge, in any state.
    facts = {
        SITTING_NEW: "new_sitting",
        SITTING_UPDATE: "update_sitting",
        SITTING_CLOSED: "close_sitting",
        MOTION_OPENED: "open_round",
        MOTION_UPDATE: "update_round",
        MOTION_CLOSED: "close_round",
        RESULT: "show_result",
        ACK: "acked",
        NACK: "refused",
        NACK_BUSY: "busy",
    }

    def row(
        default: "tuple[str, str | None]", facts_next: str, **cells: "tuple[str, str | None]"
    ) -> "dict[str, tuple[str, str | None]]":
        """A state's row: every event -> default, facts with their action, a refusal
        timing out is cleared, then the given cells."""
        out: dict[str, tuple[str, str | None]] = {}
        for event in EVENTS:
            out[event] = default
        for event, action in facts.items():
            out[event] = (facts_next, action)
        out[DISPLAY_TIMEOUT] = (SAME, "clear_refusal")
        out.update(cells)
        return out

    def online(**cells: "tuple[str, str | None]") -> "dict[str, tuple[str, str | None]]":
        out = row(
            (SAME, None), RESUME,
            wifi_down=(OFFLINE, "link_down"),
            mqtt_down=(OFFLINE, "link_down"),
            mqtt_up=(RESUME, "online"),
            key_nav=(SAME, "redraw"),
            key_denied=(REFUSED, "deny"),
            sitting_update=(SAME, "update_sitting"),
            sitting_closed=(IDLE, "close_sitting"),
            result=(SAME, "show_result"),
            nack=(REFUSED, "refused"),
            nack_busy=(SAME, "busy"),
            retransmit=(SAME, "retransmit"),
            heartbeat=(SAME, "heartbeat"),
        )
        out.update(cells)
        return out

    # Key events are produced only when they make sense (rule 4), so some cells
    # cannot occur: a check-in press once checked in (or with one unanswered),
    # a vote press without an open round and a check-in.  Those cells stay put.
    checkin = (SENT, "send_checkin")
    vote = (SENT, "send_vote")
    rows = {
        # Before the first connect nothing can be pressed into a frame (no sitting known yet).
        BOOTING: row((SAME, None), SAME, booted=(JOINING, "boot")),
        JOINING: row(
            (SAME, None), SAME,
            wifi_up=(CONNECTING, "wifi_up"),
            mqtt_up=(RESUME, "online"),
        ),
        CONNECTING: row(
            (SAME, None), SAME,
            wifi_down=(JOINING, None),
            mqtt_up=(RESUME, "online"),
        ),
        IDLE: online(key_checkin=checkin),
        CHECKED_IN: online(),
        MOTION_OPEN: online(key_vote=vote),
        SENT: online(key_vote=vote),
        RECORDED: online(key_vote=vote),
        REFUSED: online(key_checkin=checkin, key_vote=vote, display_timeout=(RESUME, "clear_refusal")),
        OFFLINE: row(
            (SAME, None), SAME,
            mqtt_up=(RESUME, "online"),
            key_checkin=(SAME, "send_checkin"),
            key_vote=(SAME, "send_vote"),
            key_nav=(SAME, "redraw"),
            key_denied=(SAME, "deny"),
        ),
    }  # fmt: skip
    pairs = bytearray()
    cells = bytearray()
    for state in STATES:
        for event in EVENTS:
            nxt, action = rows[state][event]
            pair = bytes((_TARGETS.index(nxt), 0 if action is None else 1 + ACTIONS.index(action)))
            at = 0  # the pair's offset in pairs, found or appended
            while at < len(pairs) and pairs[at : at + 2] != pair:
                at += 2
            if at == len(pairs):
                pairs += pair
            cells.append(at // 2)
    return bytes(pairs), bytes(cells)


_PAIRS, _PACKED = _packed()
del _packed


def transition(state: str, event: str) -> "tuple[str, str | None]":
    """``(next, action)`` for an event in a state; KeyError for an unknown state or event."""
    if state not in STATES or event not in EVENTS:
        raise KeyError((state, event))
    pair = 2 * _PACKED[STATES.index(state) * len(EVENTS) + EVENTS.index(event)]
    action = _PAIRS[pair + 1]
    return _TARGETS[_PAIRS[pair]], ACTIONS[action - 1] if action else None


if sys.implementation.name != "micropython":  # on the keypad only the packed form is kept (transition)

    def table() -> "dict[str, dict[str, tuple[str, str | None]]]":
        """The whole table as dicts, ``table()[state][event] -> (next, action)`` (for tests and tools)."""
        return {state: {event: transition(state, event) for event in EVENTS} for state in STATES}

    TABLE = table()


def derive(refusal: bool, unanswered: bool, checked_in: bool, round_open: bool, recorded: bool) -> str:
    """RESUME: the state implied by what the keypad knows (rule 8)."""
    if refusal:
        return REFUSED
    if unanswered:
        return SENT
    if not checked_in:
        return IDLE
    if round_open:
        return RECORDED if recorded else MOTION_OPEN
    return CHECKED_IN
