"""firmware.signer: keys, the nonce pool and signatures, checked with `cryptography`."""

from __future__ import annotations

import hashlib
import math
import os
import random
from collections.abc import Callable

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware import p256, refill, signer

N = p256.N
ECDSA = ec.ECDSA(hashes.SHA256())
WORK_PER_NONCE = 64 * p256.MAX_STEP_WORK + 2 * (256 // p256.INV_BITS) * 2 * p256.INV_BITS + 3

secrets_st = st.integers(min_value=1, max_value=N - 1).map(lambda d: d.to_bytes(32, "big"))


def seeded_rng(seed: int) -> Callable[[int], bytes]:
    return random.Random(seed).randbytes


def constant_rng(n: int) -> bytes:
    """A dead RNG: always the same bytes."""
    return b"\x42" * n


def reference_key(secret: bytes) -> ec.EllipticCurvePublicKey:
    return ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1()).public_key()


def split(sig: bytes) -> tuple[int, int]:
    assert len(sig) == 64
    return int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")


def assert_valid(key: ec.EllipticCurvePublicKey, msg: bytes, sig: bytes) -> None:
    r, s = split(sig)
    assert 0 < r < N
    assert 0 < s <= N // 2, "s must be low"
    key.verify(encode_dss_signature(r, s), msg, ECDSA)


def fill(sgn: signer.Signer) -> int:
    slices = 0
    while sgn.precompute_slice():
        slices += 1
    return slices + 1


SECRET = bytes.fromhex("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721")


# --- keys --------------------------------------------------------------------


def test_generate_private_key_is_in_range_and_from_the_rng() -> None:
    for seed in range(20):
        key = signer.generate_private_key(seeded_rng(seed))
        assert len(key) == 32
        assert 0 < int.from_bytes(key, "big") < N
        assert key == seeded_rng(seed)(32)  # first draw in range: taken as is
    assert signer.generate_private_key(os.urandom) != signer.generate_private_key(os.urandom)


def test_generate_private_key_rejects_out_of_range_draws() -> None:
    good = (12345).to_bytes(32, "big")
    draws = iter([b"\x00" * 32, N.to_bytes(32, "big"), b"\xff" * 32, good])
    asked: list[int] = []

    def rng(n: int) -> bytes:
        asked.append(n)
        return next(draws)

    assert signer.generate_private_key(rng) == good
    assert asked == [32, 32, 32, 32]


def test_generate_private_key_detects_a_broken_rng() -> None:
    with pytest.raises(ValueError):
        signer.generate_private_key(lambda n: b"\x00" * n)
    with pytest.raises(ValueError):
        signer.generate_private_key(lambda n: b"\x01" * (n - 1))


@settings(max_examples=100, deadline=None)
@given(secrets_st)
def test_public_key_matches_cryptography(secret: bytes) -> None:
    from cryptography.hazmat.primitives import serialization

    expected = reference_key(secret).public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert signer.public_key_sec1(secret) == expected


@pytest.mark.parametrize(
    "bad", [b"", b"\x01" * 31, b"\x01" * 33, bytes(32), N.to_bytes(32, "big"), b"\xff" * 32]
)
def test_bad_private_keys_are_refused(bad: bytes) -> None:
    with pytest.raises(ValueError):
        signer.public_key_sec1(bad)
    with pytest.raises(ValueError):
        signer.Signer(bad, os.urandom)
    with pytest.raises(ValueError):
        signer.sign_with_nonce(bad, b"m", 5)


# --- signatures verify ---------------------------------------------------------


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    secret=secrets_st,
    seed=st.integers(min_value=0, max_value=2**32),
    messages=st.lists(st.binary(max_size=300), min_size=40, max_size=60),
    pool_size=st.integers(min_value=0, max_value=6),
    steps=st.integers(min_value=1, max_value=200),
)
def test_thousands_of_signatures_verify_with_cryptography(
    secret: bytes, seed: int, messages: list[bytes], pool_size: int, steps: int
) -> None:
    # 100 examples x 40..60 messages: about 5,000 signatures per run.
    key = reference_key(secret)
    sgn = signer.Signer(secret, seeded_rng(seed), pool_size=pool_size, steps_per_slice=steps)
    for i, msg in enumerate(messages):
        if i % 3 == 0:
            fill(sgn)
        sig = sgn.sign(msg)
        assert_valid(key, msg, sig)
        # the same signature does not verify another message
        with pytest.raises(InvalidSignature):
            r, s = split(sig)
            key.verify(encode_dss_signature(r, s), msg + b"\x00", ECDSA)
    assert sgn.signatures == len(messages)
    assert sgn.nonces_made == len(messages) + sgn.ready


def test_high_s_never_produced() -> None:
    # About half of raw ECDSA signatures have s > n/2; all of ours must be low.
    sgn = signer.Signer(SECRET, seeded_rng(7), pool_size=8, steps_per_slice=50)
    key = reference_key(SECRET)
    for i in range(300):
        msg = i.to_bytes(4, "big")
        sig = sgn.sign(msg)
        r, s = split(sig)
        assert s <= p256.HALF_N
        # the mirrored (r, n-s) is the high-s twin: also valid ECDSA, never emitted
        key.verify(encode_dss_signature(r, N - s), msg, ECDSA)
        assert N - s > p256.HALF_N


# --- the nonce pool ------------------------------------------------------------


def test_nonces_never_repeat() -> None:
    sgn = signer.Signer(SECRET, os.urandom, pool_size=4, steps_per_slice=40)
    rs = set()
    for i in range(600):
        if i % 5 == 0:
            fill(sgn)
        rs.add(split(sgn.sign(b"same message"))[0])
    assert len(rs) == 600
    assert sgn.nonces_made == 600


def test_nonces_never_repeat_even_with_a_dead_rng() -> None:
    # Hedging: the counter keeps nonces distinct when the RNG returns constants.
    sgn = signer.Signer(SECRET, constant_rng, pool_size=3, steps_per_slice=1000)
    sigs = [sgn.sign(b"vote") for _ in range(200)]
    assert len({split(s)[0] for s in sigs}) == 200
    key = reference_key(SECRET)
    for sig in sigs:
        assert_valid(key, b"vote", sig)


def test_counter_base_separates_boots_with_a_dead_rng() -> None:
    boot1 = signer.Signer(SECRET, constant_rng, pool_size=0)
    rs1 = {split(boot1.sign(b"m"))[0] for _ in range(20)}
    assert boot1.counter == 20
    # A reboot resuming from the persisted counter never repeats a nonce ...
    boot2 = signer.Signer(SECRET, constant_rng, pool_size=0, counter_base=boot1.counter)
    rs2 = {split(boot2.sign(b"m"))[0] for _ in range(20)}
    assert not rs1 & rs2
    # ... whereas the same counter, secret and RNG output give the same nonce.
    again = signer.Signer(SECRET, constant_rng, pool_size=0)
    assert split(again.sign(b"m"))[0] in rs1
    with pytest.raises(ValueError):
        signer.Signer(SECRET, constant_rng, counter_base=-1)
    with pytest.raises(ValueError):
        signer.Signer(SECRET, constant_rng, counter_base=2**64)


def test_nonce_depends_on_secret_and_fresh_randomness() -> None:
    other = (int.from_bytes(SECRET, "big") + 1).to_bytes(32, "big")
    r_a = split(signer.Signer(SECRET, constant_rng, pool_size=0).sign(b"m"))[0]
    r_b = split(signer.Signer(other, constant_rng, pool_size=0).sign(b"m"))[0]
    r_c = split(signer.Signer(SECRET, seeded_rng(1), pool_size=0).sign(b"m"))[0]
    assert len({r_a, r_b, r_c}) == 3


def test_nonce_derivation_is_the_documented_hash() -> None:
    fresh = bytes(range(32))
    sgn = signer.Signer(SECRET, lambda n: fresh[:n], pool_size=1, steps_per_slice=1000)
    fill(sgn)
    blocks = b"".join(
        hashlib.sha256(signer.NONCE_TAG + SECRET + fresh + (0).to_bytes(8, "big") + bytes([i])).digest()
        for i in (0, 1)
    )
    k = int.from_bytes(blocks, "big") % (N - 1) + 1
    msg = b"documented"
    assert sgn.sign(msg) == signer.sign_with_nonce(SECRET, msg, k)


def test_rng_must_return_32_bytes() -> None:
    sgn = signer.Signer(SECRET, lambda n: b"\x00" * 16, pool_size=1)
    with pytest.raises(ValueError):
        fill(sgn)


def test_pool_refills_by_slices() -> None:
    steps = 10
    sgn = signer.Signer(SECRET, os.urandom, pool_size=4, steps_per_slice=steps)
    assert sgn.ready == 0 and sgn.pending
    slices = fill(sgn)
    assert slices == 4 * math.ceil(signer.NONCE_STEPS / steps)
    assert sgn.ready == 4 and not sgn.pending
    assert sgn.nonces_made == 4
    assert sgn.total_steps == 4 * signer.NONCE_STEPS
    assert sgn.total_work == 4 * WORK_PER_NONCE
    # A full pool: slices do nothing.
    assert sgn.precompute_slice() is False
    assert sgn.last_slice_steps == 0 and sgn.last_slice_work == 0
    # Signing takes pooled nonces, with no inline work ...
    key = reference_key(SECRET)
    for left in (3, 2, 1, 0):
        assert_valid(key, b"press", sgn.sign(b"press"))
        assert sgn.ready == left
    assert sgn.inline_nonces == 0
    assert sgn.total_steps == 4 * signer.NONCE_STEPS
    # ... then the pool is refilled slice by slice.
    assert sgn.precompute_slice() is True
    assert sgn.ready == 0
    fill(sgn)
    assert sgn.ready == 4
    assert sgn.nonces_made == 8


@pytest.mark.parametrize("steps", [1, 3, 4, signer.DEFAULT_STEPS_PER_SLICE, 17, 64])
def test_slice_work_is_bounded(steps: int) -> None:
    sgn = signer.Signer(SECRET, os.urandom, pool_size=2, steps_per_slice=steps)
    per_slice_steps = []
    per_slice_work = []
    while True:
        more = sgn.precompute_slice()
        per_slice_steps.append(sgn.last_slice_steps)
        per_slice_work.append(sgn.last_slice_work)
        if not more:
            break
    assert max(per_slice_steps) == min(steps, signer.NONCE_STEPS)
    assert max(per_slice_work) <= steps * p256.MAX_STEP_WORK
    assert min(per_slice_steps) >= 1  # every slice makes progress
    assert sum(per_slice_work) == 2 * WORK_PER_NONCE
    assert sgn.ready == 2


def test_default_slice_is_a_few_steps() -> None:
    sgn = signer.Signer(SECRET, os.urandom)
    assert sgn.pool_size == signer.DEFAULT_POOL_SIZE
    sgn.precompute_slice()
    assert sgn.last_slice_work <= signer.DEFAULT_STEPS_PER_SLICE * p256.MAX_STEP_WORK
    assert sgn.last_slice_steps <= signer.DEFAULT_STEPS_PER_SLICE


def test_empty_pool_signs_inline_and_reuses_work_in_progress() -> None:
    sgn = signer.Signer(SECRET, os.urandom, pool_size=2, steps_per_slice=20)
    for _ in range(3):
        sgn.precompute_slice()  # a nonce half done, none ready
    assert sgn.ready == 0
    sig = sgn.sign(b"urgent")
    assert_valid(reference_key(SECRET), b"urgent", sig)
    assert sgn.inline_nonces == 1
    assert sgn.total_steps == signer.NONCE_STEPS  # the partial nonce was finished, not redone


def test_pool_size_zero_always_signs_inline() -> None:
    sgn = signer.Signer(SECRET, os.urandom, pool_size=0)
    assert sgn.precompute_slice() is False
    assert sgn.last_slice_work == 0
    key = reference_key(SECRET)
    for i in range(3):
        assert_valid(key, bytes([i]), sgn.sign(bytes([i])))
    assert sgn.inline_nonces == 3


def test_clear_drops_pooled_and_partial_nonces() -> None:
    sgn = signer.Signer(SECRET, os.urandom, pool_size=2, steps_per_slice=50)
    fill(sgn)
    sgn.precompute_slice()  # no-op, full
    sgn.sign(b"a")
    sgn.precompute_slice()  # partial nonce in progress
    refill.clear(sgn)
    assert sgn.ready == 0
    made = sgn.nonces_made
    assert_valid(reference_key(SECRET), b"b", sgn.sign(b"b"))
    assert sgn.inline_nonces == 1
    assert sgn.nonces_made == made + 1


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        signer.Signer(SECRET, os.urandom, pool_size=-1)
    with pytest.raises(ValueError):
        signer.Signer(SECRET, os.urandom, steps_per_slice=0)


# --- sign_with_nonce (golden vectors only) ----------------------------------------


def test_sign_with_nonce_rfc6979_vector() -> None:
    # RFC 6979 A.2.5, P-256 / SHA-256, message "sample": the RFC's s is high,
    # so ours is n - s.
    k = 0xA6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60
    r = 0xEFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716
    s = 0xF7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8
    ux = 0x60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6
    uy = 0x7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299
    assert signer.public_key_sec1(SECRET) == b"\x04" + ux.to_bytes(32, "big") + uy.to_bytes(32, "big")
    sig = signer.sign_with_nonce(SECRET, b"sample", k)
    assert s > p256.HALF_N
    assert sig == r.to_bytes(32, "big") + (N - s).to_bytes(32, "big")
    assert_valid(reference_key(SECRET), b"sample", sig)


@settings(max_examples=50, deadline=None)
@given(secrets_st, st.binary(max_size=200), st.integers(min_value=1, max_value=N - 1))
def test_sign_with_nonce_is_deterministic_and_verifies(secret: bytes, msg: bytes, k: int) -> None:
    sig = signer.sign_with_nonce(secret, msg, k)
    assert sig == signer.sign_with_nonce(secret, msg, k)
    assert sig == signer.sign_with_nonce(secret, msg, k.to_bytes(32, "big"))
    assert_valid(reference_key(secret), msg, sig)
    r, _ = split(sig)
    pt = p256.mul_base(k)
    assert pt is not None and r == pt[0] % N
    # Another nonce gives another r, unless it is n - k (R and -R share x).
    k2 = next(c for c in (k + 1, k + 2, 1, 2) if c < N and c not in (k, N - k))
    other = signer.sign_with_nonce(secret, msg, k2)
    assert other[:32] != sig[:32]
    assert signer.sign_with_nonce(secret, msg, N - k)[:32] == sig[:32]


@pytest.mark.parametrize("k", [0, N, N + 1, -1, b"\x01" * 31, bytes(32)])
def test_sign_with_nonce_refuses_bad_nonces(k: int | bytes) -> None:
    with pytest.raises(ValueError):
        signer.sign_with_nonce(SECRET, b"m", k)
