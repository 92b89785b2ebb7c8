"""firmware/reference.py: the unsliced P-256 and ECDSA helpers a keypad in a sitting never calls.

They stay reachable as ``firmware.p256.mul``, ``firmware.signer.sign_with_nonce`` and so on
(a module ``__getattr__`` loads firmware.reference on the first lookup), on CPython and on the
MicroPython WebAssembly port running the shipped .mpy files; loading the signer alone does not
load them.
"""

from __future__ import annotations

import hashlib

import pytest
from hvtest.micropython import micropython_harness, need_mpy_cross  # noqa: F401  (fixture)

from firmware import p256, reference, signer

SECRET = hashlib.sha256(b"reference-key").digest()
NONCE = hashlib.sha256(b"reference-nonce").digest()


@pytest.mark.parametrize("name", ["B", "inverse", "is_on_curve", "mul", "mul_base", "to_affine"])
def test_p256_hands_the_unsliced_helpers_on(name: str) -> None:
    assert getattr(p256, name) is getattr(reference, name)


@pytest.mark.parametrize("name", ["public_key_sec1", "sign_with_nonce"])
def test_signer_hands_the_vector_helpers_on(name: str) -> None:
    assert getattr(signer, name) is getattr(reference, name)


def test_other_names_are_still_missing() -> None:
    for module in (p256, signer):
        with pytest.raises(AttributeError):
            module.no_such_helper  # noqa: B018
        assert not hasattr(module, "no_such_helper")


def test_the_reference_key_is_the_stepped_key() -> None:
    job = signer.PublicKeyJob(SECRET)
    assert signer.public_key_sec1(SECRET) == job.result()
    x, y = p256.mul_base(int.from_bytes(SECRET, "big"))  # type: ignore[misc]
    assert p256.is_on_curve(x, y) and job.result() == b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


LAZY_SCRIPT = """
import sys, hvhost
from firmware import signer
out = {"after_import": "firmware.reference" in sys.modules}
s = signer.Signer(bytes.fromhex(hvhost.load_input()["secret"]), hvhost.urandom, 1)
while s.precompute_slice():
    pass
s.sign(b"press")
out["after_sign"] = "firmware.reference" in sys.modules
out["pub"] = signer.public_key_sec1(bytes.fromhex(hvhost.load_input()["secret"])).hex()
from firmware.signer import sign_with_nonce
out["sig"] = sign_with_nonce(bytes.fromhex(hvhost.load_input()["secret"]), b"msg", 12345).hex()
out["loaded"] = "firmware.reference" in sys.modules
from firmware import p256
out["mul_is_ref"] = p256.mul is sys.modules["firmware.reference"].mul
try:
    signer.no_such_helper
    out["missing"] = "found"
except AttributeError:
    out["missing"] = "AttributeError"
hvhost.result(out)
"""


def test_micropython_loads_the_helpers_only_when_asked(micropython) -> None:
    need_mpy_cross()
    out = micropython.run_json(LAZY_SCRIPT, compiled=True, input_data={"secret": SECRET.hex()}, name="lazy.py")
    assert out["after_import"] is False and out["after_sign"] is False  # signing never loads them
    assert out["pub"] == signer.public_key_sec1(SECRET).hex()
    assert out["sig"] == signer.sign_with_nonce(SECRET, b"msg", 12345).hex()
    assert out["loaded"] is True and out["mul_is_ref"] is True
    assert out["missing"] == "AttributeError"
