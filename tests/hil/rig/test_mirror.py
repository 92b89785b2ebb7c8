"""KeypadMirror: a keypad in a worker process as its last snapshot shows it; never settled before its last press.

And the rig's defaults for large halls: the keypads' loop period and the number of keypad processes.
"""

from __future__ import annotations

import pytest

from firmware.app import states as S
from hil.rig.mirror import KeypadMirror, Snapshot
from hil.rig.sim import default_loop_ms, default_processes


def _snap(state: str = S.MOTION_OPEN, *, outbox: int = 0, queued: bool = False, seq: int = 0) -> Snapshot:
    return Snapshot(state, 7, 2, 11, outbox, True, queued, 1, seq)


def test_a_mirror_before_its_first_snapshot_is_off() -> None:
    m = KeypadMirror("kp-0001", 1)
    assert m.state == "off" and m.sitting_state is None and m.motion_id is None and not m.checked_in
    assert m.outbox_size == 0 and not m.keys_pending() and m.sent == []


def test_a_snapshot_older_than_the_last_press_is_not_settled() -> None:
    m = KeypadMirror("kp-0001", 0)
    m.update(_snap(seq=0), [])
    assert not m.keys_pending()
    m.pressed += 1  # the rig sent press 1; the worker has not shown it yet
    assert m.keys_pending()
    m.update(_snap(S.RECORDED, seq=0), [])  # a snapshot taken before the press reached the keys
    assert m.keys_pending()
    m.update(_snap(S.MOTION_OPEN, queued=True, seq=1), [])  # queued on the keys, not read by the app yet
    assert m.keys_pending()
    m.update(_snap(S.SENT, outbox=1, seq=1), [b"vote"])
    assert not m.keys_pending() and m.state == S.SENT and m.outbox_size == 1
    m.update(_snap(S.RECORDED, seq=1), [])
    assert m.state == S.RECORDED and m.outbox_size == 0 and m.motion_id == 11 and m.sitting_state == 2


def test_sent_frames_accumulate_across_snapshots() -> None:
    m = KeypadMirror("kp-0002", 0)
    m.update(_snap(), [b"a", b"b"])
    m.update(_snap(), [b"c"])
    assert m.sent == [b"a", b"b", b"c"]


@pytest.mark.parametrize(("keypads", "loop_ms"), [(3, 20), (300, 20), (600, 40), (3000, 200)])
def test_the_loop_period_keeps_the_fleet_s_iteration_rate(keypads: int, loop_ms: int) -> None:
    assert default_loop_ms(keypads) == loop_ms


def test_keypad_processes_grow_with_the_hall_up_to_the_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert [default_processes(n) for n in (3, 300, 301, 1000, 3000)] == [1, 1, 2, 2, 2]
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert [default_processes(n) for n in (300, 301, 1500, 1501, 3000)] == [1, 2, 2, 3, 4]
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert default_processes(3000) == 1
