"""The gateway's log: one line per event, text or JSON lines, rotated, secrets masked; ``hallvote logs``.

:func:`configure` sets it up from ``[log]`` of hall.toml (``hallvote gateway
run`` calls it):

* **text** (default): ``2026-11-27T08:30:00.123Z WARNING hallvote.broker_bridge: message``;
* **json**: ``{"ts": ..., "level": ..., "logger": ..., "msg": ...}`` (plus ``exc``);
* a message's line breaks and an exception's traceback stay on the
  event's one line (escaped as ``\\n``), so one line is one event;
* to standard error always (journald keeps it under systemd), and with
  ``file`` also to that file, rotated at ``max_bytes`` keeping ``backups``;
* :class:`Redact` masks what must never reach a log: bearer tokens,
  ``token=``/``password=``/``secret=`` values, ``Authorization`` headers.
  The gateway's own messages never carry a frame's bytes or a choice; the
  test suite runs a secret ballot through the real gateway and checks the
  file.

``hallvote logs --config hall.toml [-n 50] [--follow]`` prints the log
file's last lines (it tells where to look when the log goes to journald).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.handlers
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from gateway.config.settings import LogSettings

__all__ = ["JsonFormatter", "LineFormatter", "Redact", "configure", "logs"]

_MASKS = (
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1***"),
    (re.compile(r"(?i)((?:token|password|passwd|secret)=)[^&\s\"',;]+"), r"\1***"),
    (re.compile(r"(?i)(authorization:\s*)\S+(\s+\S+)?"), r"\1***"),
    (re.compile(r"(?i)(\"(?:token|password|secret)\"\s*:\s*\")[^\"]*"), r"\1***"),
)


def redact(text: str) -> str:
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


class Redact(logging.Filter):
    """Mask tokens, passwords and secrets in every record (message and arguments, once rendered)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def _ts(record: logging.LogRecord) -> str:
    return (
        dt.datetime.fromtimestamp(record.created, dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _one_line(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


class LineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{_ts(record)} {record.levelname} {record.name}: {_one_line(record.getMessage())}"
        if record.exc_info:
            line += " | " + _one_line(redact(self.formatException(record.exc_info)))
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": _ts(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            doc["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(doc, ensure_ascii=False)


def configure(settings: LogSettings, level: str = "info") -> list[logging.Handler]:
    """Route every logger (uvicorn's too) through the hall's handlers; returns them."""
    formatter: logging.Formatter = JsonFormatter() if settings.format == "json" else LineFormatter()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if settings.file is not None:
        settings.file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                settings.file, maxBytes=settings.max_bytes, backupCount=settings.backups, encoding="utf-8"
            )
        )
    for h in handlers:
        h.setFormatter(formatter)
        h.addFilter(Redact())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    return handlers


def uvicorn_log_config() -> dict[str, object]:
    """uvicorn's loggers propagate to the root (our handlers) instead of printing their own way."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {
            name: {"handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def _tail(path: Path, n: int) -> list[str]:
    with path.open("rb") as f:
        f.seek(0, 2)
        size = f.tell()
        block, data = 8192, b""
        while size > 0 and data.count(b"\n") <= n:
            step = min(block, size)
            size -= step
            f.seek(size)
            data = f.read(step) + data
    return data.decode("utf-8", errors="replace").splitlines()[-n:] if n else []


def _follow(path: Path) -> Iterator[str]:
    with path.open("r", encoding="utf-8", errors="replace") as f:
        f.seek(0, 2)
        inode = path.stat().st_ino
        while True:
            line = f.readline()
            if line:
                yield line.rstrip("\n")
                continue
            try:
                if path.stat().st_ino != inode:  # rotated: go on in the new file
                    return
            except FileNotFoundError:
                pass
            time.sleep(0.5)


def logs(
    config: Annotated[Path, typer.Option("--config", "-c", help="The hall's settings file.")],
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many of the last lines.")] = 50,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
) -> None:
    """Print the gateway's log file (``[log] file`` of hall.toml) / 查看网关日志."""
    from gateway.cli.gateway import _settings

    settings = _settings(config)
    path = settings.log.file
    if path is None:
        typer.echo(
            "日志未写入文件，见标准错误或 journalctl -u hallvote-gateway / the log goes to standard error only "
            "(under systemd: journalctl -u hallvote-gateway); set [log] file in hall.toml for a file",
            err=True,
        )
        raise typer.Exit(1)
    if not path.exists():
        typer.echo(f"还没有日志 / no log yet: {path}", err=True)
        raise typer.Exit(1)
    for line in _tail(path, lines):
        typer.echo(line)
    while follow:
        for line in _follow(path):
            typer.echo(line)
