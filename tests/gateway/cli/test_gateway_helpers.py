"""Pieces of ``hallvote gateway run``: the countdown ticker, the token redaction in uvicorn's logs, the GC settings."""

from __future__ import annotations

import gc
import logging
import threading
from typing import Any

from gateway.cli.gateway import GC_YOUNG, RedactTokens, Ticker, _settle_gc


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


def test_settle_gc_freezes_what_start_up_built_and_collects_young_objects_less_often() -> None:
    before = gc.get_threshold()
    try:
        built = [{"kept": i} for i in range(1000)]  # what start-up built: lives as long as the process
        _settle_gc()
        assert gc.get_freeze_count() >= len(built)
        assert gc.get_threshold() == (GC_YOUNG, before[1], before[2])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
