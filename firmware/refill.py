"""The signer's refill overlay: the hedged nonce job, the public-key job and key generation.

Runs on MicroPython (ESP32, the WebAssembly port) and CPython.  The keypad
keeps :mod:`firmware.signer` resident (the nonce pool, ``sign()``, the
counters and health flags); everything that needs the point multiplication
and the inversions of :mod:`firmware.p256` lives here and is loaded only
while there is work: the pool refills, the public key is computed, a nonce
is computed inline (empty pool), or a key is generated.  ``Signer`` unloads
this module and :mod:`firmware.p256` again (``firmware.unload``) once its
pool is full and no job is in progress, so an idle keypad holds neither.
Loading it again is one import of two ``.mpy`` files per refill
(docs/performance.md, "The signer's refill overlay").

The public names here are still reached as ``firmware.signer.PublicKeyJob``,
``firmware.signer.generate_private_key`` and so on (that module's
``__getattr__``), except ``clear``, which takes the signer.
"""

import hashlib
import sys

from . import p256, unload
from .signer import NonceRefused

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from collections.abc import Callable

    from .signer import Signer

__all__ = [
    "DEFAULT_RESERVE",
    "NONCE_STEPS",
    "NONCE_TAG",
    "SIGNATURE_LENGTH",
    "NonceJob",
    "PublicKeyJob",
    "clear",
    "generate_private_key",
    "inline_entry",
    "public_key",
    "step",
]

SIGNATURE_LENGTH = 64
# Nonces kept for frames a deputy is waiting for (votes, check-ins): a
# heartbeat or hello may use a nonce only while more than this many are ready.
DEFAULT_RESERVE = 3
NONCE_TAG = b"hallvote/ecdsa-p256-nonce/v1"
# Steps per nonce: derive k, 64 comb columns, start the field inversion,
# 256 / INV_BITS field-inversion steps, compute r and start the scalar
# inversion, 256 / INV_BITS scalar-inversion steps, finish.
NONCE_STEPS = 1 + 64 + 1 + 256 // p256.INV_BITS + 1 + 256 // p256.INV_BITS + 1

_KEYGEN_ATTEMPTS = const(64)


def _secret_int(secret: bytes) -> int:
    if len(secret) != 32:
        raise ValueError("private key must be 32 bytes")
    d = int.from_bytes(secret, "big")
    if not 0 < d < p256.N:
        raise ValueError("private key out of range [1, n-1]")
    return d


def _random32(rng: "Callable[[int], bytes]") -> bytes:
    fresh = rng(32)
    if len(fresh) != 32:
        raise ValueError("rng(32) did not return 32 bytes")
    return bytes(fresh)


def generate_private_key(rng: "Callable[[int], bytes]") -> bytes:
    """A new private key: 32 big-endian bytes, uniform in [1, n-1].

    ``rng(n)`` must return ``n`` random bytes (``os.urandom`` on the device,
    called after Wi-Fi is up so the ESP32 RNG is truly random).  Draws are
    rejected until one falls in range (almost always the first).
    """
    for _ in range(_KEYGEN_ATTEMPTS):
        raw = _random32(rng)
        d = int.from_bytes(raw, "big")
        if 0 < d < p256.N:
            return raw
    raise ValueError("rng gave no usable private key; is it broken?")


class NonceJob:
    """One hedged nonce being precomputed for ``signer``, resumable step by step.

    Phases: 0 derive k; 1 comb columns of k*G; 2 start inverting Z^2 mod p;
    3 field-inversion steps; 4 r = x mod n, start inverting k mod n;
    5 scalar-inversion steps; 6 finish: ``entry`` is r, k^-1 mod n and r*d mod n, 32
    big-endian bytes each (96 bytes, as the signer's pool keeps it).
    """

    def __init__(self, signer: "Signer") -> None:
        self._signer = signer
        self._phase = 0
        self._k = 0
        self._X = 0
        self._r = 0
        self._mul: p256.BaseMul | None = None
        self._inv: p256.Inverse | None = None
        self.entry: bytes | None = None
        self.steps = 0
        self.work = 0
        self.restarts = 0

    def _derive(self) -> int:
        """k from the hedged derivation (SHA-256 over the tag, the secret, 32 fresh random
        bytes and the next nonce counter), after the dead-RNG check of the fresh bytes."""
        sg = self._signer
        fresh = _random32(sg._rng)
        # An RNG that repeats its last 32 bytes or returns one byte value 32 times is dead
        # (a working one does either with probability ~2^-248).
        dead = fresh == sg._last_fresh or fresh.count(fresh[:1]) == len(fresh)
        sg._last_fresh = fresh
        if dead:
            sg.rng_suspect = True
            if not sg.counter_durable:
                sg.refusing = True
                raise NonceRefused("the RNG looks dead and the boot count is not on flash")
        # Every derivation takes a new counter value, even one whose nonce is
        # later dropped (clear()) or restarted, so no two ever share one.
        c = sg.counter
        if c >> 64:
            raise ValueError("nonce counter exhausted")
        sg.counter = c + 1
        ctr = c.to_bytes(8, "big")
        h0 = hashlib.sha256(NONCE_TAG)
        h0.update(sg._secret)
        h0.update(fresh)
        h0.update(ctr)
        h0.update(b"\x00")
        h1 = hashlib.sha256(NONCE_TAG)
        h1.update(sg._secret)
        h1.update(fresh)
        h1.update(ctr)
        h1.update(b"\x01")
        return int.from_bytes(h0.digest() + h1.digest(), "big") % (p256.N - 1) + 1

    def step(self, n: int) -> bool:
        """Do at most ``n`` steps; True while the nonce is not finished."""
        N = p256.N
        while n > 0 and self.entry is None:
            n -= 1
            self.steps += 1
            phase = self._phase
            if phase == 1:
                mul = self._mul
                assert mul is not None
                w = mul.work
                if not mul.step(1):
                    self._phase = 2
                self.work += mul.work - w
            elif phase == 3 or phase == 5:
                inv = self._inv
                assert inv is not None
                w = inv.work
                if not inv.step(1):
                    self._phase = phase + 1
                self.work += inv.work - w
            elif phase == 0:
                self._k = self._derive()
                self._mul = p256.BaseMul(self._k)
                self._phase = 1
            elif phase == 2:
                mul = self._mul
                assert mul is not None
                X, _, Z = mul.result()
                mul.wipe()
                self._mul = None
                self._X = X
                self._inv = p256.Inverse(Z * Z % p256.P, p256.P)
                self.work += 1
                self._phase = 3
            elif phase == 4:
                inv = self._inv
                assert inv is not None
                r = self._X * inv.result() % p256.P % N
                inv.wipe()
                self._X = 0
                self.work += 1
                if r == 0:  # probability ~2^-256; take a fresh nonce
                    self.restarts += 1
                    self._phase = 0
                    continue
                self._r = r
                self._inv = p256.Inverse(self._k, N)
                self._phase = 5
            else:  # phase 6
                inv = self._inv
                assert inv is not None
                kinv = inv.result()
                inv.wipe()
                self._inv = None
                self._k = 0
                r = self._r
                rd = r * int.from_bytes(self._signer._secret, "big") % N
                self.entry = r.to_bytes(32, "big") + kinv.to_bytes(32, "big") + rd.to_bytes(32, "big")
                self._r = 0
                self.work += 1
        return self.entry is None

    def wipe(self) -> None:
        if self._mul is not None:
            self._mul.wipe()
        if self._inv is not None:
            self._inv.wipe()
        self._mul = None
        self._inv = None
        self._k = self._X = self._r = 0
        self.entry = None


class PublicKeyJob:
    """The public key ``d * G`` computed in bounded steps (64 comb columns, then the
    inversion of Z), so the keypad never stalls its loop for it: one ``step()`` is
    one precompute step.  ``result()`` is the 65-byte SEC1 key once ``pending`` is False.
    """

    def __init__(self, secret: bytes) -> None:
        self._mul: p256.BaseMul | None = p256.BaseMul(_secret_int(secret))
        self._inv: p256.Inverse | None = None
        self._X = self._Y = self._Z = 0
        self._key: bytes | None = None

    @property
    def pending(self) -> bool:
        return self._key is None

    def step(self) -> bool:
        """One step; True while the key is not finished."""
        mul = self._mul
        if mul is not None:
            if not mul.step(1):
                self._X, self._Y, self._Z = mul.result()
                mul.wipe()
                self._mul = None
                self._inv = p256.Inverse(self._Z, p256.P)
            return True
        inv = self._inv
        if inv is not None and inv.step(1):
            return True
        if inv is not None:
            zi = inv.result()
            inv.wipe()
            self._inv = None
            zi2 = zi * zi % p256.P
            x = self._X * zi2 % p256.P
            y = self._Y * zi2 * zi % p256.P
            self._key = b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")
            self._X = self._Y = self._Z = 0
        return False

    def result(self) -> bytes:
        while self.step():
            pass
        key = self._key
        assert key is not None
        return key


def _advance(sg: "Signer", job: NonceJob, n: int) -> bool:
    """``job.step(n)``, its steps and work added to ``sg``'s counters; True while it is not finished."""
    s = job.steps
    w = job.work
    more = job.step(n)
    ds = job.steps - s
    dw = job.work - w
    sg.last_slice_steps += ds
    sg.last_slice_work += dw
    sg.total_steps += ds
    sg.total_work += dw
    return more


def _take(sg: "Signer", job: NonceJob) -> bytes:
    entry = job.entry
    assert entry is not None
    job.entry = None
    sg.nonces_made += 1
    return entry


def step(sg: "Signer") -> None:
    """One bounded slice of ``sg``'s work (at most ``sg.steps_per_slice`` steps): a nonce
    while the pool is not full, then, if ``sg`` computes its public key in the background, a
    step of that.  Unloads the overlay when no work is left."""
    if len(sg._pool) < sg.pool_size:
        job = sg._job
        if job is None:
            job = sg._job = NonceJob(sg)
        if not _advance(sg, job, sg.steps_per_slice):
            sg._pool.append(_take(sg, job))
            sg._job = None
    elif sg.public is None and sg.key_in_steps:
        key = sg._key_job
        if key is None:
            key = sg._key_job = PublicKeyJob(sg._secret)
        if not key.step():
            sg.public = key.result()
            sg._key_job = None
    _settle(sg)


def inline_entry(sg: "Signer") -> bytes:
    """A nonce for ``sg.sign()`` with an empty pool: the one in progress (or a new one), finished now."""
    job = sg._job
    sg._job = None
    if job is None:
        job = NonceJob(sg)
    while _advance(sg, job, NONCE_STEPS):
        pass
    sg.inline_nonces += 1
    entry = _take(sg, job)
    _settle(sg)
    return entry


def public_key(sg: "Signer") -> bytes:
    """``sg``'s public key, its remaining steps done now (then the overlay is unloaded if no
    other work is left)."""
    job = sg._key_job
    if job is None:
        job = PublicKeyJob(sg._secret)
    key = sg.public = job.result()
    sg._key_job = None
    _settle(sg)
    return key


def clear(sg: "Signer") -> None:
    """Drop every pooled and in-progress nonce of ``sg`` (e.g. before a key change); the next
    ``precompute_slice()`` starts a new refill."""
    if sg._job is not None:
        sg._job.wipe()
    sg._job = None
    sg._pool = []


def _settle(sg: "Signer") -> None:
    """Unload the overlay (this module and :mod:`firmware.p256`; ``firmware.unload``) once ``sg``
    has no work left: a full pool, no job in progress, the public key done or not wanted.  Nothing
    of it is referred to then, so the GC takes its code back; the next refill imports it again."""
    if sg._job is None and len(sg._pool) >= sg.pool_size and (sg.public is not None or not sg.key_in_steps):
        unload("firmware.refill")
        unload("firmware.p256")
