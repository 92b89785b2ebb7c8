"""The signer's side of "a press never waits for a nonce, and a nonce never repeats": one bounded
step per slice, the public key in steps, and the refusal to make a nonce when the RNG looks dead
and the boot count did not reach flash."""

from __future__ import annotations

import os

import pytest

from firmware import p256, signer

SECRET = bytes(range(1, 33))


def dead_rng(n: int) -> bytes:
    return bytes(n)


def test_public_key_in_steps_equals_the_whole_computation() -> None:
    job = signer.PublicKeyJob(SECRET)
    steps = 1
    while job.step():
        steps += 1
    assert job.result() == signer.public_key_sec1(SECRET)
    assert steps == 64 + 256 // p256.INV_BITS  # comb columns, then the inversion of Z


def test_default_slice_is_one_step() -> None:
    sg = signer.Signer(SECRET, os.urandom)
    works = []
    while sg.pending:
        sg.precompute_slice()
        assert sg.last_slice_steps == 1
        works.append(sg.last_slice_work)
    assert max(works) <= p256.MAX_STEP_WORK  # a comb column is the heaviest step


def test_dead_rng_without_a_durable_counter_refuses_to_make_a_nonce() -> None:
    sg = signer.Signer(SECRET, dead_rng, pool_size=2, counter_base=5 << 32, counter_durable=False)
    with pytest.raises(signer.NonceRefused):
        while sg.pending:
            sg.precompute_slice()
    with pytest.raises(signer.NonceRefused):
        sg.sign(b"vote")
    assert sg.signatures == 0 and sg.rng_suspect


def test_dead_rng_with_a_durable_counter_still_gives_distinct_nonces() -> None:
    sg = signer.Signer(SECRET, dead_rng, pool_size=3, counter_base=5 << 32, counter_durable=True)
    sigs = [sg.sign(b"m%d" % i) for i in range(3)]
    assert len({s[:32] for s in sigs}) == 3 and sg.rng_suspect  # distinct r: distinct nonces


def test_a_repeating_rng_is_caught_too() -> None:
    draws = [os.urandom(32)] * 2

    def repeating(n: int) -> bytes:
        return draws[0]

    sg = signer.Signer(SECRET, repeating, pool_size=1, counter_durable=False)
    sg.precompute_slice()  # the first draw: nothing to compare with yet
    while sg.pending:
        sg.precompute_slice()
    with pytest.raises(signer.NonceRefused):
        sg.sign(b"a")  # the pool's nonce is used; the next one is refused
        sg.sign(b"b")
