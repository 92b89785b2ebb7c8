"""firmware.p256 against the `cryptography` package and the curve equation."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware import p256

scalars = st.integers(min_value=1, max_value=p256.N - 1)


def reference_point(k: int) -> tuple[int, int]:
    """k*G computed by OpenSSL (through cryptography)."""
    numbers = ec.derive_private_key(k, ec.SECP256R1()).public_key().public_numbers()
    return numbers.x, numbers.y


def jacobian(pt: tuple[int, int], z: int) -> tuple[int, int, int]:
    """The affine point in Jacobian coordinates with the given Z."""
    x, y = pt
    return x * z * z % p256.P, y * z * z * z % p256.P, z


def affine(jac: tuple[int, int, int]) -> tuple[int, int] | None:
    return p256.to_affine(*jac)


def run_base(k: int, per_step: int = 1) -> p256.BaseMul:
    job = p256.BaseMul(k)
    while job.step(per_step):
        pass
    return job


# --- constants -------------------------------------------------------------


def test_generator_is_on_curve_and_matches_reference() -> None:
    assert p256.is_on_curve(p256.GX, p256.GY)
    assert reference_point(1) == (p256.GX, p256.GY)


def test_order_n_is_the_group_order() -> None:
    # cryptography refuses private values >= n, so n-1 being accepted and
    # giving -G pins N; and (n-1)*G = -G on our side too.
    minus_g = (p256.GX, p256.P - p256.GY)
    assert reference_point(p256.N - 1) == minus_g
    assert p256.mul_base(p256.N - 1) == minus_g
    assert p256.mul(p256.N - 1, p256.GX, p256.GY) == minus_g
    with pytest.raises(ValueError):
        ec.derive_private_key(p256.N, ec.SECP256R1())
    assert p256.HALF_N == (p256.N - 1) // 2


def test_field_prime_has_its_special_form() -> None:
    assert p256.P == 2**256 - 2**224 + 2**192 + 2**96 - 1
    assert pow(3, p256.P - 1, p256.P) == 1  # Fermat witness
    assert pow(3, p256.N - 1, p256.N) == 1


def test_comb_table_entries_are_the_documented_multiples() -> None:
    assert len(p256.COMB) == 15
    for c in range(1, 16):
        k = sum(1 << (64 * j) for j in range(4) if c >> j & 1)
        assert p256.COMB[c - 1] == reference_point(k), c
        assert p256.is_on_curve(*p256.COMB[c - 1])


# --- on-curve checks -------------------------------------------------------


def test_is_on_curve_rejects_off_curve_and_unreduced_points() -> None:
    assert not p256.is_on_curve(p256.GX, p256.GY + 1)
    assert not p256.is_on_curve(p256.GX + 1, p256.GY)
    assert not p256.is_on_curve(0, 0)
    assert not p256.is_on_curve(p256.GX + p256.P, p256.GY)  # same residue, not reduced
    assert not p256.is_on_curve(p256.GX, p256.GY - p256.P)
    assert p256.is_on_curve(p256.GX, p256.P - p256.GY)  # -G


@settings(max_examples=100, deadline=None)
@given(scalars)
def test_multiples_are_on_curve(k: int) -> None:
    pt = p256.mul_base(k)
    assert pt is not None
    assert p256.is_on_curve(*pt)
    x, y = pt
    assert not p256.is_on_curve(x, (y + 1) % p256.P)


def test_mul_refuses_a_point_off_the_curve() -> None:
    with pytest.raises(ValueError):
        p256.mul(5, p256.GX, p256.GY + 1)


# --- scalar multiplication against cryptography ------------------------------


@settings(max_examples=300, deadline=None)
@given(scalars)
def test_fixed_base_matches_cryptography(k: int) -> None:
    assert p256.mul_base(k) == reference_point(k)


@settings(max_examples=60, deadline=None)
@given(scalars, scalars)
def test_general_mul_matches_cryptography_ecdh(a: int, b: int) -> None:
    # ECDH: a * (b*G) has the x coordinate OpenSSL derives as the shared secret.
    q = reference_point(b)
    shared = ec.derive_private_key(a, ec.SECP256R1()).exchange(
        ec.ECDH(), ec.derive_private_key(b, ec.SECP256R1()).public_key()
    )
    pt = p256.mul(a, *q)
    assert pt is not None
    assert pt[0].to_bytes(32, "big") == shared
    assert pt == reference_point(a * b % p256.N)


@pytest.mark.parametrize(
    "k",
    [1, 2, 3, 15, 16, 2**64, 2**64 + 1, 2**192, 2**255, 2**256 - 2**224, p256.N - 2, p256.N - 1],
)
def test_edge_scalars(k: int) -> None:
    expected = reference_point(k)
    assert p256.mul_base(k) == expected
    assert p256.mul(k, p256.GX, p256.GY) == expected
    for per_step in (1, 7, 64):
        assert affine(run_base(k, per_step).result()) == expected


def test_zero_and_n_give_infinity() -> None:
    assert p256.mul_base(0) is None
    assert p256.mul_base(p256.N) is None
    assert p256.mul(p256.N, p256.GX, p256.GY) is None
    assert p256.mul(0, p256.GX, p256.GY) is None
    assert p256.mul_base(p256.N + 1) == (p256.GX, p256.GY)  # taken mod n
    for bad in (0, p256.N, p256.N + 1, -1):
        with pytest.raises(ValueError):
            p256.BaseMul(bad)


# --- point formulas ----------------------------------------------------------


@pytest.mark.parametrize("z", [1, 2, 0xDEADBEEF, p256.P - 1])
def test_mixed_add_of_equal_points_doubles(z: int) -> None:
    g = (p256.GX, p256.GY)
    doubled = reference_point(2)
    jac = jacobian(g, z)
    assert affine(p256.add_mixed(*jac, *g)) == doubled
    assert affine(p256.double(*jac)) == doubled
    # a point with larger coordinates too
    q = reference_point(0x1234567)
    assert affine(p256.add_mixed(*jacobian(q, z), *q)) == reference_point(2 * 0x1234567)


@pytest.mark.parametrize("z", [1, 7, p256.P - 2])
def test_mixed_add_of_opposite_points_is_infinity(z: int) -> None:
    q = reference_point(99)
    out = p256.add_mixed(*jacobian(q, z), q[0], p256.P - q[1])
    assert out[2] == 0
    assert affine(out) is None


def test_infinity_is_handled() -> None:
    q = reference_point(5)
    assert affine(p256.add_mixed(1, 1, 0, *q)) == q
    assert p256.double(1, 1, 0)[2] == 0
    assert p256.to_affine(1, 1, 0) is None


@settings(max_examples=100, deadline=None)
@given(scalars, scalars, st.integers(min_value=1, max_value=p256.P - 1))
def test_mixed_add_and_double_match_reference(a: int, b: int, z: int) -> None:
    pa, pb = reference_point(a), reference_point(b)
    total = affine(p256.add_mixed(*jacobian(pa, z), *pb))
    expected = None if (a + b) % p256.N == 0 else reference_point((a + b) % p256.N)
    assert total == expected
    assert affine(p256.double(*jacobian(pa, z))) == reference_point(2 * a % p256.N)


# --- steppers ----------------------------------------------------------------


def test_base_mul_steps_are_bounded_and_resumable() -> None:
    k = random.Random(1).randrange(1, p256.N)
    job = p256.BaseMul(k)
    with pytest.raises(ValueError):
        job.result()
    calls = 0
    while True:
        steps, work = job.steps, job.work
        more = job.step(5)
        calls += 1
        assert job.steps - steps <= 5
        assert job.work - work <= 5 * p256.MAX_STEP_WORK
        if not more:
            break
    assert calls == 13  # ceil(64 / 5)
    assert job.steps == 64
    assert job.work == 64 * (p256.DBL_WORK + p256.MADD_WORK)
    assert not job.pending
    assert job.step(5) is False  # finished: no further work
    assert job.steps == 64
    assert affine(job.result()) == reference_point(k)


def test_base_mul_work_does_not_depend_on_the_scalar(monkeypatch: pytest.MonkeyPatch) -> None:
    # Count the point operations really performed (leading and zero columns
    # do dummy operations), and check the work counter agrees with them.
    calls = {"double": 0, "add_mixed": 0}
    real_double, real_add = p256.double, p256.add_mixed

    def double(*args: int) -> tuple[int, int, int]:
        calls["double"] += 1
        return real_double(*args)

    def add_mixed(*args: int) -> tuple[int, int, int]:
        calls["add_mixed"] += 1
        return real_add(*args)

    monkeypatch.setattr(p256, "double", double)
    monkeypatch.setattr(p256, "add_mixed", add_mixed)
    for k in (1, 2, 2**64, 2**255, p256.N - 1, 0xF0F0F0F0, 0x8000000000000000):
        calls["double"] = calls["add_mixed"] = 0
        job = run_base(k)
        assert calls == {"double": 64, "add_mixed": 64}, hex(k)
        assert job.work == 64 * p256.DBL_WORK + 64 * p256.MADD_WORK
        assert affine(job.result()) == reference_point(k)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=2**300), st.sampled_from([p256.P, p256.N]))
def test_sliced_inverse_matches_pow(x: int, m: int) -> None:
    if x % m == 0:
        x += 1
    inv = p256.Inverse(x, m)
    calls = 0
    while inv.step(3):
        calls += 1
        assert inv.steps <= 3 * calls
    assert inv.steps == 256 // p256.INV_BITS
    assert inv.work == inv.steps * 2 * p256.INV_BITS
    assert inv.result() * x % m == 1
    assert inv.result() == pow(x, -1, m) == p256.inverse(x, m)


def test_inverse_of_zero_is_refused() -> None:
    with pytest.raises(ValueError):
        p256.Inverse(0, p256.P)
    with pytest.raises(ValueError):
        p256.Inverse(p256.N, p256.N)
    with pytest.raises(ValueError):
        p256.inverse(p256.P, p256.P)
    inv = p256.Inverse(5, p256.P)
    with pytest.raises(ValueError):
        inv.result()


def test_no_step_exceeds_the_declared_maximum() -> None:
    assert 2 * p256.INV_BITS <= p256.MAX_STEP_WORK
    assert 256 % p256.INV_BITS == 0
