"""gateway.api.edge against the real gateway process (uvicorn, SQLite, Mosquitto).

Authenticate before reading a body, the body limit, lone surrogates, the
API docs for signed-in users only, the database file's mode, and no audit
record or lock for a request without a token.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hvtest.gatewayproc import TOKENS, GatewayProcess, free_port, write_config
from hvtest.mosquitto import MosquittoBroker, running_broker

from gateway.audit import AuditLog
from gateway.db import make_engine

MiB = 1024 * 1024
pytestmark = pytest.mark.mosquitto


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    with running_broker(tmp_path, hall="county-hall", devices=[]) as b:
        yield b


def _start(tmp_path: Path, broker: MosquittoBroker, extra: str = "") -> tuple[GatewayProcess, Path]:
    db = tmp_path / "fresh.db"  # created by the gateway itself
    port = free_port()
    config = write_config(
        tmp_path / "hall.toml",
        hall="county-hall",
        database_url=f"sqlite:///{db}",
        broker=broker,
        api_port=port,
    )
    if extra:
        config.write_text(config.read_text().replace(f"port = {port}\n", f"port = {port}\n{extra}\n"))
    gw = GatewayProcess(config, port, tmp_path / "gateway.log")
    gw.start()
    return gw, db


def _rss_kib(gw: GatewayProcess) -> int:
    assert gw.proc is not None
    status = Path(f"/proc/{gw.proc.pid}/status").read_text()
    return int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS:")).split()[1])


def _chunks(total: int, size: int = MiB) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


def _post(url: str, content: object, headers: dict[str, str]) -> int | None:
    """The status, or None when the server closed the connection before we finished sending."""
    try:
        return httpx.post(url, content=content, headers=headers, timeout=60).status_code  # type: ignore[arg-type]
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        return None


def test_edge_of_the_real_gateway(tmp_path: Path, broker: MosquittoBroker) -> None:
    gw, db = _start(tmp_path, broker)
    try:
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
        audit = AuditLog(make_engine(f"sqlite:///{db}"))
        records = audit.count()
        clerk = {"Authorization": f"Bearer {TOKENS['clerk']}", "Content-Type": "application/json"}

        # 60 MiB without a token, with and without a length: refused, never read, never audited
        before = _rss_kib(gw)
        for _ in range(3):
            assert _post(gw.url + "/bodies", _chunks(60 * MiB), {"Content-Type": "application/json"}) in (
                401,
                None,
            )
            assert _post(gw.url + "/bodies", b"x" * (60 * MiB), {"Content-Type": "application/json"}) in (
                401,
                413,
                None,
            )
        assert _rss_kib(gw) - before < 30 * 1024  # the bodies were not taken in
        assert audit.count() == records
        assert "refused unauthenticated POST /api/v1/bodies" in (tmp_path / "gateway.log").read_text()

        # with a token: over the limit (default 5 MiB) is 413, with or without a length
        assert _post(gw.url + "/bodies", b"{" + b" " * (6 * MiB) + b"}", clerk) == 413
        assert _post(gw.url + "/bodies", _chunks(8 * MiB), clerk) in (413, None)

        # a lone surrogate is 422 INVALID_TEXT, and nothing is created
        r = httpx.post(gw.url + "/bodies", content=b'{"name": "\\ud800", "kind": "congress"}', headers=clerk)
        assert r.status_code == 422 and r.json()["code"] == "INVALID_TEXT"
        ok = httpx.post(
            gw.url + "/bodies", content='{"name": "某县人大😀", "kind": "congress"}'.encode(), headers=clerk
        )
        assert ok.status_code == 201, ok.text  # a proper surrogate pair (emoji) is fine
        assert [b["name"] for b in gw.api("GET", "/bodies").json()] == ["某县人大😀"]

        # the docs: signed-in users only
        base = gw.url.removesuffix("/api/v1")
        for path in ("/docs", "/openapi.json"):
            assert httpx.get(base + path).status_code == 401
            assert (
                httpx.get(base + path, headers={"Authorization": f"Bearer {TOKENS['display']}"}).status_code
                == 200
            )
        # health stays open
        assert httpx.get(gw.url + "/health").status_code in (200, 503)
    finally:
        gw.stop()


def test_docs_open_when_the_hall_says_so(tmp_path: Path, broker: MosquittoBroker) -> None:
    gw, _ = _start(tmp_path, broker, "docs = true")
    try:
        base = gw.url.removesuffix("/api/v1")
        assert httpx.get(base + "/openapi.json").status_code == 200
        assert httpx.get(base + "/docs").status_code == 200
        assert httpx.get(gw.url + "/bodies").status_code == 401  # the API itself still needs a token
    finally:
        gw.stop()
