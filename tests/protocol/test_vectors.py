"""protocol/vectors.json and SPEC.md: generated, current, and true on CPython.

The same vectors run inside the real MicroPython interpreter in
test_vectors_micropython.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from firmware.signer import sign_with_nonce
from hil import vectors as generator
from protocol import codec

HERE = Path(__file__).resolve().parent
PROTOCOL = HERE.parents[1] / "protocol"
VECTORS = json.loads((PROTOCOL / "vectors.json").read_text(encoding="utf-8"))


def _load_vectorcheck():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("vectorcheck", HERE / "vectorcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_vectors_and_spec_match_the_generator() -> None:
    built = generator.build()
    assert generator.render(built) == (PROTOCOL / "vectors.json").read_text(encoding="utf-8"), (
        "run: python -m hil.vectors --write"
    )
    assert generator.render_spec(built) == (PROTOCOL / "SPEC.md").read_text(encoding="utf-8")


def test_every_vector_holds_on_cpython() -> None:
    checked, failures = _load_vectorcheck().check(VECTORS, sign_with_nonce)
    assert failures == []
    total = sum(len(VECTORS[k]) for k in ("valid", "invalid", "encode_invalid", "topics", "invalid_topics"))
    total += sum(len(s["steps"]) - sum("reply" not in st for st in s["steps"]) for s in VECTORS["gateway"]["scenarios"])
    assert checked == total
    assert len(VECTORS["valid"]) >= 20 and len(VECTORS["invalid"]) >= 15


def test_vectorcheck_reports_a_wrong_vector() -> None:
    """The checker itself can fail: corrupt one expected hex and one reason."""
    broken = json.loads(json.dumps(VECTORS))
    case = broken["valid"][0]
    case["hex"] = case["hex"][:-2] + ("00" if case["hex"][-2:] != "00" else "01")
    broken["invalid"][0]["reason"] = "BAD_SIGNATURE"
    _, failures = _load_vectorcheck().check(broken, sign_with_nonce)
    assert len(failures) >= 2


def test_signed_vectors_verify_with_cryptography() -> None:
    secret = int(VECTORS["test_key"]["secret"], 16)
    private = ec.derive_private_key(secret, ec.SECP256R1())
    public = private.public_key()
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    assert (
        public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint).hex()
        == VECTORS["test_key"]["public_sec1"]
    )
    signed = [c for c in VECTORS["valid"] if "nonce" in c]
    assert len(signed) >= 8
    for case in signed:
        data = bytes.fromhex(case["hex"])
        r, s = int.from_bytes(data[-64:-32], "big"), int.from_bytes(data[-32:], "big")
        public.verify(encode_dss_signature(r, s), data[:-64], ec.ECDSA(hashes.SHA256()))
        assert s <= generator.N // 2, case["name"]
        assert codec.decode(data).signature == data[-64:]  # type: ignore[attr-defined]


def test_spec_examples_are_vectors() -> None:
    spec = (PROTOCOL / "SPEC.md").read_text(encoding="utf-8")
    hexes = {c["hex"] for c in VECTORS["valid"]}
    shown = re.findall(r"^`([0-9a-f]{16,})`$", spec, flags=re.M)
    assert len(shown) == len(generator.SPEC_CASES)
    assert set(shown) <= hexes
    for code_name in ("ACCEPTED", "BAD_SIGNATURE", "FIRST_PRESS_FINAL", "BUSY"):
        assert code_name in spec
