"""What the rig reads from a keypad, wherever it runs: :class:`KeypadView`, and its cross-process mirror.

The scenario runner and the evidence report read a keypad only through
this view: its state (``firmware/app/states.py``; ``off`` while it is
switched off, when it shows no sitting or motion), the sitting and motion
it shows, the signed frames awaiting an answer, whether it shows 已签到,
presses not yet read by the app, its boots and the uplink frames it sent.
In the rig's own process (``SimRig(..., processes=1)``) the view is the
:class:`hil.rig.keypads.VirtualKeypad` itself.  Across processes it is a
:class:`KeypadMirror`, updated from the :class:`Snapshot` s its worker
pushes (only the keypads that changed, in batches).

A mirror counts the presses the rig sent it (``pressed``); a snapshot
carries the last press its worker had queued on the keys (``seq``).  Until
the snapshot has caught up with the rig's last press, ``keys_pending()``
is true: a snapshot older than the rig's own last press never reads as
settled.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

__all__ = ["KeypadMirror", "KeypadView", "Snapshot"]


class Snapshot(NamedTuple):
    state: str
    sitting_id: int | None
    sitting_state: int | None
    motion_id: int | None
    outbox_size: int
    checked_in: bool
    keys_queued: bool
    boots: int
    seq: int


OFF = Snapshot("off", None, None, None, 0, False, False, 0, 0)


class KeypadView(Protocol):
    device_id: str
    sent: list[bytes]

    @property
    def state(self) -> str: ...

    @property
    def sitting_id(self) -> int | None: ...

    @property
    def sitting_state(self) -> int | None: ...

    @property
    def motion_id(self) -> int | None: ...

    @property
    def outbox_size(self) -> int: ...

    @property
    def checked_in(self) -> bool: ...

    @property
    def boots(self) -> int: ...

    def keys_pending(self) -> bool: ...


class KeypadMirror:
    """A keypad running in a worker process, as its last snapshot shows it (see the module docstring)."""

    def __init__(self, device_id: str, worker: int) -> None:
        self.device_id = device_id
        self.worker = worker  # index of the worker process running it
        self.snap = OFF  # replaced whole, so a reader sees one snapshot's fields together
        self.pressed = 0  # the rig's last press sequence number sent to this keypad
        self.sent: list[bytes] = []

    def update(self, snap: Snapshot, sent: list[bytes]) -> None:
        self.sent.extend(sent)
        self.snap = snap

    @property
    def state(self) -> str:
        return self.snap.state

    @property
    def sitting_id(self) -> int | None:
        return self.snap.sitting_id

    @property
    def sitting_state(self) -> int | None:
        return self.snap.sitting_state

    @property
    def motion_id(self) -> int | None:
        return self.snap.motion_id

    @property
    def outbox_size(self) -> int:
        return self.snap.outbox_size

    @property
    def checked_in(self) -> bool:
        return self.snap.checked_in

    @property
    def boots(self) -> int:
        return self.snap.boots

    def keys_pending(self) -> bool:
        """Presses not yet read by the app, or not yet seen by the last snapshot."""
        snap = self.snap
        return snap.keys_queued or snap.seq < self.pressed
