"""The live stream: a snapshot on connect, an update after each change (coalesced), heartbeats, auth, clean close."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from hvtest.seed import add_motion
from starlette.websockets import WebSocketDisconnect

from protocol import consts, frames

Api = Any  # tests/gateway/api/conftest.py's Api (a conftest cannot be imported under importlib mode)

WS = "/api/v1/ws/live"


def _next_snapshot(ws: Any, newer_than: int, limit: int = 50) -> dict[str, Any]:
    """The next snapshot message with a version above ``newer_than`` (heartbeats skipped, bounded)."""
    for _ in range(limit):
        message = ws.receive_json()
        if message["type"] == "snapshot" and message["data"]["version"] > newer_than:
            return dict(message["data"])
        assert message["type"] in ("snapshot", "heartbeat"), message
    raise AssertionError(f"no newer snapshot in {limit} messages")


def _open_round(api: Api) -> tuple[int, int]:
    sid = api.hall.sitting_id
    api.post("chair", f"/api/v1/sittings/{sid}/checkin/open")
    api.check_in(1, 2, 3, 4, 5)
    api.post("chair", f"/api/v1/sittings/{sid}/start")
    key = api.gateway.add_motion(add_motion(api.engine, sid, secret=False), "秘书长")
    assert api.post("chair", f"/api/v1/motions/{key[0]}/rounds/{key[1]}/open").status_code == 200
    return key


def test_snapshot_on_connect_and_update_after_a_vote(api: Api) -> None:
    motion_id, number = _open_round(api)
    with api.client.websocket_connect(f"{WS}?token={api.tokens['display']}") as ws:
        first = ws.receive_json()
        assert first["type"] == "snapshot"
        snap = first["data"]
        assert snap["sitting"]["present"] == 5 and snap["round"]["state"] == "open"
        assert snap["round"]["voted"] == 0

        run = api.gateway.sitting.rounds[(motion_id, number)]
        (ack,) = api.send(("kp-1", api.hall.kp(1).vote(motion_id, number, run.nonce, (consts.YES,))))
        assert isinstance(ack, frames.Ack)
        update = _next_snapshot(ws, snap["version"])
        assert update["round"]["voted"] == 1 and update["round"]["totals"] == [[1, 0, 0]]
        assert update["round"]["not_pressed"] == 4

        # Nothing changes: a heartbeat comes (the test app beats every 0.5 s).
        message = ws.receive_json()
        while message["type"] == "snapshot":
            message = ws.receive_json()
        assert message == {"type": "heartbeat", "version": update["version"], "at": message["at"]}
    # Leaving the block closed the socket; the server side ended (else the client would hang here).


def test_updates_are_coalesced_to_at_most_ten_and_at_least_five_a_second(api: Api) -> None:
    """While the hall changes all the time (a busy vote), snapshots come every 100 ms, not per change."""
    with api.client.websocket_connect(f"{WS}?token={api.tokens['chair']}") as ws:
        ws.receive_json()
        stop = threading.Event()

        def busy() -> None:  # a change every 5 ms, as a stream of presses would make
            while not stop.is_set():
                api.gateway.version += 1
                time.sleep(0.005)

        changer = threading.Thread(target=busy, daemon=True)
        window = 2.0
        changer.start()
        started = time.monotonic()
        snapshots = 0
        try:
            while time.monotonic() - started < window:
                if ws.receive_json()["type"] == "snapshot":
                    snapshots += 1
        finally:
            stop.set()
            changer.join()
        elapsed = time.monotonic() - started
    changes = int(elapsed / 0.005)
    assert snapshots <= elapsed * 10 + 2, (snapshots, elapsed)  # coalesced: at most one per 100 ms poll
    assert snapshots >= elapsed * 5, (snapshots, elapsed)  # and at least 5 a second
    assert snapshots < changes / 5  # far fewer snapshots than changes


def test_token_in_the_first_message(api: Api) -> None:
    with api.client.websocket_connect(WS) as ws:
        ws.send_json({"token": api.tokens["clerk"]})
        assert ws.receive_json()["type"] == "snapshot"
    with api.client.websocket_connect(WS) as ws:
        ws.send_text(api.tokens["display"])
        assert ws.receive_json()["type"] == "snapshot"


@pytest.mark.parametrize("how", ["query", "first-message"])
def test_a_bad_token_is_refused_with_1008(api: Api, how: str) -> None:
    with pytest.raises(WebSocketDisconnect) as closed:
        if how == "query":
            with api.client.websocket_connect(f"{WS}?token=wrong-token-123456") as ws:
                ws.receive_json()
        else:
            with api.client.websocket_connect(WS) as ws:
                ws.send_text("wrong-token-123456")
                ws.receive_json()
    assert closed.value.code == 1008


def test_the_big_screen_sees_the_result_once_announced(api: Api) -> None:
    motion_id, number = _open_round(api)
    api.post("chair", f"/api/v1/motions/{motion_id}/rounds/{number}/close")
    with api.client.websocket_connect(f"{WS}?token={api.tokens['display']}") as ws:
        snap = ws.receive_json()["data"]
        assert snap["round"]["state"] == "closed" and snap["round"]["result"] is None
        api.post("chair", f"/api/v1/motions/{motion_id}/rounds/{number}/announce")
        update = _next_snapshot(ws, snap["version"])
        assert update["round"]["state"] == "announced"
        assert update["round"]["result"]["expected"] == 5 and update["round"]["totals"] == [[0, 0, 0]]
