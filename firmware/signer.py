"""The keypad's ECDSA P-256 / SHA-256 signer, with a pool of precomputed nonces.

Runs on MicroPython (ESP32, the WebAssembly port) and CPython.  Randomness
is always injected as ``rng(n) -> bytes`` (``os.urandom`` on the device);
this module never imports a random source of its own.

Signing at a key press is cheap because the expensive part of ECDSA, the
nonce point ``R = k*G`` and the inversion ``k^-1``, does not depend on the
message.  :class:`Signer` keeps a small pool of ready nonces, each stored as
``(r, k^-1 mod n, r*d mod n)``, so ``sign()`` costs one SHA-256, one modular
multiplication and a reduction.  The pool is refilled by
``precompute_slice()``, which does at most ``steps_per_slice`` bounded steps
(see :mod:`firmware.p256`) so the caller's loop never stalls key scanning.

Nonces are hedged: ``k`` is derived from SHA-256 over a domain tag, the
device secret, 32 fresh random bytes and a per-signer counter, expanded to
512 bits and reduced into ``[1, n-1]``.  A broken RNG then still gives
distinct secret nonces (the counter and the secret), and a leaked or
repeated RNG output alone does not reveal them (the secret).  Nonces live
in RAM only and each is removed from the pool before it is used, so none is
ever used twice.

Signatures are raw 64 bytes ``r || s`` (big-endian, 32 bytes each) with
``s <= n/2`` (low-s), the only form the gateway accepts.

``public_key_sec1`` (unsliced, for provisioning) and ``sign_with_nonce``
(golden vectors only) live in :mod:`firmware.reference` and are reached
here through this module's ``__getattr__``, so the keypad never loads them.
"""

import hashlib
import sys

from . import p256

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int

# Type checkers treat any name TYPE_CHECKING as true; at run time (MicroPython
# has no typing module) nothing is imported and annotations are never evaluated.
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from collections.abc import Callable

    from .reference import public_key_sec1 as public_key_sec1
    from .reference import sign_with_nonce as sign_with_nonce

__all__ = [
    "DEFAULT_POOL_SIZE",
    "DEFAULT_RESERVE",
    "DEFAULT_STEPS_PER_SLICE",
    "NONCE_STEPS",
    "NONCE_TAG",
    "SIGNATURE_LENGTH",
    "NonceRefused",
    "PublicKeyJob",
    "Signer",
    "generate_private_key",
]


def __getattr__(name: str) -> object:
    """``public_key_sec1`` and ``sign_with_nonce`` (unsliced, not used by a keypad in a
    sitting), loaded from :mod:`firmware.reference` when first asked for."""
    from . import reference

    return getattr(reference, name)  # AttributeError for any other name


N = p256.N
HALF_N = p256.HALF_N
SIGNATURE_LENGTH = 64
DEFAULT_POOL_SIZE = 6
# Nonces kept for frames a deputy is waiting for (votes, check-ins): a
# heartbeat or hello may use a nonce only while more than this many are ready.
DEFAULT_RESERVE = 3
# At most this many steps per precompute_slice(); a step is one comb column
# (a doubling and a mixed addition) or INV_BITS bits of an inversion.  One
# step: the heaviest (a comb column) is ~0.06 ms on the WebAssembly port,
# which the ESP32 estimate of docs/performance.md (scaled by MicroPython's
# bm_pidigits scores, `python -m hil.bench.esp32`) puts at ~2-3 ms on an
# ESP32 at 240 MHz: under the 5 ms slice target, where 4 steps were not.
DEFAULT_STEPS_PER_SLICE = 1
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
    if not 0 < d < N:
        raise ValueError("private key out of range [1, n-1]")
    return d


class NonceRefused(Exception):
    """No nonce is derived: the RNG looks dead and the nonce counter is not known to be unique
    across reboots (its boot count did not reach flash), so a nonce could repeat."""


def _random32(rng: "Callable[[int], bytes]") -> bytes:
    fresh = rng(32)
    if len(fresh) != 32:
        raise ValueError("rng(32) did not return 32 bytes")
    return bytes(fresh)


def _looks_dead(fresh: bytes, last: "bytes | None") -> bool:
    """An RNG that repeats its last 32 bytes or returns one byte value 32 times is dead
    (a working one does either with probability ~2^-248)."""
    return fresh == last or fresh.count(fresh[:1]) == len(fresh)


def _digest_int(msg: bytes) -> int:
    return int.from_bytes(hashlib.sha256(msg).digest(), "big")


def generate_private_key(rng: "Callable[[int], bytes]") -> bytes:
    """A new private key: 32 big-endian bytes, uniform in [1, n-1].

    ``rng(n)`` must return ``n`` random bytes (``os.urandom`` on the device,
    called after Wi-Fi is up so the ESP32 RNG is truly random).  Draws are
    rejected until one falls in range (almost always the first).
    """
    for _ in range(_KEYGEN_ATTEMPTS):
        raw = _random32(rng)
        d = int.from_bytes(raw, "big")
        if 0 < d < N:
            return raw
    raise ValueError("rng gave no usable private key; is it broken?")


def _low_s_signature(r: int, s: int) -> bytes:
    if s > HALF_N:
        s = N - s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class _NonceJob:
    """One hedged nonce being precomputed, resumable step by step.

    Phases: 0 derive k; 1 comb columns of k*G; 2 start inverting Z^2 mod p;
    3 field-inversion steps; 4 r = x mod n, start inverting k mod n;
    5 scalar-inversion steps; 6 finish: ``entry = (r, k^-1, r*d mod n)``.
    """

    def __init__(
        self,
        d: int,
        secret: bytes,
        rng: "Callable[[int], bytes]",
        next_counter: "Callable[[], int]",
    ) -> None:
        self._d = d
        self._secret = secret
        self._rng = rng  # returns 32 checked bytes (Signer._fresh)
        self._next_counter = next_counter
        self._phase = 0
        self._k = 0
        self._X = 0
        self._r = 0
        self._mul: p256.BaseMul | None = None
        self._inv: p256.Inverse | None = None
        self.entry: tuple[int, int, int] | None = None
        self.steps = 0
        self.work = 0
        self.restarts = 0

    def _derive(self) -> int:
        fresh = self._rng(32)
        ctr = self._next_counter().to_bytes(8, "big")
        h0 = hashlib.sha256(NONCE_TAG)
        h0.update(self._secret)
        h0.update(fresh)
        h0.update(ctr)
        h0.update(b"\x00")
        h1 = hashlib.sha256(NONCE_TAG)
        h1.update(self._secret)
        h1.update(fresh)
        h1.update(ctr)
        h1.update(b"\x01")
        return int.from_bytes(h0.digest() + h1.digest(), "big") % (N - 1) + 1

    def step(self, n: int) -> bool:
        """Do at most ``n`` steps; True while the nonce is not finished."""
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
                self.entry = (r, kinv, r * self._d % N)
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


class Signer:
    """ECDSA P-256 signer with a pool of precomputed, hedged, single-use nonces.

    ``secret``: the 32-byte private key.  ``rng(n) -> bytes``: the random
    source.  ``pool_size``: nonces kept ready.  ``steps_per_slice``: the
    most steps one ``precompute_slice()`` does (see DEFAULT_STEPS_PER_SLICE).
    ``counter_base``: first value of the nonce counter (8 bytes in the
    derivation).  Counters never repeat within one Signer; to keep them
    unique across reboots too (so that even a dead RNG after a reboot cannot
    repeat a nonce) the app may pass a value persisted in NVS, e.g.
    ``boot_count << 32``.

    ``counter_durable`` says whether that base is known to be unique (the
    boot count was read back from flash after it was written).  Every 32
    bytes from ``rng`` are checked (:func:`_looks_dead`); if the RNG looks
    dead and the counter is not durable, no nonce is derived
    (:class:`NonceRefused`): the signer refuses to sign rather than risk a
    repeated nonce, which would give away the private key.  With a durable
    counter a dead RNG still gives distinct nonces (the counter), and
    ``rng_suspect`` is set for the health report.

    ``reserve``: nonces kept for frames a deputy waits for (votes,
    check-ins): ``can_sign(urgent=False)`` is True only while more than
    ``reserve`` are ready, and a caller with a frame that can wait (a
    heartbeat) asks it first.  The public key can be computed in steps too
    (:class:`PublicKeyJob`).

    Work counters (for tests and the bench; units from :mod:`firmware.p256`,
    modular multiplications): ``last_slice_steps`` and ``last_slice_work``
    for the latest ``precompute_slice()``, ``total_steps`` and ``total_work``
    over the signer's life (inline nonce computation included),
    ``nonces_made``, ``inline_nonces`` (nonces computed inside ``sign()``
    because the pool was empty) and ``signatures``.
    """

    def __init__(
        self,
        secret: bytes,
        rng: "Callable[[int], bytes]",
        pool_size: int = DEFAULT_POOL_SIZE,
        steps_per_slice: int = DEFAULT_STEPS_PER_SLICE,
        counter_base: int = 0,
        counter_durable: bool = True,
        reserve: int = 0,
    ) -> None:
        if pool_size < 0:
            raise ValueError("pool_size must be >= 0")
        if steps_per_slice < 1:
            raise ValueError("steps_per_slice must be >= 1")
        if counter_base < 0 or counter_base >> 64:  # 8 bytes in the derivation
            raise ValueError("counter_base out of range")
        self._d = _secret_int(secret)
        self._secret = bytes(secret)
        self._rng = rng
        self.pool_size = pool_size
        self.steps_per_slice = steps_per_slice
        self._pool: list[tuple[int, int, int]] = []
        self._job: _NonceJob | None = None
        self._counter = counter_base
        self.counter_durable = counter_durable
        self.reserve = reserve if reserve < pool_size else max(pool_size - 1, 0)
        self.rng_suspect = False
        self.refusing = False  # a NonceRefused was raised: no new nonce will be made
        self._last_fresh: bytes | None = None
        self.last_slice_steps = 0
        self.last_slice_work = 0
        self.total_steps = 0
        self.total_work = 0
        self.nonces_made = 0
        self.inline_nonces = 0
        self.signatures = 0

    @property
    def ready(self) -> int:
        """Number of precomputed nonces ready for ``sign()``."""
        return len(self._pool)

    @property
    def pending(self) -> bool:
        """True while the pool is not full (``precompute_slice()`` has work)."""
        return len(self._pool) < self.pool_size

    @property
    def counter(self) -> int:
        """The next nonce counter value (what ``counter_base`` could resume from)."""
        return self._counter

    def _next_counter(self) -> int:
        # Every derivation takes a new counter value, even one whose nonce is
        # later dropped (clear()) or restarted, so no two ever share one.
        c = self._counter
        if c >> 64:
            raise ValueError("nonce counter exhausted")
        self._counter = c + 1
        return c

    def _fresh(self, n: int) -> bytes:
        fresh = _random32(self._rng)
        dead = _looks_dead(fresh, self._last_fresh)
        self._last_fresh = fresh
        if dead:
            self.rng_suspect = True
            if not self.counter_durable:
                self.refusing = True
                raise NonceRefused("the RNG looks dead and the boot count is not on flash")
        return fresh

    def _new_job(self) -> "_NonceJob":
        return _NonceJob(self._d, self._secret, self._fresh, self._next_counter)

    def can_sign(self, urgent: bool = True) -> bool:
        """True if ``sign`` would use a pooled nonce (a non-urgent frame leaves ``reserve``)."""
        return len(self._pool) > (0 if urgent else self.reserve)


    def _run(self, job: "_NonceJob", n: int) -> bool:
        s = job.steps
        w = job.work
        more = job.step(n)
        ds = job.steps - s
        dw = job.work - w
        self.last_slice_steps += ds
        self.last_slice_work += dw
        self.total_steps += ds
        self.total_work += dw
        return more

    def _take_entry(self, job: "_NonceJob") -> "tuple[int, int, int]":
        entry = job.entry
        assert entry is not None
        job.entry = None
        self.nonces_made += 1
        return entry

    def precompute_slice(self) -> bool:
        """One bounded slice of nonce precomputation (at most ``steps_per_slice``
        steps).  Returns True while more work is pending (pool not full)."""
        self.last_slice_steps = 0
        self.last_slice_work = 0
        if len(self._pool) >= self.pool_size:
            return False
        job = self._job
        if job is None:
            job = self._job = self._new_job()
        if not self._run(job, self.steps_per_slice):
            self._pool.append(self._take_entry(job))
            self._job = None
        return len(self._pool) < self.pool_size

    def _inline_entry(self) -> "tuple[int, int, int]":
        # Pool empty: finish the nonce in progress (or a new one) right here.
        job = self._job
        self._job = None
        if job is None:
            job = self._new_job()
        while self._run(job, NONCE_STEPS):
            pass
        self.inline_nonces += 1
        return self._take_entry(job)

    def sign(self, msg: bytes) -> bytes:
        """The 64-byte low-s signature ``r || s`` over SHA-256(msg).

        Uses (and removes) the oldest pooled nonce; with an empty pool it
        computes one inline (correct, but a whole nonce's work).
        """
        e = _digest_int(msg)
        while True:
            if self._pool:
                r, kinv, rd = self._pool.pop(0)
            else:
                r, kinv, rd = self._inline_entry()
            s = kinv * (e + rd) % N
            if s:  # s == 0 has probability ~2^-256: use the next nonce
                break
        self.signatures += 1
        return _low_s_signature(r, s)

    def clear(self) -> None:
        """Drop every pooled and in-progress nonce (e.g. before a key change)."""
        if self._job is not None:
            self._job.wipe()
        self._job = None
        self._pool = []
