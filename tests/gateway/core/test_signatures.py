"""gateway.core.signatures: strict low-s ECDSA P-256 verification of keypad signatures."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware import p256, signer
from gateway.core import signatures as crypto
from protocol import reasons
from protocol.errors import SignatureError

N = crypto.N
SECRET = signer.generate_private_key(os.urandom)
PUBLIC = signer.public_key_sec1(SECRET)
SIGNER = signer.Signer(SECRET, os.urandom, pool_size=0)
MESSAGE = b"hallvote frame: device 0042, counter 17, choice YES"
SIGNATURE = SIGNER.sign(MESSAGE)


def raw(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def rs(sig: bytes) -> tuple[int, int]:
    return int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")


def rejected(key: object, msg: bytes, sig: bytes) -> SignatureError:
    with pytest.raises(SignatureError) as info:
        crypto.verify(key, msg, sig)  # type: ignore[arg-type]
    assert info.value.reason == reasons.BAD_SIGNATURE
    return info.value


def sec1(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


# --- accepted ------------------------------------------------------------------


def test_keypad_signature_verifies_with_bytes_and_loaded_key() -> None:
    crypto.verify(PUBLIC, MESSAGE, SIGNATURE)
    crypto.verify(crypto.load_public_key(PUBLIC), MESSAGE, SIGNATURE)
    crypto.verify(bytearray(PUBLIC), bytearray(MESSAGE), bytearray(SIGNATURE))
    crypto.verify(memoryview(PUBLIC), memoryview(MESSAGE), memoryview(SIGNATURE))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=500))
def test_cryptography_signatures_normalised_to_low_s_verify(msg: bytes) -> None:
    priv = ec.generate_private_key(ec.SECP256R1())
    pub = sec1(priv.public_key())
    r, s = decode_dss_signature(priv.sign(msg, ec.ECDSA(hashes.SHA256())))
    low, high = min(s, N - s), max(s, N - s)
    crypto.verify(pub, msg, raw(r, low))
    err = rejected(pub, msg, raw(r, high))
    assert "high" in err.detail


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_firmware_signatures_verify_and_mutations_do_not(msg: bytes) -> None:
    sig = SIGNER.sign(msg)
    crypto.verify(PUBLIC, msg, sig)
    r, s = rs(sig)
    rejected(PUBLIC, msg, raw(r, N - s))  # the malleated twin
    rejected(PUBLIC, msg + b"\x00", sig)
    rejected(PUBLIC, b"\x01" + msg, sig)


# --- rejected signatures ------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 32, 63, 65, 70, 72, 128])
def test_wrong_length_is_rejected(length: int) -> None:
    sig = (SIGNATURE * 3)[:length]
    err = rejected(PUBLIC, MESSAGE, sig)
    assert "64 bytes" in err.detail


def test_der_encoding_is_not_accepted() -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    r, s = rs(SIGNATURE)
    rejected(PUBLIC, MESSAGE, encode_dss_signature(r, s))


@pytest.mark.parametrize(
    ("r", "s"),
    [
        (0, 1),
        (1, 0),
        (0, 0),
        (N, 1),
        (N + 1, 1),
        (2**256 - 1, 1),
        (1, N),
        (1, 2**256 - 1),
        (1, crypto.HALF_N + 1),
        (1, N - 1),
    ],
)
def test_out_of_range_or_high_components_are_rejected(r: int, s: int) -> None:
    # Refused by the range checks themselves, before any curve arithmetic.
    err = rejected(PUBLIC, MESSAGE, raw(r, s))
    assert "out of range" in err.detail or "high" in err.detail
    if not 0 < r < N:
        assert "r out of range" in err.detail


def test_r_and_s_replaced_by_values_equal_mod_n_are_rejected() -> None:
    r, s = rs(SIGNATURE)
    if r + N < 2**256:
        rejected(PUBLIC, MESSAGE, raw(r + N, s))
    if s + N < 2**256:
        rejected(PUBLIC, MESSAGE, raw(r, s + N))
    crypto.verify(PUBLIC, MESSAGE, raw(r, s))


def test_every_flipped_signature_bit_is_rejected() -> None:
    for bit in range(512):
        sig = bytearray(SIGNATURE)
        sig[bit // 8] ^= 0x80 >> (bit % 8)
        rejected(PUBLIC, MESSAGE, bytes(sig))


def test_every_flipped_message_bit_is_rejected() -> None:
    for bit in range(len(MESSAGE) * 8):
        msg = bytearray(MESSAGE)
        msg[bit // 8] ^= 0x80 >> (bit % 8)
        rejected(PUBLIC, bytes(msg), SIGNATURE)


def test_wrong_key_is_rejected() -> None:
    other = signer.public_key_sec1(signer.generate_private_key(os.urandom))
    rejected(other, MESSAGE, SIGNATURE)
    rejected(crypto.load_public_key(other), MESSAGE, SIGNATURE)


def test_sign_with_nonce_vector_verifies() -> None:
    sig = signer.sign_with_nonce(SECRET, MESSAGE, 0x1234)
    crypto.verify(PUBLIC, MESSAGE, sig)


# --- public keys ---------------------------------------------------------------------


def _invalid_keys() -> list[bytes]:
    x, y = int.from_bytes(PUBLIC[1:33], "big"), int.from_bytes(PUBLIC[33:], "big")
    compressed = bytes([2 + (y & 1)]) + PUBLIC[1:33]
    return [
        b"",
        b"\x00",  # the point at infinity
        PUBLIC[:-1],
        PUBLIC + b"\x00",
        compressed,  # valid point, but not the registered uncompressed form
        b"\x02" + PUBLIC[1:],  # 65 bytes, wrong prefix
        b"\x06" + PUBLIC[1:],  # hybrid form
        b"\x04" + x.to_bytes(32, "big") + ((y + 1) % p256.P).to_bytes(32, "big"),  # off curve
        b"\x04" + (p256.P + 1).to_bytes(32, "big") + PUBLIC[33:],  # x >= p
        b"\x04" + bytes(64),  # (0, 0)
        b"\x04" + p256.P.to_bytes(32, "big") + PUBLIC[33:],  # x == p
    ]


@pytest.mark.parametrize("bad", _invalid_keys())
def test_invalid_sec1_keys_are_rejected(bad: bytes) -> None:
    with pytest.raises(SignatureError) as info:
        crypto.load_public_key(bad)
    assert info.value.reason == reasons.BAD_SIGNATURE
    rejected(bad, MESSAGE, SIGNATURE)


def test_key_on_another_curve_is_rejected() -> None:
    other = ec.generate_private_key(ec.SECP384R1()).public_key()
    rejected(other, MESSAGE, SIGNATURE)


def test_non_bytes_inputs_are_type_errors() -> None:
    with pytest.raises(TypeError):
        crypto.load_public_key("04" + PUBLIC.hex())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        crypto.verify(PUBLIC, MESSAGE.decode(), SIGNATURE)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        crypto.verify(PUBLIC, MESSAGE, None)  # type: ignore[arg-type]


def test_loaded_keys_are_cached_by_bytes() -> None:
    crypto.clear_key_cache()
    first = crypto.load_public_key(PUBLIC)
    assert crypto.load_public_key(bytes(PUBLIC)) is first
    assert crypto.load_public_key(bytearray(PUBLIC)) is first
    assert crypto.public_key_sec1(first) == PUBLIC
    crypto.clear_key_cache()
    assert crypto.load_public_key(PUBLIC) is not first


def test_signature_error_names_the_reason() -> None:
    err = rejected(PUBLIC, MESSAGE, b"")
    assert err.reason_name == "BAD_SIGNATURE"
    assert str(err).startswith("BAD_SIGNATURE")
