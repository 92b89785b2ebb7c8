"""``hallvote user passwd``: the argon2 hash lands in the right [[users]] entry, nothing else changes,
and the person can then sign in to the console with that password."""

from __future__ import annotations

import hashlib
from pathlib import Path

from argon2 import PasswordHasher
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config.settings import load_settings

DIGEST = hashlib.sha256(b"t").hexdigest()
DIGEST2 = hashlib.sha256(b"u").hexdigest()
CONFIG = f"""# the hall's settings
hall_id = "county-hall"

[broker]
password = "secret"

[[users]]
name = "王主任"   # the chair
role = "chair"
token_sha256 = "{DIGEST}"

[[users]]
name = "会场大屏"
role = "display"
token_sha256 = "{DIGEST2}"
"""


def _run(tmp_path: Path, *args: str, input: str = "") -> tuple[int, str, Path]:
    path = tmp_path / "hall.toml"
    if not path.exists():
        path.write_text(CONFIG, encoding="utf-8")
    result = CliRunner().invoke(app, ["user", "passwd", *args, "--config", str(path)], input=input)
    return result.exit_code, result.output, path


def test_sets_the_hash_in_the_named_entry_only(tmp_path: Path) -> None:
    code, out, path = _run(tmp_path, "王主任", input="correct horse\ncorrect horse\n")
    assert code == 0, out
    settings = load_settings(path)
    chair, screen = settings.users
    assert chair.password_argon2 is not None and PasswordHasher().verify(
        chair.password_argon2, "correct horse"
    )
    assert screen.password_argon2 is None
    text = path.read_text(encoding="utf-8")
    assert "# the chair" in text and "correct horse" not in text
    # a second time replaces it (one line, new hash)
    code, _, _ = _run(tmp_path, "王主任", "--stdin", input="another-password\n")
    assert code == 0
    assert path.read_text(encoding="utf-8").count("password_argon2") == 1
    assert PasswordHasher().verify(load_settings(path).users[0].password_argon2, "another-password")


def test_refusals_leave_the_file_alone(tmp_path: Path) -> None:
    _run(tmp_path, "王主任", "--stdin", input="x\n")  # creates the file; too short
    path = tmp_path / "hall.toml"
    before = path.read_bytes()
    for args, stdin, expected in (
        (("王主任", "--stdin"), "short\n", 1),
        (("nobody", "--stdin"), "long-enough-1\n", 1),
        (("王主任",), "one-password\nother-password\n", 1),
    ):
        code, out, _ = _run(tmp_path, *args, input=stdin)
        assert code == expected, out
    assert path.read_bytes() == before


def test_print_only(tmp_path: Path) -> None:
    code, out, path = _run(tmp_path, "王主任", "--stdin", "--print", input="long-enough-2\n")
    assert code == 0 and out.strip().startswith("$argon2id$")
    assert "password_argon2" not in path.read_text(encoding="utf-8")
