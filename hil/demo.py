"""The demo hall: everything of hallvote on this machine, a scripted sitting, watched on the big screen.

``run_demo`` starts a broker (``broker="auto"``: Mosquitto with the
generated hall configuration when installed, otherwise the embedded Python
broker :mod:`hil.rig.embedded`, which says what hardening it lacks), the
gateway on SQLite in a data folder, the chair console and big screen
(served by the gateway), and N simulated keypads running the real firmware;
prints the addresses and each role's sign-in; runs the scripted sitting
(:file:`hil/scenarios/demo.yaml`: check-in, a resolution, livelihood
projects 12 select 10, a satisfaction rating) at watching speed, then keeps
everything up until Ctrl-C.  Headless, it runs the same sitting at once and
returns the expected-vs-actual report.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hil.rig import SimRig
from hil.rig.broker import BROKER_KINDS, BrokerMissing, mosquitto_path
from hil.rig.sim import default_processes
from hil.scenario import load, plan
from hil.scenario.runner import Runner
from hil.scenario.spec import resized

__all__ = ["BrokerMissing", "DemoError", "run_demo"]

NO_BROKER = (
    "未找到 Mosquitto（--broker mosquitto）：请安装（apt-get install mosquitto），或用 --broker embedded。\n"
    "Mosquitto was not found (--broker mosquitto): install it (apt-get install mosquitto) "
    "or use --broker embedded."
)
NO_EMBEDDED = (
    "内置 Python 代理需要 amqtt（pip install amqtt），或安装 Mosquitto。\n"
    "The embedded Python broker needs amqtt (pip install amqtt), or install Mosquitto."
)


def choose_broker(kind: str) -> str:
    """``mosquitto`` or ``embedded`` for ``kind`` (auto: Mosquitto when installed); DemoError if unusable."""
    if kind not in BROKER_KINDS:
        raise DemoError(f"--broker: {', '.join(BROKER_KINDS)}")
    if kind == "auto":
        kind = "mosquitto" if mosquitto_path() is not None else "embedded"
    if kind == "mosquitto" and mosquitto_path() is None:
        raise DemoError(NO_BROKER)
    if kind == "embedded":
        try:
            import amqtt  # noqa: F401
        except ImportError:
            raise DemoError(NO_EMBEDDED) from None
    return kind


class DemoError(RuntimeError):
    """The demo cannot start; the message says why and what to do (zh-CN, then English)."""


def _data_dir(base: Path | None, headless: bool) -> Path:
    if headless and base is None:
        return Path(tempfile.mkdtemp(prefix="hallvote-demo-"))
    root = base or Path("demo-data")
    d = root / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    d.mkdir(parents=True, exist_ok=False)
    return d


def sign_in_text(rig: SimRig) -> str:
    assert rig.gateway is not None
    base = rig.gateway.base
    lines = [
        f"大屏 / big screen:     {base}/display",
        f"主持人 / chair console: {base}/console/chair",
        f"登录 / sign in:        {base}/console/login",
        f"接口文档 / API docs:    {base}/docs",
        "",
        "角色 / role     密码 / console password     令牌 / API bearer token",
    ]
    for role in ("chair", "clerk", "technician", "display"):
        lines.append(f"{role:<14} {rig.creds.passwords[role]:<26} {rig.creds.tokens[role]}")
    return "\n".join(lines)


def run_demo(
    *,
    keypads: int | None = None,
    headless: bool = False,
    data: Path | None = None,
    speed: float | None = None,
    scenario: str = "demo",
    say: Callable[[str], None] = print,
    wait_forever: Callable[[], None] | None = None,
    progress: bool = True,
    broker: str = "auto",
    processes: int | None = None,
) -> dict[str, Any]:
    """Run the demo sitting; the report (``ok`` true when every result matched the model).

    ``keypads`` None: the scenario's own size.  ``processes`` None: :func:`hil.rig.sim.default_processes`."""
    kind = choose_broker(broker)
    s = load(scenario)
    if keypads is not None and keypads != s.seats:
        s = resized(s, keypads)
    keypads = s.seats
    if processes is None:
        processes = default_processes(keypads)
    elif processes < 1:
        raise DemoError(f"--processes: at least 1, not {processes}")
    workdir = _data_dir(data, headless)
    say(f"数据目录 / data folder: {workdir}")
    if kind == "embedded":
        from hil.rig.embedded import NOT_HARDENED

        say(NOT_HARDENED)
    name = "Mosquitto" if kind == "mosquitto" else "embedded broker (amqtt)"
    where = "" if processes == 1 else f" in {processes} processes"
    say(f"启动 / starting: {name}, gateway (SQLite), {keypads} simulated keypads{where} …")
    t0 = time.monotonic()
    rig = SimRig(workdir, s.seats, hall="demo-hall", seed_value=s.seed, broker=kind, processes=processes)
    try:
        rig.start()
        online_s = time.monotonic() - t0
        say(f"{keypads} 台表决器在线 / keypads online ({online_s:.0f} s)")
        say(sign_in_text(rig))
        runner = Runner(rig, plan(s), speed=(0.0 if headless else 1.0) if speed is None else speed,
                        show_progress=progress, say=say)  # fmt: skip
        report = runner.run()
        report["data_folder"] = str(workdir)
        report["broker"] = kind
        report["processes"] = processes
        report["online_seconds"] = round(online_s, 1)
        if not headless:
            say("会议结束。按 Ctrl-C 退出 / The sitting is over; the hall stays up until Ctrl-C.")
            (wait_forever or _forever)()
        return report
    finally:
        rig.close()


def _forever() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
