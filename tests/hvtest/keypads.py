"""A test keypad identity: a P-256 key (from `cryptography`) and a counter.

It signs exactly as the firmware does (raw low-s r || s over the signed
region), fast enough for bursts of thousands of frames in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from protocol import codec, consts, frames

N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def sign_raw(key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    if s > N // 2:
        s = N - s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@dataclass
class TestKeypad:
    device_id: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    counter: int = 0

    __test__ = False  # not a pytest test class

    @property
    def public_key(self) -> bytes:
        return self.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def next_counter(self) -> int:
        self.counter += 1
        return self.counter

    def seal(self, frame: frames.Uplink) -> bytes:
        return codec.seal(frame, lambda region: sign_raw(self.key, region))

    def check_in(self, sitting_id: int, nonce: bytes, card_uid: bytes = b"") -> bytes:
        return self.seal(frames.CheckIn(self.device_id, self.next_counter(), sitting_id, nonce, card_uid))

    def vote(
        self,
        motion_id: int,
        round_: int,
        nonce: bytes,
        choices: tuple[int, ...],
        kind: int = consts.YES_NO_ABSTAIN,
        counter: int | None = None,
    ) -> bytes:
        c = self.next_counter() if counter is None else counter
        return self.seal(frames.Vote(self.device_id, c, motion_id, round_, nonce, kind, choices))

    def status(self, battery: int = 90) -> bytes:
        return self.seal(
            frames.Status(self.device_id, self.next_counter(), (1, 0, 0), 60, battery, -55, 80000)
        )
