"""The gateway's pure core: what counts.

* :mod:`.states`   the sitting and round state machines, as tables;
* :mod:`.state`    the in-memory picture of a hall;
* :mod:`.decide`   decide(state, inbound) -> Decision (ack or nack + events);
* :mod:`.commands` chair commands -> events;
* :mod:`.apply`    apply(state, event), the only mutation;
* :mod:`.tally`    counting ballots;
* :mod:`.signatures` strict low-s ECDSA P-256 verification of keypad frames;
* :mod:`.wire`     the hot frames (check-in, vote, status in; acks out) as protocol.codec reads and writes them, sooner.

No I/O anywhere here: the broker bridge and the store sit at the edges.
"""

from . import apply, commands, decide, events, state, states, tally
from .decide import Decision, Inbound
from .errors import CommandError, TransitionError

__all__ = [
    "CommandError",
    "Decision",
    "Inbound",
    "TransitionError",
    "apply",
    "commands",
    "decide",
    "events",
    "state",
    "states",
    "tally",
]
