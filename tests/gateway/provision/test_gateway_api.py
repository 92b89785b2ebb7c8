"""gateway.provision.gateway_api: only a refused connection means the gateway is stopped."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from gateway.provision import gateway_api
from gateway.provision.errors import GatewayError
from gateway.provision.gateway_api import GatewayApi


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers (a gateway too busy to reply)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            held.append(conn)

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield int(srv.getsockname()[1])
    stop.set()
    t.join()
    for c in held:
        c.close()
    srv.close()


def test_nothing_listening_means_stopped() -> None:
    api = GatewayApi(url=f"http://127.0.0.1:{_free_port()}", hall_id="h1")
    assert api.probe() is False and api.running is False


def test_a_gateway_that_does_not_answer_is_not_taken_for_stopped(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_api, "_TIMEOUT", 0.3)
    api = GatewayApi(url=f"http://127.0.0.1:{silent_server}", hall_id="h1", token="t")
    with pytest.raises(GatewayError) as err:
        api.probe()
    assert "nothing was changed" in str(err.value) and api.running is None
