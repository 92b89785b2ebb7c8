"""Interop: paho-mqtt (a client we did not write) talks to a tiny server built on our codec.

paho's CONNECT/SUBSCRIBE/PUBLISH/UNSUBSCRIBE/PINGREQ/DISCONNECT must parse with
our Parser, and paho must accept our CONNACK/SUBACK (incl. 0x80)/PUBACK/
PUBLISH/UNSUBACK/PINGRESP.  Everything is on loopback with bounded waits.
"""

from __future__ import annotations

import queue
import socket
import threading

import paho.mqtt.client as paho

from firmware.mqtt import codec as c

WAIT = 10.0


class CodecServer(threading.Thread):
    """Accepts one client; answers with our encoder; records what it parsed."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(WAIT)
        self.port = self.sock.getsockname()[1]
        self.seen: queue.Queue[c.Packet] = queue.Queue()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            conn, _ = self.sock.accept()
            conn.settimeout(WAIT)
            with conn:
                self._serve(conn)
        except BaseException as e:  # reported by the test
            self.error = e
        finally:
            self.sock.close()

    def _serve(self, conn: socket.socket) -> None:
        parser = c.Parser()
        while True:
            data = conn.recv(7)  # small reads: packets arrive split
            if not data:
                return
            for pkt in parser.feed(data):
                self.seen.put(pkt)
                for reply in self._answer(pkt):
                    conn.sendall(reply.encode())
                if isinstance(pkt, c.Disconnect):
                    return

    def _answer(self, pkt: c.Packet) -> list[c.Packet]:
        if isinstance(pkt, c.Connect):
            return [c.Connack(False, c.ACCEPTED)]
        if isinstance(pkt, c.Subscribe):
            codes = [c.SUBACK_FAILURE if f.startswith("denied") else q for f, q in pkt.topics]
            return [c.Suback(pkt.packet_id, codes)]
        if isinstance(pkt, c.Publish):
            out: list[c.Packet] = []
            if pkt.qos == 1:
                out.append(c.Puback(pkt.packet_id))
            # echo back to the client as a QoS 1 delivery
            out.append(c.Publish("echo/" + pkt.topic, pkt.payload, qos=1, packet_id=77))
            return out
        if isinstance(pkt, c.Unsubscribe):
            return [c.Unsuback(pkt.packet_id)]
        if isinstance(pkt, c.Pingreq):
            return [c.Pingresp()]
        return []


def next_of(q: queue.Queue[c.Packet], kind: type) -> c.Packet:
    while True:
        pkt = q.get(timeout=WAIT)
        if isinstance(pkt, kind):
            return pkt


def test_paho_client_against_codec_server() -> None:
    server = CodecServer()
    server.start()
    events: queue.Queue[tuple] = queue.Queue()

    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2,
        client_id="kp-1",
        protocol=paho.MQTTv311,
        clean_session=True,
    )
    client.username_pw_set("kp-1", "s3cret-pw")
    client.will_set("hallvote/v2/h1/dev/kp-1/presence", b"\x00", qos=1, retain=True)
    client.on_connect = lambda cl, ud, flags, rc, props: events.put(("connect", rc.value))
    client.on_subscribe = lambda cl, ud, mid, rcs, props: events.put(
        ("suback", [rc.value for rc in rcs])
    )
    client.on_publish = lambda cl, ud, mid, rc, props: events.put(("puback", mid))
    client.on_message = lambda cl, ud, msg: events.put(("message", msg.topic, msg.payload, msg.qos))
    client.on_unsubscribe = lambda cl, ud, mid, rcs, props: events.put(("unsuback", mid))

    client.connect("127.0.0.1", server.port, keepalive=30)
    client.loop_start()
    try:
        assert events.get(timeout=WAIT) == ("connect", 0)
        connect = next_of(server.seen, c.Connect)
        assert connect == c.Connect(
            "kp-1",
            clean_session=True,
            keepalive=30,
            will_topic="hallvote/v2/h1/dev/kp-1/presence",
            will_message=b"\x00",
            will_qos=1,
            will_retain=True,
            username="kp-1",
            password=b"s3cret-pw",
        )

        client.subscribe([("hallvote/v2/h1/hall/+", 1), ("denied/#", 0)])
        assert events.get(timeout=WAIT) == ("suback", [1, 0x80])
        sub = next_of(server.seen, c.Subscribe)
        assert sub.topics == [("hallvote/v2/h1/hall/+", 1), ("denied/#", 0)]

        info = client.publish("hallvote/v2/h1/dev/kp-1/up", b"\x01\x02" * 200, qos=1)
        got = [events.get(timeout=WAIT), events.get(timeout=WAIT)]
        assert ("puback", info.mid) in got
        assert ("message", "echo/hallvote/v2/h1/dev/kp-1/up", b"\x01\x02" * 200, 1) in got
        pub = next_of(server.seen, c.Publish)
        assert (pub.qos, pub.packet_id, pub.payload) == (1, info.mid, b"\x01\x02" * 200)
        # paho acknowledged our QoS 1 delivery with a PUBACK we can parse
        assert next_of(server.seen, c.Puback) == c.Puback(77)

        client.publish("t/0", b"", qos=0)
        pub0 = next_of(server.seen, c.Publish)
        assert (pub0.topic, pub0.qos, pub0.packet_id) == ("t/0", 0, None)

        client.unsubscribe("hallvote/v2/h1/hall/+")
        unsub = next_of(server.seen, c.Unsubscribe)
        assert unsub.topics == ["hallvote/v2/h1/hall/+"]
        while (ev := events.get(timeout=WAIT))[0] != "unsuback":
            pass
        assert ev == ("unsuback", unsub.packet_id)

        client.disconnect()
        next_of(server.seen, c.Disconnect)
    finally:
        client.loop_stop()
    server.join(WAIT)
    assert server.error is None, server.error


def test_paho_keepalive_ping_parses() -> None:
    server = CodecServer()
    server.start()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="p", protocol=paho.MQTTv311)
    client.connect("127.0.0.1", server.port, keepalive=1)
    client.loop_start()
    try:
        next_of(server.seen, c.Connect)
        next_of(server.seen, c.Pingreq)  # paho pings within ~1 s; we answer PINGRESP
        next_of(server.seen, c.Pingreq)  # and it keeps the link: our PINGRESP was accepted
        client.disconnect()
        next_of(server.seen, c.Disconnect)
    finally:
        client.loop_stop()
    server.join(WAIT)
    assert server.error is None, server.error
