"""The keypad's side of "a press never waits for a nonce": heartbeats and hellos leave the reserve
to presses, the public key is not computed at boot, and a keypad whose RNG looks dead and whose
boot count cannot reach flash shows a fault and signs nothing."""

from __future__ import annotations

from kpcontexts import MOTION, SITTING, Rig, in_state

from firmware import signer
from firmware.app import config
from firmware.app import states as S
from firmware.app.keypad import Keypad
from firmware.hal.sim import SimNvs
from gateway.core import signatures as crypto
from protocol import codec, topics


def dead_rng(n: int) -> bytes:
    return bytes(n)


class ForgetfulNvs(SimNvs):
    """Flash that silently keeps the old boot count (a worn or failing sector)."""

    def set(self, key: str, value: bytes) -> None:
        if key == config.NVS_BOOTS and key in self.data:
            return
        super().set(key, value)


def test_keypad_with_dead_rng_and_stuck_boot_count_shows_a_fault_and_signs_nothing() -> None:
    rig = in_state(S.CHECKED_IN)
    board = rig.board
    forgetful = ForgetfulNvs()
    forgetful.data = dict(board.nvs.data)
    board.nvs = forgetful
    board._rng = dead_rng  # type: ignore[attr-defined]
    kp = Keypad(board, rig.kp.cfg)  # a reboot: the boot count cannot advance
    assert kp.boots_durable is False
    rig.kp = kp
    kp.start()
    rig.connect()
    rig.broadcast("sitting", SITTING)
    before = len(rig.sent)
    for _ in range(300):
        rig.step(1)
    rig.broadcast("motion", MOTION)
    rig.press("yes")
    assert kp.sign_refusals >= 1 and kp.signer is not None and kp.signer.signatures == 0
    assert len(kp.outbox) == 0 and rig.sent[before:] == []
    assert board.display is not None and board.display.lines[:2] == [  # type: ignore[attr-defined]
        "签名故障",  # screen.TEXTS: the sign fault and its advice
        "请报修",
    ]


def test_heartbeats_and_hello_never_take_the_nonces_a_press_needs() -> None:
    rig = Rig()
    rig.boot()
    sg = rig.kp.signer
    assert sg is not None
    while sg.pending:
        rig.step(1)
    # a reconnect (hello), three heartbeats and a burst of presses within a few loop iterations
    rig.connect()
    rig.broadcast("sitting", SITTING)
    for _ in range(3):
        rig.step(rig.kp.cfg["heartbeat_s"] * 1000)
    assert sg.ready == rig.kp.cfg["nonce_reserve"]  # the third heartbeat waits
    rig.press("checkin")
    rig.ack_last()
    rig.broadcast("motion", MOTION)
    for key in ("yes", "no"):
        rig.press(key)
    assert sg.inline_nonces == 0, "a press computed its nonce inline"
    status = topics.device("h1", "kp-1", "status")
    health = [codec.decode(p) for t, p in rig.sent if t == status]
    assert [type(f).__name__ for f in health] == ["Hello", "Status", "Status"]
    while sg.pending:
        rig.step(1)
    health = [codec.decode(p) for t, p in rig.sent if t == status]
    assert [type(f).__name__ for f in health] == ["Hello", "Status", "Status", "Status"]  # once refilled
    key = rig.kp.public_key()
    assert key is not None
    for _, payload in rig.sent:
        crypto.verify(key, payload[:-64], payload[-64:])  # raises if not signed by this key


def test_boot_does_not_compute_the_public_key_inline() -> None:
    rig = in_state(S.IDLE)
    kp = Keypad(rig.board, rig.kp.cfg)  # a reboot with the key in NVS
    assert kp.signer is not None and kp.signer.public is None  # computed later, one step per loop
    assert kp.public_key() == signer.public_key_sec1(rig.board.nvs.get(config.NVS_SECRET) or b"")


def test_no_refill_while_the_client_opens_a_link_and_the_nonce_in_progress_is_dropped() -> None:
    """While the MQTT client opens a link (TCP, the TLS handshake, CONNECT until the CONNACK), the
    keypad runs no precompute slice and the signer drops the nonce in progress with its overlay, so
    the handshake has that heap; once the link is open the refill starts again."""
    rig = Rig()
    rig.boot()
    sg = rig.kp.signer
    assert sg is not None
    while sg._job is None:  # a nonce of the boot refill under way
        rig.step(1)
    made, taken, steps = sg.nonces_made, sg.counter, sg.total_steps
    for _ in range(50):
        rig.kp.step(rig.clock.advance(1), False, 0, True)  # the client is opening a link
        assert sg._job is None and sg.nonces_made == made and sg.total_steps == steps
    assert sg.counter == taken  # nothing new derived while opening
    for _ in range(5000):
        rig.step(1)
        if not sg.pending:
            break
    assert sg.ready == sg.pool_size
    assert sg.counter > taken  # the dropped nonce's counter value was not used again
