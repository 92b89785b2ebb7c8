"""Attacks the broker must stop before any frame reaches the gateway: logins, the ACL, packet size, accounts.

Each returns the :class:`~hil.attacks.client.Row` it added to the bench.
The expected outcomes are the generated configuration's: TLS only on the
keypads' port, a password per account, an ACL that lets a keypad publish
only on its own uplink topics and read only its own downlink and the hall
broadcasts, a packet size bound, and (with the dynamic-security plugin) a
revoked keypad disabled by the gateway.
"""

from __future__ import annotations

from gateway.broker.config import CONTROL_USER
from gateway.broker.dynsec import DynsecClient
from hil.attacks.client import Attacker, Holder, Row, plain_connect, wait_for
from hil.attacks.hall import Bench
from protocol import topics

__all__ = ["connect_attacks", "control_client", "oversize", "revoked", "subscribe_attacks", "unregistered"]

REFUSED = "refused: Not authorized"


def _refused(a: Attacker) -> str:
    return "connected" if a.connected else f"refused: {a.rc}"


def connect_attacks(b: Bench, victim: str) -> None:
    """No credentials, a wrong password, a plain (non-TLS) CONNECT on the keypads' port."""
    a = b.session(None, None, client_id="intruder")
    b.add(Row("connect without credentials", 1, int(a.connected), _refused(a), REFUSED))
    a = b.session(victim, "not-the-password", client_id=victim + "-x")
    b.add(Row("connect with a wrong password", 1, int(a.connected), _refused(a), REFUSED))
    got = plain_connect(b.broker.host, b.broker.port)
    ok = got[:1] == b"\x20"
    b.add(
        Row(
            "plain TCP (no TLS) on the keypads' port",
            1,
            int(ok),
            "CONNACK" if ok else "no CONNACK",
            "no CONNACK",
        )
    )


def subscribe_attacks(b: Bench, spy: Attacker, victim: str) -> None:
    """Reading what is not one's own: another keypad's downlink, every keypad's uplink."""
    hall = b.broker.hall
    for what, topic in (("subscribe to another keypad's downlink", topics.device(hall, victim, "down")),
                        ("subscribe to every keypad's uplink", f"hallvote/v2/{hall}/dev/+/up"),
                        ("subscribe to everything (#)", "#")):  # fmt: skip
        codes = spy.subscribe(topic)
        granted = bool(codes) and all(c < 0x80 for c in codes)
        outcome = "SUBACK refused (0x80)" if codes and all(c >= 0x80 for c in codes) else f"SUBACK {codes}"
        b.add(Row(what, 1, int(granted), outcome, "SUBACK refused (0x80)"))


def oversize(b: Bench, device: str) -> Row:
    """A 64 KiB packet (above the broker's max_packet_size): the broker closes the connection."""
    a = b.session(device)
    before = b.tally()
    a.publish(device, b"\x02\x04" + b"\x00" * 65536)
    closed = wait_for(lambda: not a.client.is_connected(), 10)
    after = b.tally()
    return b.add(Row("a 64 KiB packet on one's own topic", 1, int(before != after),
                     "disconnected by the broker" if closed else "still connected",
                     "disconnected by the broker"))  # fmt: skip


def control_client(b: Bench) -> DynsecClient:
    """The broker's ``_control`` account, as an insider holding its password would use it."""
    return DynsecClient(
        host=b.broker.host, port=b.broker.local_port, password=b.broker.password(CONTROL_USER)
    )


def unregistered(b: Bench, device: str, sitting: int, nonce: bytes) -> None:
    """A broker account the gateway never registered (added by hand): its frames are UNKNOWN_DEVICE."""
    with control_client(b) as dc:
        dc.add_devices(b.broker.hall, [(device, "unregistered-" + device)])
    a = b.session(device, "unregistered-" + device)
    holder = Holder(device, b"\x07" * 32)
    b.frame(a, "a broker account added by hand, unknown to the gateway", holder.check_in(sitting, nonce),
            "nack UNKNOWN_DEVICE")  # fmt: skip
    a.close()


def revoked(b: Bench, device: str, sitting: int, nonce: bytes) -> None:
    """A keypad revoked by the technician: the broker drops its session and refuses its login; re-enabled
    on the broker behind the gateway's back (an insider with the control password), its frames are
    DEVICE_REVOKED."""
    a = b.session(device)
    b.call("POST", f"/devices/{device}/revoke", role="technician")
    dropped = wait_for(lambda: not a.client.is_connected(), 30)
    b.add(Row("a revoked keypad's open session", 1, 0, "closed by the broker" if dropped else "still open",
              "closed by the broker"))  # fmt: skip
    again = b.session(device)
    b.add(Row("a revoked keypad logs in", 1, int(again.connected), _refused(again), REFUSED))
    with control_client(b) as dc:
        dc.enable([device])
    back = b.session(device)
    if not back.connected:
        b.add(Row("a revoked keypad re-enabled on the broker by an insider, then votes", 1, 0,
                  f"could not log in: {back.rc}", "nack DEVICE_REVOKED"))  # fmt: skip
        return
    b.frame(back, "a revoked keypad re-enabled on the broker by an insider, then checks in",
            b.holder(device, 5000).check_in(sitting, nonce), "nack DEVICE_REVOKED")  # fmt: skip
    back.close()
    with control_client(b) as dc:
        dc.disable([device])
