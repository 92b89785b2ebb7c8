"""Pieces of ``hallvote gateway run``: the countdown ticker and the token redaction in uvicorn's logs."""

from __future__ import annotations

import logging
import threading
from typing import Any

from gateway.cli.gateway import RedactTokens, Ticker


class FakeGateway:
    def __init__(self) -> None:
        self.ticks = 0
        self.enough = threading.Event()

    def tick(self) -> list[Any]:
        self.ticks += 1
        if self.ticks == 2:
            raise RuntimeError("a failed tick must not end the ticker")
        if self.ticks >= 4:
            self.enough.set()
        return []


def test_ticker_ticks_survives_a_failure_and_stops() -> None:
    gw = FakeGateway()
    ticker = Ticker(gw, interval=0.01)  # type: ignore[arg-type]
    ticker.start()
    assert gw.enough.wait(5)
    ticker.stop()
    ticks = gw.ticks
    assert not ticker._thread.is_alive() and ticks >= 4


def test_websocket_tokens_do_not_reach_the_log() -> None:
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/api/v1/ws/live?token=chair-token-7f3a9c2e1b&x=1"),
        None,
    )
    assert RedactTokens().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "WebSocket /api/v1/ws/live?token=***&x=1" [accepted]'
    plain = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "GET %s", ("/api/v1/live",), None)
    assert RedactTokens().filter(plain) and plain.getMessage() == "GET /api/v1/live"
