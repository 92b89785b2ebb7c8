"""The MQTT codec and client on the real MicroPython interpreter (WebAssembly port).

The port has no sockets, so the client runs over an in-memory link with a
scripted broker written with the same codec: this proves the driver's
asyncio subset (Event, Lock, wait_for, create_task, cancel, ticks) works on
MicroPython's asyncio, not only on CPython's.  Modules load from mpy-cross
output, as they would on the keypad.
"""

from __future__ import annotations

import pytest
from hvtest.micropython import (
    micropython_harness,  # noqa: F401  (the `micropython` fixture)
    need_mpy_cross,
)

pytestmark = pytest.mark.micropython

CODEC_SCRIPT = r"""
import hvhost
from firmware.mqtt import codec as c

pkts = [
    c.Connect("kp-1", keepalive=30, will_topic="w/p", will_message=b"\x00", will_qos=1,
              will_retain=True, username="kp-1", password="pw"),
    c.Connack(False, 5), c.Publish("a/b", b"hi", qos=1, packet_id=7, dup=True), c.Puback(7),
    c.Subscribe(3, [("a/+", 1), ("x/#", 0)]), c.Suback(3, [1, 0x80]),
    c.Unsubscribe(4, ["a/+"]), c.Unsuback(4), c.Pingreq(), c.Pingresp(), c.Disconnect(),
    c.Pubrel(9), c.Publish("t", b"x" * 300),
]
stream = b"".join(p.encode() for p in pkts)
whole = c.Parser().feed(stream)
p = c.Parser()
split = []
for i in range(len(stream)):
    split += p.feed(stream[i:i + 1])
errors = []
for bad in ["0000", "300400012b78", "32808080800100", "20020009", "30050003c3287a", "c100"]:
    try:
        c.Parser().feed(bytes.fromhex(bad))
        errors.append("no error")
    except c.MQTTProtocolError:
        errors.append("MQTTProtocolError")
    except Exception as e:
        errors.append(type(e).__name__)
hvhost.result({
    "whole": whole == pkts, "split": split == pkts, "errors": errors,
    "hex": stream[:16].hex(), "file": c.__file__,
})
"""

CLIENT_SCRIPT = r"""
import asyncio, sys, hvhost
from firmware.mqtt import codec as c
from firmware.mqtt import client as mc
from firmware.mqtt import host


class Pipe:
    def __init__(self):
        self.buf = b""
        self.ev = asyncio.Event()
        self.closed = False

    def feed(self, data):
        self.buf += data
        self.ev.set()

    def close(self):
        self.closed = True
        self.ev.set()

    async def read(self, n):
        while not self.buf and not self.closed:
            self.ev.clear()
            await self.ev.wait()
        data = self.buf[:n]
        self.buf = self.buf[n:]
        return data


class End:
    def __init__(self, inp, out):
        self.inp = inp
        self.out = out

    async def read(self, n):
        return await self.inp.read(n)

    def write(self, data):
        if self.out.closed:
            raise OSError(32)
        self.out.feed(bytes(data))

    async def drain(self):
        await asyncio.sleep(0)

    def close(self):
        self.inp.close()
        self.out.close()


log = {"publishes": [], "acks_from_client": [], "connects": 0}


async def serve(end, index):
    parser = c.Parser()
    backlog = []

    async def recv():
        while not backlog:
            data = await end.read(64)
            if not data:
                raise OSError("closed")
            backlog.extend(parser.feed(data))
        return backlog.pop(0)

    try:
        pkt = await recv()
        assert isinstance(pkt, c.Connect)
        log["connects"] += 1
        log["will"] = pkt.will_topic
        end.write(c.Connack(False, 0).encode())
        while True:
            pkt = await recv()
            if isinstance(pkt, c.Publish):
                log["publishes"].append([index, pkt.topic, pkt.payload.decode(), pkt.dup, pkt.packet_id])
                if pkt.payload == b"vote" and index == 0:
                    end.close()  # lose the link before the PUBACK
                    return
                if pkt.qos:
                    end.write(c.Puback(pkt.packet_id).encode())
                if pkt.payload == b"vote":
                    end.write(c.Publish("hallvote/v2/h1/dev/kp-1/down", b"ack", 1, False, False, 5).encode())
            elif isinstance(pkt, c.Subscribe):
                end.write(c.Suback(pkt.packet_id, [1] * len(pkt.topics)).encode())
            elif isinstance(pkt, c.Puback):
                log["acks_from_client"].append(pkt.packet_id)
            elif isinstance(pkt, c.Pingreq):
                end.write(c.Pingresp().encode())
    except OSError:
        pass


async def open_conn(host, port, ssl, server_hostname):
    a, b = Pipe(), Pipe()
    asyncio.create_task(serve(End(b, a), log["connects"]))
    end = End(a, b)
    return end, end


async def main():
    inbox = []
    kp = host.for_device("h1", "kp-1", "password-1", "broker", 8883, open_connection=open_conn,
                       backoff_base=0.01, backoff_cap=0.05, keepalive=1,
                       on_message=lambda t, p, r: inbox.append([t, p.decode()]))
    kp.start()
    ok = await kp.wait_connected(5)
    online_modules = sorted(k for k in sys.modules if k.startswith("firmware.mqtt"))
    pid = await kp.publish("hallvote/v2/h1/dev/kp-1/up", b"vote", qos=1)
    for _ in range(500):
        if kp.connects >= 2 and not kp.is_pending(pid) and inbox and kp.pings >= 1:
            break
        await asyncio.sleep(0.01)
    online_again = sorted(k for k in sys.modules if k.startswith("firmware.mqtt"))
    await kp.close()

    from firmware.mqtt import connect  # the connect path's backoff, with the default random source
    kp.backoff_base, kp.backoff_cap = 2.0, 60.0
    firsts = []
    for _ in range(300):
        kp.backoff_attempt = 0
        firsts.append(connect.backoff(kp))
    return ok, kp, inbox, pid, firsts, [online_modules, online_again]


# the port's top-level coroutine cannot be thrown into, so the client runs in a real task
ok, kp, inbox, pid, firsts, online = await asyncio.create_task(main())
hvhost.result({
    "connected": ok, "connects": kp.connects, "pending": kp.pending(), "pid": pid, "online": online,
    "log": log, "inbox": inbox, "pings": kp.pings, "dropped": kp.dropped,
    "spread": [min(firsts), max(firsts), len(set(firsts))], "file": mc.__file__,
})
"""


def test_codec_on_micropython(micropython) -> None:  # type: ignore[no-untyped-def]
    need_mpy_cross()
    out = micropython.run_json(CODEC_SCRIPT, compiled=True)
    assert out["file"].endswith(".mpy")
    assert out["whole"] and out["split"]
    assert out["errors"] == ["MQTTProtocolError"] * 6
    assert out["hex"] == "1022" + "00044d515454" + "04" + "ee" + "001e" + "00046b70"


def test_client_on_micropython_asyncio(micropython) -> None:  # type: ignore[no-untyped-def]
    need_mpy_cross()
    out = micropython.run_json(CLIENT_SCRIPT, compiled=True)
    assert out["file"].endswith(".mpy")
    assert out["connected"] is True
    assert out["connects"] == 2 and out["pending"] == 0
    pid = out["pid"]
    votes = [p for p in out["log"]["publishes"] if p[2] == "vote"]
    # first try on link 0, no PUBACK; resent on link 1 with DUP and the same packet id
    assert votes == [
        [0, "hallvote/v2/h1/dev/kp-1/up", "vote", False, pid],
        [1, "hallvote/v2/h1/dev/kp-1/up", "vote", True, pid],
    ]
    births = [p for p in out["log"]["publishes"] if p[1].endswith("/presence")]
    assert [b[0] for b in births][:2] == [0, 1]
    assert out["log"]["will"] == "hallvote/v2/h1/dev/kp-1/presence"
    assert out["inbox"] == [["hallvote/v2/h1/dev/kp-1/down", "ack"]]
    assert 5 in out["log"]["acks_from_client"]
    assert out["pings"] >= 1
    low, high, distinct = out["spread"]
    assert 0 <= low < high < 2.0 and distinct > 290
    # online (the first link and the second), the connect path is unloaded
    host_side = ["firmware.mqtt.codec", "firmware.mqtt.host"]
    assert out["online"] == [["firmware.mqtt", "firmware.mqtt.client", *host_side]] * 2
