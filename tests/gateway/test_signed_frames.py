"""A signed uplink frame is accepted exactly as sent: every mutation is rejected.

Frames are made and sealed by the keypad's own signer (firmware.signer on
CPython) and checked as the gateway does: protocol decode, then
gateway.core.signatures.verify with the device's public key.
"""

from __future__ import annotations

import os

from hvtest import strategies as hs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.signer import Signer, generate_private_key, public_key_sec1
from gateway.core import signatures as crypto
from protocol import codec, frames
from protocol.errors import ProtocolError

SECRET = generate_private_key(os.urandom)
PUBLIC = public_key_sec1(SECRET)
SIGNER = Signer(SECRET, os.urandom, 8)


def _accepts(data: bytes) -> bool:
    try:
        frame = codec.decode(data)
        assert isinstance(frame, frames.Uplink)
        crypto.verify(PUBLIC, data[:-64], data[-64:])
    except ProtocolError:
        return False
    return True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hs.uplinks, st.data())
def test_any_mutation_of_a_signed_frame_is_rejected(frame: frames.Uplink, data: st.DataObject) -> None:
    wire = codec.seal(frame.replace(signature=b""), SIGNER.sign)  # type: ignore[arg-type]
    assert _accepts(wire)
    mutated = bytearray(wire)
    how = data.draw(st.sampled_from(["flip", "set", "truncate", "extend", "insert", "delete", "swap"]))
    if how == "flip":
        i = data.draw(st.integers(0, len(wire) - 1))
        mutated[i] ^= 1 << data.draw(st.integers(0, 7))
    elif how == "set":
        i = data.draw(st.integers(0, len(wire) - 1))
        mutated[i] = (mutated[i] + data.draw(st.integers(1, 255))) % 256
    elif how == "truncate":
        del mutated[data.draw(st.integers(0, len(wire) - 1)) :]
    elif how == "extend":
        mutated += data.draw(st.binary(min_size=1, max_size=16))
    elif how == "insert":
        i = data.draw(st.integers(0, len(wire)))
        mutated[i:i] = data.draw(st.binary(min_size=1, max_size=4))
    elif how == "delete":
        i = data.draw(st.integers(0, len(wire) - 1))
        del mutated[i : i + data.draw(st.integers(1, 4))]
    else:
        i, j = data.draw(st.integers(0, len(wire) - 1)), data.draw(st.integers(0, len(wire) - 1))
        mutated[i], mutated[j] = mutated[j], mutated[i]
    if bytes(mutated) == wire:
        return  # a swap of two equal bytes is no mutation
    assert not _accepts(bytes(mutated))


def test_high_s_twin_of_a_valid_signature_is_rejected() -> None:
    """(r, n - s) verifies in plain ECDSA; hallvote accepts only the low-s form."""
    frame = frames.Vote("kp-0001", 9, 7, 1, b"\x01" * 8, 1, (1,))
    wire = codec.seal(frame, SIGNER.sign)
    r, s = wire[-64:-32], int.from_bytes(wire[-32:], "big")
    twin = wire[:-32] + (crypto.N - s).to_bytes(32, "big")
    assert r == twin[-64:-32]
    assert _accepts(wire)
    assert not _accepts(twin)
