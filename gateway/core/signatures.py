"""Gateway-side verification of keypad signatures (ECDSA P-256 / SHA-256).

The keypad (:mod:`firmware.signer`) signs with its own P-256 key; the
gateway holds only the 65-byte uncompressed SEC1 public key registered for
the device.  A signature is the raw 64 bytes ``r || s`` (big-endian).

Verification is strict: the signature must be exactly 64 bytes, ``r`` in
``[1, n-1]`` and ``s`` in ``[1, n/2]`` (low-s).  ECDSA signatures are
malleable (``(r, n-s)`` verifies whenever ``(r, s)`` does); requiring low-s
means exactly one encoding of a signed frame is accepted, so no mutation of
a signed frame verifies.  Every failure raises
:class:`protocol.errors.SignatureError` with reason ``BAD_SIGNATURE``.

Loaded keys are cached by their bytes (:func:`functools.lru_cache`) because
the gateway verifies thousands of frames a second from a few thousand
keypads.
"""

from __future__ import annotations

import functools

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from protocol import reasons
from protocol.errors import SignatureError

__all__ = [
    "HALF_N",
    "KEY_CACHE_SIZE",
    "PUBLIC_KEY_LENGTH",
    "SIGNATURE_LENGTH",
    "N",
    "clear_key_cache",
    "load_public_key",
    "public_key_sec1",
    "verify",
]

# Order of the P-256 base point.
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
HALF_N = N >> 1
PUBLIC_KEY_LENGTH = 65
SIGNATURE_LENGTH = 64
KEY_CACHE_SIZE = 8192

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_BYTES_LIKE = (bytes, bytearray, memoryview)


def _fail(detail: str) -> SignatureError:
    return SignatureError(reasons.BAD_SIGNATURE, detail)


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def _load(sec1: bytes) -> ec.EllipticCurvePublicKey:
    # Only successful loads are cached; an invalid key raises every time.
    if len(sec1) != PUBLIC_KEY_LENGTH or sec1[0] != 0x04:
        raise _fail("public key is not a 65-byte uncompressed SEC1 point")
    try:
        # Checks that the point is on the curve (and not the infinity).
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sec1)
    except ValueError:
        raise _fail("public key is not a point of P-256") from None


def load_public_key(sec1: bytes | bytearray | memoryview) -> ec.EllipticCurvePublicKey:
    """The P-256 public key from its 65-byte uncompressed SEC1 encoding.

    Raises SignatureError(BAD_SIGNATURE) unless ``sec1`` is ``04 || X || Y``
    with (X, Y) a point of P-256.  Results are cached by the key bytes.
    """
    if not isinstance(sec1, _BYTES_LIKE):
        raise TypeError("public key must be bytes")
    return _load(bytes(sec1))


def clear_key_cache() -> None:
    """Forget every cached public key (e.g. after a device is re-keyed)."""
    _load.cache_clear()


def public_key_sec1(key: ec.EllipticCurvePublicKey) -> bytes:
    """The 65-byte uncompressed SEC1 encoding of a loaded key."""
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def _key(public_key: ec.EllipticCurvePublicKey | bytes | bytearray | memoryview) -> ec.EllipticCurvePublicKey:
    if type(public_key) is bytes:  # a device's registered key: the cache, without an ABC check first
        return _load(public_key)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise _fail("public key is not on P-256")
        return public_key
    return load_public_key(public_key)


def verify(
    public_key: ec.EllipticCurvePublicKey | bytes | bytearray | memoryview,
    message: bytes | bytearray | memoryview,
    signature: bytes | bytearray | memoryview,
) -> None:
    """Check that ``signature`` (64-byte low-s ``r || s``) signs ``message``.

    ``public_key`` is the device's 65-byte SEC1 key or a key returned by
    :func:`load_public_key`.  Returns None; raises
    SignatureError(BAD_SIGNATURE) for an invalid key, a signature of the
    wrong length, ``r`` or ``s`` out of range, a high ``s``, or a signature
    that does not verify.
    """
    key = _key(public_key)
    if not isinstance(signature, _BYTES_LIKE) or not isinstance(message, _BYTES_LIKE):
        raise TypeError("message and signature must be bytes")
    sig = bytes(signature)
    if len(sig) != SIGNATURE_LENGTH:
        raise _fail("signature must be %d bytes, got %d" % (SIGNATURE_LENGTH, len(sig)))
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:], "big")
    if not 0 < r < N:
        raise _fail("signature r out of range")
    if not 0 < s < N:
        raise _fail("signature s out of range")
    if s > HALF_N:
        raise _fail("signature s is high (s > n/2); only low-s is accepted")
    try:
        key.verify(encode_dss_signature(r, s), bytes(message), _ECDSA_SHA256)
    except InvalidSignature:
        raise _fail("signature does not verify") from None
