"""``hallvote gateway ...``: run a hall's gateway, prepare its database, hash API tokens.

``hallvote gateway run --config hall.toml`` loads the settings
(:mod:`gateway.config.settings`; a bad file prints every bad key and exits 2),
brings the database to the current schema, starts the gateway, its broker
bridge and countdown ticker, and serves the API until SIGTERM or SIGINT,
then stops the bridge (finishing the batch in hand) and everything else.

Exit codes: 0 after a clean stop, 1 when something needed is missing or
fails at start (broker bridge not installed, database unreachable), 2 for a
bad configuration.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import re
import secrets
import signal
import ssl
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from gateway.config.settings import ConfigError, GatewaySettings, load_settings

if TYPE_CHECKING:
    from gateway.service import Gateway

__all__ = ["GC_YOUNG", "TICK_S", "RedactTokens", "Ticker", "gateway_app"]

log = logging.getLogger("hallvote.gateway")

TICK_S = 0.25
GC_YOUNG = 10_000
"""Allocations between collections of the cyclic garbage collector's youngest generation (CPython's
default is 700): a batch of keypad frames makes tens of thousands of short-lived objects, almost none
of them in a reference cycle, so collecting every 700 allocations only re-scans live ones."""

gateway_app = typer.Typer(
    name="gateway",
    help="The hall gateway: run it, prepare its database, hash API tokens / 会场网关",
    no_args_is_help=True,
)

ConfigPath = Annotated[
    Path,
    typer.Option("--config", "-c", help="The hall's settings file (TOML); HALLVOTE_* variables override it."),
]


def _out() -> Console:
    return Console(soft_wrap=True, highlight=False)


def _err() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


def _settings(path: Path) -> GatewaySettings:
    try:
        return load_settings(path)
    except ConfigError as exc:
        err = _err()
        lines = exc.lines()
        err.print(f"[bold red]{escape(lines[0])}[/]")
        for line in lines[1:]:
            err.print(escape(line))
        raise typer.Exit(2) from None


def _fail(message: str, code: int = 1) -> typer.Exit:
    _err().print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


def _settle_gc() -> None:
    """What start-up built (imports, the API, the hall state loaded from the store) lives as long as
    the process: move it out of the cyclic collector's scans (``gc.freeze``), and collect the young
    generation every :data:`GC_YOUNG` allocations instead of every 700."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG, older, oldest)


class RedactTokens(logging.Filter):
    """Hide ``token=...`` query values (the WebSocket's ``?token=``) in uvicorn's log lines."""

    _TOKEN = re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message.lower():
            record.msg = self._TOKEN.sub(r"\1***", message)
            record.args = ()
        return True


class Ticker:
    """Calls ``gateway.tick()`` every ``interval`` seconds in a thread (countdowns close rounds)."""

    def __init__(self, gateway: Gateway, interval: float = TICK_S) -> None:
        self.gateway = gateway
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hallvote-tick", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.gateway.tick()
            except Exception:  # a failed tick is retried at the next one
                log.exception("tick failed")


def _tls(settings: GatewaySettings) -> ssl.SSLContext | None:
    ca = settings.broker.ca_file
    if ca is None:
        return None
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))


@gateway_app.command("init-db")
def init_db_command(config: ConfigPath) -> None:
    """Bring the database in the settings to the current schema (migrations) / 初始化数据库."""
    settings = _settings(config)
    from gateway.db import init_db, make_engine

    try:
        engine = make_engine(settings.database_url)
        try:
            init_db(engine)
        finally:
            engine.dispose()
    except Exception as exc:
        raise _fail(f"数据库初始化失败 / could not prepare the database: {exc}") from None
    _out().print(f"数据库已就绪 / database ready: {engine.url.render_as_string(hide_password=True)}")


@gateway_app.command("hash-token")
def hash_token(
    token: Annotated[
        str | None,
        typer.Argument(help="The bearer token; asked for (hidden) when left out.", show_default=False),
    ] = None,
    generate: Annotated[
        bool, typer.Option("--generate", "-g", help="Make a new random token and print it with its hash.")
    ] = False,
) -> None:
    """Print the SHA-256 of a bearer token, for ``token_sha256`` in the settings / 令牌摘要."""
    out = _out()
    if generate:
        if token is not None:
            raise _fail("give a token or --generate, not both", 2)
        token = secrets.token_urlsafe(32)
        out.print(f"token        = {token}")
        out.print(f"token_sha256 = {hashlib.sha256(token.encode()).hexdigest()}")
        return
    if token is None:
        token = typer.prompt("token", hide_input=True)
    token = token.strip()
    if len(token) < 16:
        raise _fail("令牌太短（至少 16 个字符）/ the token is too short (at least 16 characters)", 2)
    out.print(hashlib.sha256(token.encode()).hexdigest())


@gateway_app.command("check-config")
def check_config(
    config: ConfigPath,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Only validate the file; do not try the broker and the database."),
    ] = False,
) -> None:
    """Validate the settings, print them (secrets hidden), try the broker and the database / 检查配置.

    Exit 0 when everything answered, 1 when the broker or the database did
    not (each line says why), 2 for a bad file.
    """
    settings = _settings(config)
    out = _out()
    out.print(f"hall_id      {settings.hall_id}")
    out.print(f"database     {_safe_url(settings.database_url)}")
    b = settings.broker
    out.print(
        f"broker       {b.username}@{b.host}:{b.port} {'TLS ' + str(b.ca_file) if b.ca_file else 'plain'}"
    )
    out.print(f"api          http://{settings.api.host}:{settings.api.port}")
    for u in settings.users:
        out.print(f"user         {escape(u.name)} ({u.role})")
    if offline:
        return
    failed = False
    for what, problem in (("database", _try_database(settings)), ("broker", _try_broker(settings))):
        if problem is None:
            out.print(f"[green]ok[/]           {what}")
        else:
            failed = True
            _err().print(f"[bold red]failed[/]       {what}: {escape(problem)}")
    if settings.broker.control_password_file is not None:
        problem = _try_control(settings)
        if problem is None:
            out.print("[green]ok[/]           broker control account (dynamic security)")
        else:
            failed = True
            _err().print(f"[bold red]failed[/]       broker control account: {escape(problem)}")
    if failed:
        raise typer.Exit(1)


def _try_database(settings: GatewaySettings) -> str | None:
    """None if the database answers; else why not."""
    from sqlalchemy import text

    from gateway.db import make_engine

    try:
        engine = make_engine(settings.database_url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:
        return f"unreachable: {str(exc).splitlines()[0]}"
    return None


def _try_broker(settings: GatewaySettings, timeout: float = 5.0) -> str | None:
    """None if the broker accepts the gateway's login; else the reason (refused, tls, auth, ...)."""
    import queue

    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    from gateway.broker_bridge.bridge import failure_reason

    b = settings.broker
    events: queue.Queue[int] = queue.Queue()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="", protocol=paho.MQTTv311)
    client.username_pw_set(b.username, b.secret())
    tls = _tls(settings)
    if tls is not None:
        client.tls_set_context(tls)
    client.on_connect = lambda c, u, f, rc, p: events.put(rc.value)
    try:
        client.connect(b.host, b.port, keepalive=10)
    except Exception as exc:
        return f"{failure_reason(exc)}: {exc}"
    client.loop_start()
    try:
        code = events.get(timeout=timeout)
    except queue.Empty:
        return f"unreachable: no answer from {b.host}:{b.port} within {timeout:.0f} s"
    finally:
        client.disconnect()
        client.loop_stop()
    if code != 0:
        return f"auth: the broker refused the login of {b.username} ({paho.connack_string(code) if code < 6 else code})"
    return None


def _try_control(settings: GatewaySettings) -> str | None:
    from gateway.broker.dynsec import DynsecClient, DynsecError

    b = settings.broker
    secret = b.control_secret()
    assert secret is not None
    try:
        with DynsecClient(host=b.host, port=b.port, password=secret, tls=_tls(settings)):
            return None
    except DynsecError as exc:
        return str(exc)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@gateway_app.command("run")
def run(
    config: ConfigPath,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning, error")] = "info",
) -> None:
    """Run the hall's gateway: broker bridge, countdowns, API / 运行网关."""
    settings = _settings(config)
    from gateway.cli.logs import configure, uvicorn_log_config

    configure(settings.log, log_level)
    try:
        BrokerBridge = _bridge_class()
    except ImportError as exc:
        raise _fail(
            f"未安装消息桥 / the broker bridge (gateway.broker_bridge) is not available: {exc}"
        ) from None
    import uvicorn

    from gateway.api import create_app
    from gateway.audit import AuditLog
    from gateway.db import init_db, make_engine
    from gateway.service import Gateway

    if not settings.users:
        log.warning("no [[users]] in %s: every API call will be refused", config)
    try:
        engine = make_engine(settings.database_url)
        init_db(engine)
        audit = AuditLog(engine)
        audit.append(
            "config.loaded",
            "system",
            {"source": str(config.resolve()), "digest": hashlib.sha256(config.read_bytes()).hexdigest()},
        )
        _register_hall(engine, settings, audit)
        gateway = Gateway(engine, settings.hall_id, audit_log=audit, secret_keys=settings.secret_keys_dir)
    except Exception as exc:
        raise _fail(f"网关无法启动 / the gateway could not start: {exc}") from None

    bridge = BrokerBridge(
        hall_id=settings.hall_id,
        host=settings.broker.host,
        port=settings.broker.port,
        username=settings.broker.username,
        password=settings.broker.secret(),
        handler=gateway,
        client_id=settings.broker.client_id,
        tls=_tls(settings),
        retained=gateway.republish,  # on every (re)connect: the broker may have restarted
    )

    def publish(outs: Any) -> None:
        for outbound in outs:
            bridge.publish(outbound)

    gateway.on_broadcast(publish)
    gateway.set_drain(bridge.drain)  # a close decides first what reached the bridge before it
    keeper = _account_keeper(settings, gateway)
    ticker = Ticker(gateway)
    app = create_app(gateway, settings, audit=audit, broker_link=bridge.link)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.api.host,
            port=settings.api.port,
            log_level=log_level.lower(),
            log_config=uvicorn_log_config(),  # one format, one place (gateway.cli.logs)
        )
    )
    for name in ("uvicorn.error", "uvicorn.access"):  # after uvicorn.Config has set its logging up
        logging.getLogger(name).addFilter(RedactTokens())
    _out().print(
        f"hallvote gateway {settings.hall_id}: API http://{settings.api.host}:{settings.api.port}/docs, "
        f"broker {settings.broker.host}:{settings.broker.port}"
    )
    previous = _stop_on_signals(server)
    _settle_gc()
    try:
        bridge.start()
        if keeper is not None:
            gateway.on_reload(keeper.wake)
            keeper.start()
        ticker.start()
        server.run()  # returns after SIGINT / SIGTERM
    finally:
        ticker.stop()
        if keeper is not None:
            keeper.stop()
        bridge.stop()
        engine.dispose()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _out().print("网关已停止 / gateway stopped")


def _register_hall(engine: Any, settings: GatewaySettings, audit: Any) -> None:
    """The hall of the settings, registered (and audited) at start if the database does not have it."""
    from sqlmodel import Session

    from gateway.db.models import Hall

    with Session(engine) as session:
        if session.get(Hall, settings.hall_id) is not None:
            return
        name = settings.hall_name or settings.hall_id
        session.add(Hall(id=settings.hall_id, name=name))
        session.commit()
    audit.append("hall.registered", "system", {"hall": settings.hall_id, "name": name})
    log.info("registered hall %s (%s) from the settings", settings.hall_id, name)


def _account_keeper(settings: GatewaySettings, gateway: Gateway) -> Any:
    """With ``broker.control_password_file``: an AccountKeeper disabling revoked keypads on the broker."""
    secret = settings.broker.control_secret()
    if secret is None:
        return None
    from gateway.broker.dynsec import DynsecClient
    from gateway.broker.keeper import AccountKeeper

    b = settings.broker

    def revoked() -> list[str]:
        return [d for d, entry in gateway.state.devices.items() if entry.revoked]

    return AccountKeeper(
        revoked, lambda: DynsecClient(host=b.host, port=b.port, password=secret, tls=_tls(settings))
    )


def _bridge_class() -> Any:
    """BrokerBridge, imported only when the gateway runs (paho-mqtt and the bridge are not needed before)."""
    from gateway.broker_bridge import BrokerBridge

    return BrokerBridge


def _stop_on_signals(server: Any) -> dict[int, Any]:
    """SIGTERM and SIGINT ask the server to stop; returns the handlers they had.

    uvicorn installs its own handlers while serving and, when it has stopped,
    restores these and raises the signal again: with the default SIGTERM
    action that would kill the process before the bridge is stopped, so
    these handlers stay in place until everything is stopped.
    """

    def stop(_sig: int, _frame: Any) -> None:
        server.should_exit = True

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, stop)
    return previous
