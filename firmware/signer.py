"""The keypad's ECDSA P-256 / SHA-256 signer, with a pool of precomputed nonces.

Runs on MicroPython (ESP32, the WebAssembly port) and CPython.  Randomness
is always injected as ``rng(n) -> bytes`` (``os.urandom`` on the device);
this module never imports a random source of its own.

Signing at a key press is cheap because the expensive part of ECDSA, the
nonce point ``R = k*G`` and the inversion ``k^-1``, does not depend on the
message.  :class:`Signer` keeps a small pool of ready nonces, each stored as
``r``, ``k^-1 mod n`` and ``r*d mod n`` (96 bytes), so ``sign()`` costs one
SHA-256, one modular multiplication and a reduction.  The pool is refilled by
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

What is needed only while there is precomputation to do (the nonce job,
the public-key job, key generation and all of :mod:`firmware.p256`) is the
overlay :mod:`firmware.refill`: ``precompute_slice()``, ``public_key()`` and
an inline nonce load it, and once the pool is full and no job is in progress
the signer unloads it again (``firmware.unload``), so an idle keypad keeps
only this module: the pool, ``sign()``, the counters and the health flags.
``PublicKeyJob``, ``generate_private_key``, ``NONCE_TAG``, ``NONCE_STEPS``,
``SIGNATURE_LENGTH`` and ``DEFAULT_RESERVE`` are still reached here (this
module's ``__getattr__`` loads the overlay); so are ``public_key_sec1`` (unsliced, for provisioning) and
``sign_with_nonce`` (golden vectors only), from :mod:`firmware.reference`,
which the keypad never loads.
"""

import hashlib
import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int

# Type checkers treat any name TYPE_CHECKING as true; at run time (MicroPython
# has no typing module) nothing is imported and annotations are never evaluated.
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from collections.abc import Callable

    from .reference import public_key_sec1 as public_key_sec1
    from .reference import sign_with_nonce as sign_with_nonce
    from .refill import DEFAULT_RESERVE as DEFAULT_RESERVE
    from .refill import NONCE_STEPS as NONCE_STEPS
    from .refill import NONCE_TAG as NONCE_TAG
    from .refill import SIGNATURE_LENGTH as SIGNATURE_LENGTH
    from .refill import NonceJob
    from .refill import PublicKeyJob as PublicKeyJob
    from .refill import generate_private_key as generate_private_key

if sys.implementation.name != "micropython":  # the keypad imports names, never *
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


# Reached here, defined in the overlay (the keypad does not use them while idle).
_OVERLAY_NAMES = (
    "DEFAULT_RESERVE",
    "NONCE_STEPS",
    "NONCE_TAG",
    "PublicKeyJob",
    "SIGNATURE_LENGTH",
    "generate_private_key",
)


def __getattr__(name: str) -> object:
    """The overlay's names above (:mod:`firmware.refill`), and ``public_key_sec1`` and ``sign_with_nonce`` (unsliced, not used
    by a keypad in a sitting, :mod:`firmware.reference`), loaded when first asked for."""
    if name in _OVERLAY_NAMES:
        from . import refill

        return getattr(refill, name)
    from . import reference

    return getattr(reference, name)  # AttributeError for any other name


# The group order n of P-256 and n // 2 (firmware.p256.N and HALF_N, which this module does
# not load): consts, so they take no name and no dict entry.
_N = const(0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551)
_HALF_N = const(0x7FFFFFFF800000007FFFFFFFFFFFFFFFDE737D56D38BCF4279DCE5617E3192A8)
DEFAULT_POOL_SIZE = 6
# At most this many steps per precompute_slice(); a step is one comb column
# (a doubling and a mixed addition) or INV_BITS bits of an inversion.  One
# step: the heaviest (a comb column) is ~0.06 ms on the WebAssembly port,
# which the ESP32 estimate of docs/performance.md (scaled by MicroPython's
# bm_pidigits scores, `python -m hil.bench.esp32`) puts at ~2-3 ms on an
# ESP32 at 240 MHz: under the 5 ms slice target, where 4 steps were not.
DEFAULT_STEPS_PER_SLICE = 1


class NonceRefused(Exception):
    """No nonce is derived: the RNG looks dead and the nonce counter is not known to be unique
    across reboots (its boot count did not reach flash), so a nonce could repeat."""


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
    bytes from ``rng`` are checked (an RNG that repeats its last 32 bytes or
    returns one byte value 32 times looks dead); if the RNG looks dead and
    the counter is not durable, no nonce is derived (:class:`NonceRefused`,
    and ``refusing`` is set): the signer refuses to sign rather than risk a
    repeated nonce, which would give away the private key.  With a durable
    counter a dead RNG still gives distinct nonces (the counter), and
    ``rng_suspect`` is set for the health report.

    ``reserve``: nonces kept for frames a deputy waits for (votes,
    check-ins): ``can_sign(urgent=False)`` is True only while more than
    ``reserve`` are ready, and a caller with a frame that can wait (a
    heartbeat) asks it first.  ``key_in_steps``: once the pool is full,
    ``precompute_slice()`` also computes the public key, one step per slice
    (``public`` holds it when done; ``public_key()`` gives it at once).

    The work is done by the overlay :mod:`firmware.refill`, loaded while
    there is some and unloaded when the pool is full and no job is in
    progress (see the module docstring).

    ``counter``: the next nonce counter value (what ``counter_base`` could
    resume from).  ``firmware.refill.clear(signer)`` drops every pooled and
    in-progress nonce (e.g. before a key change; the keypad never changes
    its key while running).

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
        key_in_steps: bool = False,
    ) -> None:
        if pool_size < 0:
            raise ValueError("pool_size")  # below 0
        if steps_per_slice < 1:
            raise ValueError("steps_per_slice")  # below 1
        if counter_base < 0 or counter_base >> 64:  # 8 bytes in the derivation
            raise ValueError("counter_base")  # not 0..2**64-1
        if len(secret) != 32:
            raise ValueError("key length")
        if not 0 < int.from_bytes(secret, "big") < _N:
            raise ValueError("key range")  # not 1..n-1
        self._secret = bytes(secret)
        self._rng = rng
        self.pool_size = pool_size
        self.steps_per_slice = steps_per_slice
        # The ready nonces, oldest first, each 96 bytes: r, k^-1 mod n and r*d mod n, 32 big-endian
        # bytes each (a third of the heap of three big integers and a tuple).
        self._pool: list[bytes] = []
        self._job: NonceJob | None = None
        self.counter = counter_base  # the next nonce counter value (what counter_base could resume from)
        self.counter_durable = counter_durable
        self.reserve = reserve if reserve < pool_size else max(pool_size - 1, 0)
        self.key_in_steps = key_in_steps
        self.public: bytes | None = None  # the 65-byte SEC1 public key, once computed
        self._key_job: PublicKeyJob | None = None
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

    def can_sign(self, urgent: bool = True) -> bool:
        """True if ``sign`` would use a pooled nonce (a non-urgent frame leaves ``reserve``)."""
        return len(self._pool) > (0 if urgent else self.reserve)

    def precompute_slice(self) -> bool:
        """One bounded slice of nonce precomputation (at most ``steps_per_slice``
        steps), or with ``key_in_steps`` and a full pool one step of the public key.
        Returns True while more nonce work is pending (pool not full).  Loads the
        overlay when there is work; unloads it when none is left."""
        self.last_slice_steps = 0
        self.last_slice_work = 0
        if self._job is not None or len(self._pool) < self.pool_size or (self.public is None and self.key_in_steps):
            from . import refill

            refill.step(self)  # unloads the overlay when no work is left
        return len(self._pool) < self.pool_size

    def rest(self) -> None:
        """Drop the nonce and the public-key step in progress, and with them the refill overlay
        (the keypad calls this while its MQTT client opens a link: the TLS handshake needs that
        heap).  The dropped nonce's counter value is never used again; the next
        ``precompute_slice()`` starts a new nonce and loads the overlay again."""
        job = self._job
        if job is None and self._key_job is None:
            return
        if job is not None:
            job.wipe()
        self._job = None
        self._key_job = None
        from . import unload

        unload("firmware.refill")
        unload("firmware.p256")

    def public_key(self) -> bytes:
        """The 65-byte SEC1 public key (its remaining steps done now if the slices have not)."""
        if self.public is not None:
            return self.public
        from . import refill

        return refill.public_key(self)

    def sign(self, msg: bytes) -> bytes:
        """The 64-byte low-s signature ``r || s`` over SHA-256(msg).

        Uses (and removes) the oldest pooled nonce; with an empty pool it
        computes one inline (correct, but a whole nonce's work).
        """
        e = int.from_bytes(hashlib.sha256(msg).digest(), "big")
        while True:
            if self._pool:
                entry = self._pool.pop(0)
            else:  # pool empty: finish the nonce in progress (or a new one) right here
                from . import refill

                entry = refill.inline_entry(self)
            # entry: r, k^-1 mod n and r*d mod n, 32 big-endian bytes each
            s = int.from_bytes(entry[32:64], "big") * (e + int.from_bytes(entry[64:], "big")) % _N
            if s:  # s == 0 has probability ~2^-256: use the next nonce
                break
        self.signatures += 1
        if s > _HALF_N:  # low-s: the only form the gateway accepts
            s = _N - s
        return entry[:32] + s.to_bytes(32, "big")
