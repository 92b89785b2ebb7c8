"""NIST P-256 (secp256r1) arithmetic for the keypad, in plain Python.

Runs unchanged on MicroPython (ESP32, the WebAssembly port) and CPython.
Only integer arithmetic is used; no ``int.bit_length``, no ``typing`` at
run time (annotations are strings, which MicroPython never evaluates).

Points
------
* affine: ``(x, y)`` with ``0 <= x, y < P``; the point at infinity is ``None``.
* Jacobian: ``(X, Y, Z)`` meaning ``(X / Z^2, Y / Z^3)``; ``Z == 0`` is the
  point at infinity (canonically ``(1, 1, 0)``).

Formulas (curve ``y^2 = x^3 - 3x + b``):
* doubling: "dbl-2001-b" for a = -3 (3M + 5S);
* mixed addition Jacobian + affine: "madd-2004-hmv" (8M + 3S), falling back
  to doubling when both inputs are the same point.

Fixed-base multiplication ``k*G`` uses a 4-tooth comb (Lim-Lee): ``k`` is cut
into four 64-bit blocks and column ``i`` (bits ``i``, ``64+i``, ``128+i``,
``192+i``) selects one of 15 precomputed affine points ``COMB[c-1] =
sum(2^(64*j) * G for each bit j set in c)``.  That is 64 doublings and 64
mixed additions per scalar, with a table of 15 points (~2 KB).  The work is
done by :class:`BaseMul`, a resumable stepper: ``step(n)`` processes at most
``n`` columns and returns whether work remains, so a caller bounds each slice.
Columns whose index is zero (and the leading columns while the accumulator
is still the point at infinity) do the same point operations on a dummy, so
every scalar costs the same number of point operations.  (Python integers
are not constant-time; this only removes the gross per-bit difference.)

Field and scalar inversion by Fermat (``x^(m-2) mod m``) is sliced the same
way by :class:`Inverse`: each step consumes ``INV_BITS`` exponent bits using
the built-in three-argument ``pow`` on the chunk.

Work accounting: each stepper keeps ``work``, the number of modular
multiplications (squarings included) it has done, by this cost model: a
doubling costs ``DBL_WORK`` (8), a mixed addition ``MADD_WORK`` (11), an
inversion step ``2 * INV_BITS`` (one squaring and at most one multiplication
per exponent bit).  No step costs more than ``MAX_STEP_WORK``.

The unsliced helpers (``mul``, ``mul_base``, ``to_affine``, ``inverse``,
``is_on_curve`` and the curve's ``B``) live in :mod:`firmware.reference`,
which a keypad in a sitting never loads; they are still reached here, as
``p256.mul`` and so on (this module's ``__getattr__`` loads them).
"""

__all__ = [
    "COMB",
    "DBL_WORK",
    "GX",
    "GY",
    "HALF_N",
    "INV_BITS",
    "MADD_WORK",
    "MAX_STEP_WORK",
    "BaseMul",
    "Inverse",
    "N",
    "P",
    "add_mixed",
    "double",
]

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:  # for the type checker; at run time __getattr__ below loads them
    from .reference import B as B
    from .reference import inverse as inverse
    from .reference import is_on_curve as is_on_curve
    from .reference import mul as mul
    from .reference import mul_base as mul_base
    from .reference import to_affine as to_affine


def __getattr__(name: str) -> object:
    """``B``, ``inverse``, ``is_on_curve``, ``mul``, ``mul_base``, ``to_affine``:
    the unsliced helpers, loaded from :mod:`firmware.reference` when first asked for."""
    from . import reference

    return getattr(reference, name)  # AttributeError for any other name


# Domain parameters (FIPS 186-4 D.1.2.3 / SEC 2 secp256r1).
P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5
HALF_N = N >> 1

DBL_WORK = 8
MADD_WORK = 11
INV_BITS = 8
MAX_STEP_WORK = DBL_WORK + MADD_WORK  # one comb column; an inversion step is 2 * INV_BITS

# COMB[c - 1] = sum of 2^(64*j) * G over the bits j set in c (c = 1..15), affine.
COMB = (
    (
        0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
        0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
    ),
    (
        0x0FA822BC2811AAA58492592E326E25DE29493BAAAD651F7E90E75CB48E14DB63,
        0xBFF44AE8F5DBA80D6F4AD4BCB3DF188B34B1A65050FE82F5E41124545F462EE7,
    ),
    (
        0x300A4BBC89D6726FB257C0DE95E02789E96C98FD0D35F1FA93391CE2097992AF,
        0x72AAC7E0D09B46447F1DDB25FF1E3C6F5BB1EEADA9D806A5AA54A291C08127A0,
    ),
    (
        0x447D739BEEDB5E67FB982FD588C6766EFC35FF7DC297EAC357C84FC9D789BD85,
        0x2D4825AB834131EEE12E9D953A4AAFF73D349B95A7FAE5000C7E33C972E25B32,
    ),
    (
        0xEF9519328A9C72FFDDC6068BB91DFC60EF7FBD2B1A0A11B713949C932A1D367F,
        0x611E9FC37DBB2C9BC1EE9807022C219C23183B0895CA1740196035A77376D8A8,
    ),
    (
        0x550663797B51F5D87DEA6482E11238BF2936DF5EC6C9BC36CAE2B1920B57F4BC,
        0x157164848AECB8510AFA40018D9D50E59FB3D576DBDEFBE144FFE216348A964C,
    ),
    (
        0xEB5D7745B21141EAA2E8F483F43E43917CCD84E70D715F26E48ECAFFFC5CDE01,
        0xEAFD72EBDBECC17B0990E6A158006CEE85F22CFE2844B645CAC917E2731A3479,
    ),
    (
        0xA6D39677A78492762736FF8344315FC596439591A3C6B94A6CF20FFB313728BE,
        0x674F84749B0B881666B8BABD2D27ECDF824A920C2284059BF2BAB833C357F5F4,
    ),
    (
        0x4E769E7672C9DDAD31855F7DB8C7FEDB74E02F080203A56B2DF48C04677C8A3E,
        0x42B99082DE8306631EC0057206947281FB9AE16F3B9122A5A4C36165B824BBB0,
    ),
    (
        0x78878EF61C6CE04D7FDC1CA008A1C478D1F89E799C0CE1316EF95150DDA868B9,
        0xB6CB3F5D7B72C321DE53142C12309DEF6ACE570EBDE08D4F9C62B9121FE0D976,
    ),
    (
        0x0C88BC4D716B1287595C5220812FFCAE5B82DD5BD54FB4967F991ED2C31A3573,
        0xDD5DDEA3F3901DC618D1B5B39C04E6AA7C8181F4DF2564F33A57BF635F48ACA8,
    ),
    (
        0x68F344AF6B317466EFE0A423083E49F343A0A28C42BA792FE96A79FB3E72AD0C,
        0x31B9C405F8540A20604ED93C24D67FF3668BFC2271F5C626CDFE17DB3FB24D4A,
    ),
    (
        0x4052BF4B6F461DB9663C62C3EDBAD7A00D1A10144EC39C28D36B4789A2582E7F,
        0xFECF4D5190B0FC61862BE6BD71D70CC8E724F33999BFCC5B235A27C3188D25EB,
    ),
    (
        0x1EDDBAE2C802E41A123202A8F62BFF7AAFDF5CC08526A7A474346C10A1D4CFAC,
        0x43104D86560EBCFC0C45F45273DB33A036E06B7E4C7019178FA0AF2DD603F844,
    ),
    (
        0xB48E26B484F7A21C0A4A46FB6AAF363A66B0DE3225C4744B9615B5110D1D78E5,
        0xFAC015404D4D3DAB64131BCDFED6F668C004E4048B7B0F9806EBB0F621A01B2D,
    ),
)


def double(X1: int, Y1: int, Z1: int) -> "tuple[int, int, int]":
    """2 * (X1, Y1, Z1) in Jacobian coordinates (dbl-2001-b, a = -3)."""
    p = P
    delta = Z1 * Z1 % p
    gamma = Y1 * Y1 % p
    beta = X1 * gamma % p
    alpha = 3 * (X1 - delta) * (X1 + delta) % p
    X3 = (alpha * alpha - 8 * beta) % p
    Z3 = 2 * Y1 * Z1 % p
    Y3 = (alpha * (4 * beta - X3) - 8 * gamma * gamma) % p
    return X3, Y3, Z3


def add_mixed(X1: int, Y1: int, Z1: int, x2: int, y2: int) -> "tuple[int, int, int]":
    """(X1, Y1, Z1) + (x2, y2): Jacobian plus affine (madd-2004-hmv).

    Handles every case: the Jacobian input at infinity, equal points
    (doubles) and opposite points (gives ``(1, 1, 0)``, the infinity).
    """
    p = P
    if Z1 == 0:
        return x2, y2, 1
    z1z1 = Z1 * Z1 % p
    h = (x2 * z1z1 - X1) % p
    r = (y2 * Z1 % p * z1z1 - Y1) % p
    if h == 0:
        if r == 0:
            return double(X1, Y1, Z1)
        return 1, 1, 0
    hh = h * h % p
    hhh = h * hh % p
    v = X1 * hh % p
    X3 = (r * r - hhh - 2 * v) % p
    Y3 = (r * (v - X3) - Y1 * hhh) % p
    Z3 = Z1 * h % p
    return X3, Y3, Z3


class BaseMul:
    """Resumable fixed-base multiplication ``k * G`` by the 4-tooth comb.

    ``step(n)`` processes at most ``n`` of the 64 columns (each: one doubling
    and one mixed addition) and returns True while columns remain.  When done,
    ``result()`` gives the Jacobian point.  ``work`` counts modular
    multiplications (see module docstring); a full run is exactly
    ``64 * MAX_STEP_WORK`` unless an addition meets equal points.
    """

    def __init__(self, k: int) -> None:
        if not 0 < k < N:
            raise ValueError("scalar out of range")
        self._kb = k.to_bytes(32, "big")
        self._col = 63
        self._X = 1
        self._Y = 1
        self._Z = 0
        self.steps = 0
        self.work = 0

    def step(self, n: int = 1) -> bool:
        kb = self._kb
        col = self._col
        X = self._X
        Y = self._Y
        Z = self._Z
        comb = COMB
        while n > 0 and col >= 0:
            o = 31 - (col >> 3)
            sh = col & 7
            c = (
                ((kb[o] >> sh) & 1)
                | (((kb[o - 8] >> sh) & 1) << 1)
                | (((kb[o - 16] >> sh) & 1) << 2)
                | (((kb[o - 24] >> sh) & 1) << 3)
            )
            if Z:
                X, Y, Z = double(X, Y, Z)
                if c:
                    t = comb[c - 1]
                    X, Y, Z = add_mixed(X, Y, Z, t[0], t[1])
                else:
                    add_mixed(X, Y, Z, GX, GY)  # dummy: same work as a real column
            else:
                # Accumulator still at infinity: dummy work on G, then load the entry.
                dX, dY, dZ = double(GX, GY, 1)
                add_mixed(dX, dY, dZ, GX, GY)
                if c:
                    t = comb[c - 1]
                    X, Y, Z = t[0], t[1], 1
            col -= 1
            n -= 1
            self.steps += 1
            self.work += MAX_STEP_WORK
        self._col = col
        self._X = X
        self._Y = Y
        self._Z = Z
        return col >= 0

    @property
    def pending(self) -> bool:
        return self._col >= 0

    def result(self) -> "tuple[int, int, int]":
        """The Jacobian point k * G (ValueError if columns remain)."""
        if self._col >= 0:
            raise ValueError("multiplication not finished")
        return self._X, self._Y, self._Z

    def wipe(self) -> None:
        """Drop the scalar and the accumulator."""
        self._kb = b""
        self._col = -1
        self._X = self._Y = 1
        self._Z = 0


class Inverse:
    """Resumable Fermat inversion ``x^(m-2) mod m`` for a 256-bit prime ``m``.

    ``step(n)`` consumes at most ``n`` chunks of ``INV_BITS`` exponent bits
    (left to right) and returns True while chunks remain; ``result()`` then
    gives the inverse.  Each step costs ``2 * INV_BITS`` work units.
    """

    def __init__(self, x: int, m: int) -> None:
        x %= m
        if x == 0:
            raise ValueError("no inverse of 0")
        self._x = x
        self._m = m
        self._e = m - 2
        self._shift = 256
        self._acc = 1
        self.steps = 0
        self.work = 0

    def step(self, n: int = 1) -> bool:
        m = self._m
        x = self._x
        acc = self._acc
        shift = self._shift
        while n > 0 and shift > 0:
            shift -= INV_BITS
            chunk = (self._e >> shift) & ((1 << INV_BITS) - 1)
            acc = pow(acc, 1 << INV_BITS, m) * pow(x, chunk, m) % m
            n -= 1
            self.steps += 1
            self.work += 2 * INV_BITS
        self._acc = acc
        self._shift = shift
        return shift > 0

    @property
    def pending(self) -> bool:
        return self._shift > 0

    def result(self) -> int:
        if self._shift > 0:
            raise ValueError("inversion not finished")
        return self._acc

    def wipe(self) -> None:
        self._x = 0
        self._acc = 0
        self._shift = 0
