"""Unsliced P-256 and ECDSA helpers that a keypad in a sitting never calls.

Runs on MicroPython and CPython.  The keypad's live code is the resumable
steppers of :mod:`firmware.p256` and the nonce pool of :mod:`firmware.signer`;
these helpers are for tests, golden vectors, the host tools and provisioning
(the public key at key generation).  They stay reachable under their old
names, ``firmware.p256.mul``, ``firmware.signer.sign_with_nonce`` and so on:
those modules load this one on the first such lookup (a module
``__getattr__``), so a keypad that never asks keeps its code off the heap.
"""

from . import p256
from .p256 import N, P, add_mixed, double

__all__ = (
    "B",
    "inverse",
    "is_on_curve",
    "mul",
    "mul_base",
    "public_key_sec1",
    "sign_with_nonce",
    "to_affine",
)

B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B  # the curve's b


def is_on_curve(x: int, y: int) -> bool:
    """True if ``(x, y)`` is an affine point of P-256 (coordinates reduced)."""
    if not (0 <= x < P and 0 <= y < P):
        return False
    return (y * y - (x * x * x - 3 * x + B)) % P == 0


def inverse(x: int, m: int) -> int:
    """x^-1 mod m for a prime m (one unsliced built-in ``pow``)."""
    x %= m
    if x == 0:
        raise ValueError("no inverse of 0")
    return pow(x, m - 2, m)


def to_affine(X: int, Y: int, Z: int) -> "tuple[int, int] | None":
    """Jacobian to affine (unsliced inversion); ``None`` for infinity."""
    if Z % P == 0:
        return None
    zi = inverse(Z, P)
    zi2 = zi * zi % P
    return X * zi2 % P, Y * zi2 % P * zi % P


def mul(k: int, x: int, y: int) -> "tuple[int, int] | None":
    """k * (x, y) for any affine point of the curve (not sliced).

    Left-to-right double-and-add over the 256 bits of ``k mod N``.
    Raises ValueError if the point is not on the curve.
    """
    if not is_on_curve(x, y):
        raise ValueError("point not on P-256")
    k %= N
    if k == 0:
        return None
    kb = k.to_bytes(32, "big")
    X, Y, Z = 1, 1, 0
    for byte in kb:
        bit = 0x80
        while bit:
            if Z:
                X, Y, Z = double(X, Y, Z)
            if byte & bit:
                X, Y, Z = add_mixed(X, Y, Z, x, y)
            bit >>= 1
    return to_affine(X, Y, Z)


def mul_base(k: int) -> "tuple[int, int] | None":
    """k * G in affine coordinates, unsliced (``k`` taken mod N)."""
    k %= N
    if k == 0:
        return None
    job = p256.BaseMul(k)
    job.step(64)
    X, Y, Z = job.result()
    job.wipe()
    return to_affine(X, Y, Z)


def public_key_sec1(secret: bytes) -> bytes:
    """The 65-byte uncompressed SEC1 public key ``04 || X || Y`` for ``secret``."""
    from .refill import _secret_int

    pt = mul_base(_secret_int(secret))
    if pt is None:  # impossible for d in [1, n-1]
        raise ValueError("private key out of range")
    return b"\x04" + pt[0].to_bytes(32, "big") + pt[1].to_bytes(32, "big")


def sign_with_nonce(secret: bytes, msg: bytes, k: "int | bytes") -> bytes:
    """Sign ``msg`` with the caller's nonce ``k``: FOR GOLDEN TEST VECTORS ONLY.

    Deterministic: the same (secret, msg, k) always gives the same 64-byte
    low-s ``r || s``.  Never use it on a device: a nonce that is known,
    repeated or even slightly biased gives away the private key.  Real
    signing goes through :class:`firmware.signer.Signer`.  ``k`` is an int
    or 32 big-endian bytes in [1, n-1].
    """
    import hashlib

    from .refill import _secret_int

    d = _secret_int(secret)
    if isinstance(k, (bytes, bytearray)):
        if len(k) != 32:
            raise ValueError("nonce must be 32 bytes")
        k = int.from_bytes(k, "big")
    if not 0 < k < N:
        raise ValueError("nonce out of range [1, n-1]")
    pt = mul_base(k)
    if pt is None:
        raise ValueError("nonce out of range")
    r = pt[0] % N
    s = inverse(k, N) * (int.from_bytes(hashlib.sha256(msg).digest(), "big") + r * d) % N
    if r == 0 or s == 0:
        raise ValueError("degenerate nonce; choose another")
    if s > p256.HALF_N:  # low-s, as firmware.signer.Signer.sign gives it
        s = N - s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")

