"""``hallvote user passwd``: set a person's console password (argon2) in hall.toml.

The password is asked twice (hidden) or read from stdin (``--stdin``), must
be at least 8 characters, and only its argon2id hash is written, as
``password_argon2`` in the ``[[users]]`` entry with that name; the rest of
the file is left as it was.  The new file is checked as a whole before it
replaces the old one (atomically).  ``--print`` prints the hash instead of
writing it (for users given by ``HALLVOTE_USERS``).  A running gateway reads
hall.toml at start: restart it for the change to take effect.

Exit codes: 0 done, 1 refused (no such user, password too short or not
confirmed), 2 the configuration cannot be read or written.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Annotated

import typer

from gateway.config.settings import ConfigError, load_settings
from gateway.console.auth import hash_password

__all__ = ["MIN_PASSWORD", "set_password_in_toml", "user_app"]

MIN_PASSWORD = 8

user_app = typer.Typer(
    name="user",
    help="People who use the console / 控制台用户",
    no_args_is_help=True,
)

_TABLE = re.compile(r"^\s*\[")


class UserNotFound(Exception):
    pass


def set_password_in_toml(text: str, name: str, digest: str) -> str:
    """``text`` with ``password_argon2 = "<digest>"`` in the ``[[users]]`` entry named ``name``."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _TABLE.match(line)] + [len(lines)]
    for begin, end in itertools.pairwise(starts):
        if lines[begin].strip() != "[[users]]":
            continue
        block = "".join(lines[begin + 1 : end])
        try:
            entry = tomllib.loads(block)
        except tomllib.TOMLDecodeError:
            continue
        if str(entry.get("name", "")).strip() != name:
            continue
        kept = [line for line in lines[begin + 1 : end] if not re.match(r"\s*password_argon2\s*=", line)]
        new_line = f'password_argon2 = "{digest}"\n'
        if kept and not kept[-1].endswith("\n"):
            kept[-1] += "\n"
        # after the entry's last key (before trailing blank lines)
        last = max((i for i, line in enumerate(kept) if line.strip()), default=-1)
        kept.insert(last + 1, new_line)
        return "".join(lines[: begin + 1] + kept + lines[end:])
    raise UserNotFound(name)


def _read_password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first: str = typer.prompt("新密码 / new password", hide_input=True)
    again: str = typer.prompt("再输入一次 / again", hide_input=True)
    if first != again:
        typer.echo("两次输入不一致 / the two entries differ", err=True)
        raise typer.Exit(1)
    return first


@user_app.command("passwd")
def passwd(
    name: Annotated[str, typer.Argument(help="The user's name as in hall.toml [[users]] / 用户名")],
    config: Annotated[Path, typer.Option("--config", help="hall.toml")] = Path("hall.toml"),
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the password from stdin (one line).")] = False,
    print_only: Annotated[
        bool, typer.Option("--print", help="Print the hash; do not write the file.")
    ] = False,
) -> None:
    """Set NAME's console password (argon2) / 设置控制台登录密码."""
    password = _read_password(stdin)
    if len(password) < MIN_PASSWORD:
        typer.echo(
            f"密码至少 {MIN_PASSWORD} 个字符 / a password needs at least {MIN_PASSWORD} characters", err=True
        )
        raise typer.Exit(1)
    digest = hash_password(password)
    if print_only:
        typer.echo(digest)
        return
    try:
        text = config.read_text(encoding="utf-8")
    except OSError as exc:
        typer.echo(f"无法读取 / cannot read {config}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    try:
        new_text = set_password_in_toml(text, name.strip(), digest)
    except UserNotFound:
        typer.echo(f"hall.toml 中没有用户 {name} / no [[users]] entry named {name} in {config}", err=True)
        raise typer.Exit(1) from None
    fd, tmp = tempfile.mkstemp(prefix=".hall.", suffix=".toml", dir=config.resolve().parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(new_text)
        os.chmod(tmp, config.stat().st_mode & 0o777)
        try:
            load_settings(tmp)  # the whole file must still be a valid configuration
        except ConfigError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        os.replace(tmp, config)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    typer.echo(
        f"已设置 {name} 的控制台密码；请重启网关 / console password of {name} set; restart the gateway"
    )
