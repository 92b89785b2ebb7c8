"""``hallvote user ...``: the people in a hall's settings.

``hallvote user add --config hall.toml --name 张三 --role clerk`` makes a new
token, appends a ``[[users]]`` table (name, role, the token's SHA-256) to
``hall.toml`` (comments and everything else kept) and prints the token
once.  The file is checked before and after: a name already taken, a bad
role or a name that is not one line of text is refused and the file is
left as it was.  A running gateway reads its users at start: restart it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from gateway.config.settings import ROLES, ConfigError, UserEntry, format_errors, load_settings
from gateway.config.template import TemplateUser, user_block

__all__ = ["user_app"]

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
    new = old + (b"" if old.endswith(b"\n") else b"\n") + user_block(
        TemplateUser(entry.name, entry.role, digest)
    ).encode("utf-8")
    _replace(config, new)
    try:
        load_settings(config)
    except ConfigError as exc:
        _replace(config, old)
        raise _fail("\n".join(exc.lines()) + "\n(hall.toml left as it was)", 1) from None
    out = Console(soft_wrap=True, highlight=False)
    out.print(f"已添加 / added {escape(entry.name)} ({entry.role}); 令牌只显示这一次 / the token, shown this once:")
    out.print(token)
    out.print("运行中的网关需重启以读取新用户 / restart a running gateway for it to know the new user")
