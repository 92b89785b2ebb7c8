"""The client's side of the MQTT codec (firmware/mqtt/packets.py): what the keypad loads.

On its own it encodes what a client sends and decodes what a broker sends a
client, byte for byte as the full codec does, and refuses the packets only a
broker receives.  Checked on the real MicroPython interpreter from mpy-cross
output, where nothing imports the full codec, and there the keypad's client
loads packets and never codec.
"""

from __future__ import annotations

import pytest
from hvtest.micropython import (
    micropython_harness,  # noqa: F401  (the `micropython` fixture)
    need_mpy_cross,
)

from firmware.mqtt import codec as c
from firmware.mqtt import packets as p

pytestmark = pytest.mark.micropython

# What a client sends, and what a broker sends a client.
CLIENT_SENDS = [
    c.Connect(
        "kp-1", keepalive=30, will_topic="w/p", will_message=b"\x00", will_qos=1, will_retain=True,
        username="kp-1", password="pw",
    ),
    c.Publish("a/b", b"hi", qos=1, packet_id=7, dup=True),
    c.Puback(7),
    c.Subscribe(3, [("a/+", 1), ("x/#", 0)]),
    c.Unsubscribe(4, ["a/+"]),
    c.Pingreq(),
    c.Disconnect(),
]
BROKER_SENDS = [
    c.Connack(False, 0),
    c.Connack(False, 5),
    c.Publish("h/dev/kp-1/down", b"\x02\x10", qos=1, retain=True, packet_id=9),
    c.Puback(7),
    c.Suback(3, [1, 0x80]),
    c.Unsuback(4),
    c.Pingresp(),
]
# Only a broker receives these (and QoS 2, which the keypad never asks for).
BROKER_RECEIVES = [c.Connect("kp-1"), c.Subscribe(3, [("a/+", 1)]), c.Unsubscribe(4, ["a"]), c.Pingreq(),
                   c.Disconnect(), c.Pubrec(5), c.Pubrel(5), c.Pubcomp(5)]  # fmt: skip

SCRIPT = r"""
import sys, hvhost
from firmware.mqtt import packets as p
from firmware.mqtt import client as mc

inp = hvhost.load_input()
out = {"client_sends": [], "broker_sends": [], "refused": []}
mk = {
    "Connect": lambda: p.Connect("kp-1", keepalive=30, will_topic="w/p", will_message=b"\x00", will_qos=1,
                                 will_retain=True, username="kp-1", password="pw"),
    "Publish": lambda: p.Publish("a/b", b"hi", qos=1, packet_id=7, dup=True),
    "Puback": lambda: p.Puback(7),
    "Subscribe": lambda: p.Subscribe(3, [("a/+", 1), ("x/#", 0)]),
    "Unsubscribe": lambda: p.Unsubscribe(4, ["a/+"]),
    "Pingreq": lambda: p.Pingreq(),
    "Disconnect": lambda: p.Disconnect(),
}
for name in inp["client_sends"]:
    out["client_sends"].append(mk[name]().encode().hex())
for h in inp["broker_sends"]:
    pkt = p.Parser().feed(bytes.fromhex(h))[0]
    out["broker_sends"].append([type(pkt).__name__, pkt.encode().hex() if type(pkt).__name__ in mk else None])
for h in inp["broker_receives"]:
    try:
        p.Parser().feed(bytes.fromhex(h))
        out["refused"].append("accepted")
    except p.MQTTProtocolError as e:
        out["refused"].append(str(e))
out["loaded"] = sorted(k for k in sys.modules if k.startswith("firmware.mqtt"))
hvhost.result(out)
"""


def test_packets_is_the_same_classes_the_full_codec_completes() -> None:
    for name in ("Connect", "Connack", "Publish", "Puback", "Subscribe", "Suback", "Unsubscribe", "Unsuback",
                 "Pingreq", "Pingresp", "Disconnect", "Parser", "MQTTProtocolError"):  # fmt: skip
        assert getattr(c, name) is getattr(p, name)


def test_packets_alone_on_micropython(micropython) -> None:  # type: ignore[no-untyped-def]
    need_mpy_cross()
    out = micropython.run_json(
        SCRIPT,
        compiled=True,
        input_data={
            "client_sends": [type(x).__name__ for x in CLIENT_SENDS],
            "broker_sends": [x.encode().hex() for x in BROKER_SENDS],
            "broker_receives": [x.encode().hex() for x in BROKER_RECEIVES],
        },
    )
    print(out)
    assert out["client_sends"] == [x.encode().hex() for x in CLIENT_SENDS]
    # every packet a broker sends decodes to its type; the ones a client also sends re-encode exactly
    assert [n for n, _ in out["broker_sends"]] == [type(x).__name__ for x in BROKER_SENDS]
    for (name, again), x in zip(out["broker_sends"], BROKER_SENDS, strict=True):
        assert again is None or again == x.encode().hex(), name
    assert all(r.startswith("packet type") and r.endswith("not one a broker sends") for r in out["refused"])
    assert len(out["refused"]) == len(BROKER_RECEIVES)
    # the keypad's client loads the client's side only
    assert "firmware.mqtt.packets" in out["loaded"] and "firmware.mqtt.codec" not in out["loaded"]
