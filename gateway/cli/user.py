"""``hallvote user ...``: the people in a hall's settings.

``hallvote user add --config hall.toml --name 张三 --role clerk`` makes a new
token, appends a ``[[users]]`` table (name, role, the token's SHA-256) to
``hall.toml`` (comments and everything else kept) and prints the token
once.  The file is checked before and after: a name already taken, a bad
role or a name that is not one line of text is refused and the file is
left as it was.  A running gateway reads its users at start: restart it.

``hallvote user passwd NAME --config hall.toml`` sets that person's console
password (argon2): the password is asked twice (hidden) or read from stdin (``--stdin``), must
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
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from gateway.config.settings import ROLES, ConfigError, UserEntry, format_errors, load_settings
from gateway.config.template import TemplateUser, user_block
from gateway.console.auth import hash_password

__all__ = ["MIN_PASSWORD", "set_password_in_toml", "user_app"]

MIN_PASSWORD = 8

user_app = typer.Typer(
    name="user",
    help="The people who use the API and console (hall.toml [[users]]) / 用户",
    no_args_is_help=True,
)


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True, soft_wrap=True, highlight=False).print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


def _replace(path: Path, data: bytes) -> None:
    mode = path.stat().st_mode & 0o777
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


@user_app.command("add")
def add(
    config: Annotated[Path, typer.Option("--config", "-c", help="The hall's settings file.")],
    name: Annotated[str, typer.Option("--name", help="Who (the audit log's actor; unique).")],
    role: Annotated[str, typer.Option("--role", help="chair | clerk | technician | display")],
) -> None:
    """Add a person to hall.toml and print their new token once / 添加用户."""
    from gateway.cli.init import new_token

    try:
        before = load_settings(config)
    except ConfigError as exc:
        raise _fail("\n".join(exc.lines())) from None
    if role not in ROLES:
        raise _fail(f"未知角色 / unknown role {role!r}: one of {', '.join(ROLES)}")
    token, digest = new_token()
    try:
        entry = UserEntry(name=name, role=role, token_sha256=digest)
    except ValidationError as exc:
        raise _fail("; ".join(format_errors(exc))) from None
    if any(u.name == entry.name for u in before.users):
        raise _fail(f"用户名已存在 / a user named {entry.name!r} exists")
    old = config.read_bytes()
    new = (
        old
        + (b"" if old.endswith(b"\n") else b"\n")
        + user_block(TemplateUser(entry.name, entry.role, digest)).encode("utf-8")
    )
    _replace(config, new)
    try:
        load_settings(config)
    except ConfigError as exc:
        _replace(config, old)
        raise _fail("\n".join(exc.lines()) + "\n(hall.toml left as it was)", 1) from None
    out = Console(soft_wrap=True, highlight=False)
    out.print(
        f"已添加 / added {escape(entry.name)} ({entry.role}); 令牌只显示这一次 / the token, shown this once:"
    )
    out.print(token)
    out.print("运行中的网关需重启以读取新用户 / restart a running gateway for it to know the new user")


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
