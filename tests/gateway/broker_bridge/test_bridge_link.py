"""The bridge says why it cannot reach the broker (refused, TLS, auth) and when the link came up."""

from __future__ import annotations

import logging
import ssl
from typing import Any

import pytest
from hvtest.mosquitto import MosquittoBroker, free_port

from gateway.broker_bridge import BrokerBridge
from gateway.broker_bridge.bridge import failure_reason

pytestmark = pytest.mark.mosquitto


def _bridge(broker: MosquittoBroker, core: Any, **kw: Any) -> BrokerBridge:
    options: dict[str, Any] = dict(
        hall_id=broker.hall,
        host=broker.host,
        port=broker.local_port,
        username=broker.gateway.username,
        password=broker.gateway.password,
        handler=core,
        reconnect_delay_s=(1, 2),
    )
    options.update(kw)
    return BrokerBridge(**options)


def _failed(bridge: BrokerBridge, wait_until: Any) -> str:
    bridge.start()
    try:
        wait_until(lambda: bridge.link().failures >= 1, "a failed attempt")
        link = bridge.link()
        assert not link.connected and link.since is not None and link.last_error
        return link.last_error
    finally:
        bridge.stop()


def test_refused(
    broker: MosquittoBroker, core: Any, wait_until: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "hallvote.broker_bridge")
    error = _failed(_bridge(broker, core, port=free_port()), wait_until)
    assert error.startswith("refused:")
    line = next(r.getMessage() for r in caplog.records if "connection failed" in r.getMessage())
    assert "(refused:" in line and "attempt 1, next in 1 s" in line


def test_bad_password_is_auth(broker: MosquittoBroker, core: Any, wait_until: Any) -> None:
    assert _failed(_bridge(broker, core, password="not-the-password"), wait_until).startswith("auth:")


def test_tls_with_another_ca(broker: MosquittoBroker, core: Any, wait_until: Any, tmp_path: Any) -> None:
    other = MosquittoBroker(tmp_path / "other", hall=broker.hall)  # a different hall CA, never started
    ctx = ssl.create_default_context(cafile=str(other.ca_path))
    error = _failed(_bridge(broker, core, port=broker.port, tls=ctx), wait_until)
    assert error.startswith("tls:") and "certificate" in error


def test_link_up_since_and_down_again(
    broker: MosquittoBroker, core: Any, bridges: Any, wait_until: Any
) -> None:
    bridge = bridges(core)
    up = bridge.link()
    assert up.connected and up.since is not None and up.failures == 0 and up.last_error is None
    broker.stop()
    wait_until(lambda: not bridge.link().connected, "the link down")
    assert bridge.link().last_error is not None
    broker.start()
    wait_until(lambda: bridge.link().connected, "the link back", 20)
    assert bridge.link().since is not None and bridge.link().since >= up.since  # type: ignore[operator]


def test_failure_reasons() -> None:
    assert failure_reason(ConnectionRefusedError(111, "refused")) == "refused"
    assert failure_reason(ssl.SSLCertVerificationError("bad")) == "tls"
    assert failure_reason(TimeoutError()) == "unreachable"
    assert failure_reason(ValueError()) == "error"


def test_the_broker_connection_has_tcp_nodelay(broker: MosquittoBroker, core: Any, bridges: Any) -> None:
    import socket

    bridge = bridges(core)
    sock = bridge._client.socket()
    assert isinstance(sock, socket.socket)
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
