"""The keypad's main loop over asyncio, with the MQTT client beside it.

One iteration: start the MQTT client once the app wants it (after Wi-Fi is
up and the key exists), ``Keypad.step()`` (key scan, link changes, received
frames, timers, LEDs, one precomputation slice), hand the frames it produced
to the MQTT client, feed the watchdog if the iteration was healthy, sleep
``loop_ms``.  Frames go to the client with ``post`` (queued; the client
task sends them under its own time bounds), so the loop never waits on the
network.  ``OSError`` (link loss from the network stack, e.g. Wi-Fi
calls) is caught here and only here; the next iteration sees the link state
and the state machine moves to ``offline``.  The MQTT client keeps its own
connection up (:meth:`firmware.mqtt.client.MQTTClient.run`).

The watchdog is fed only by a healthy loop: the iteration finished within
``stall_ms`` and the MQTT task, once started, has not died.  A wedged loop,
a crashed client task or a blocking driver therefore ends in a reset.

A keypad whose Wi-Fi is up but that has had no broker session for
``offline_reset_s`` seconds resets itself (``board.reset()``); its
unanswered signed frames are in NVS (:mod:`firmware.app.outbox`) and go out
again after the reboot.
"""

import asyncio
import sys

from firmware.mqtt import client as mc

from . import boot

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any

    from .keypad import Keypad

if sys.implementation.name != "micropython":
    __all__ = ["Runner", "make_client"]

# The config keys read once the keypad is built (by the keypad, this loop and, on a keypad with a
# display, the screen): the loop's keypad keeps only these (see Runner).
_RUN_KEYS = (
    "wifi_ssid", "wifi_password", "wifi_retry_ms", "inbox_max", "heartbeat_s", "refusal_ms", "settle_ms",
    "rating_keys", "secret_show_choice", "nonce_pool", "steps_per_slice", "nonce_reserve", "loop_ms",
    "stall_ms", "offline_reset_s",
)  # fmt: skip


def make_client(kp: "Keypad", **kw: "Any") -> mc.MQTTClient:
    """The keypad's MQTT client from its config; received messages go to ``kp.on_message``."""
    from firmware.mqtt import connect  # the client's connect path (it unloads it once online)

    cfg = kp.cfg
    ssl = kw.pop("ssl", None)
    if ssl is None and cfg["ca_file"]:
        ssl = connect.tls_context(cafile=cfg["ca_file"])
    return connect.for_device(
        cfg["hall"],
        cfg["device_id"],
        cfg["mqtt_password"],
        cfg["broker_host"],
        cfg["broker_port"],
        ssl=ssl,
        server_hostname=cfg["server_hostname"],
        keepalive=cfg["keepalive"],
        connect_timeout=cfg["connect_timeout_s"],
        send_timeout=cfg["send_timeout_s"],
        on_message=kp.on_message,
        **kw
    )


class Runner:
    """Drives one Keypad and its MQTT client until :meth:`request_stop` (or, on CPython, :meth:`stop`)."""

    def __init__(self, kp: "Keypad", client: "mc.MQTTClient", hook: "Any" = None) -> None:
        # The board and the client are built: of the config, the keypad keeps only what is read
        # from now on (a smaller dict for the rest of its life).
        cfg, kp.cfg = kp.cfg, {}
        for key in _RUN_KEYS:
            kp.cfg[key] = cfg[key]
        self.kp = kp
        self.client = client
        self.hook = hook  # called with the time after each step (the bench test channel); None in a hall
        self.task: Any = None
        self.running = False
        self.stopping = False
        self.iterations = 0
        self.feeds = 0
        self.stalls = 0  # iterations that did not feed the watchdog
        self.link_errors = 0
        self.offline_resets = 0
        self.stable = False  # healthy for boot.STABLE_MS (the faulty-boot count is cleared)
        self._offline_since: int | None = None
        self.last_error: BaseException | None = None

    async def iteration(self) -> None:
        """One step of the keypad and its link, then the watchdog: fed only when the step took at
        most ``stall_ms`` and the client's task is alive."""
        kp, client = self.kp, self.client
        clock = kp.clock
        start = clock.ticks_ms()
        try:
            if kp.want_mqtt and self.task is None:
                self.task = client.start()
            kp.step(start, client.connected, client.connects, client.opening)
            while kp.tx:
                topic, payload = kp.tx.pop(0)
                client.post(topic, payload, 1)  # the client task sends; the loop never waits on it
            if self.hook is not None:
                self.hook(start)
        except OSError as e:  # link loss: the next step() sees the link state
            self.link_errors += 1
            self.last_error = e
        self.iterations += 1
        # Reset the board after ``offline_reset_s`` with Wi-Fi up but no broker session: a link
        # that stays down while Wi-Fi is up can be a wedged network stack that only a reset
        # cures; the outbox is in NVS, so no signed press is lost.
        limit = kp.cfg["offline_reset_s"]
        if not limit or not kp.want_mqtt or client.connected or not kp.board.wifi.connected():
            self._offline_since = None
        elif self._offline_since is None:
            self._offline_since = start
        elif clock.ticks_diff(start, self._offline_since) >= limit * 1000:
            self.offline_resets += 1
            self.stopping = True
            kp.board.reset()
        took = clock.ticks_diff(clock.ticks_ms(), start)
        if took <= kp.cfg["stall_ms"] and (self.task is None or not self.task.done()):
            kp.board.watchdog.feed()
            self.feeds += 1
            if not self.stable and kp.uptime_ms >= boot.STABLE_MS:
                # healthy for STABLE_MS: the consecutive faulty-boot count starts again at 0
                self.stable = True
                nvs = kp.board.nvs
                if nvs.get(boot.NVS_FAULTS) not in (None, bytes(4)):
                    nvs.set(boot.NVS_FAULTS, bytes(4))
        else:
            self.stalls += 1

    async def run(self) -> None:
        """Run until :meth:`request_stop`; closes the MQTT client on the way out."""
        self.running = True
        self.kp.start()
        pause = self.kp.cfg["loop_ms"] / 1000
        try:
            while not self.stopping:
                await self.iteration()
                await asyncio.sleep(pause)
        finally:
            self.running = False
            await self.client.close()

    def request_stop(self) -> None:
        """Ask :meth:`run` to finish after its current iteration (from any thread: a flag)."""
        self.stopping = True

    if sys.implementation.name != "micropython":  # for tests and the rig: a keypad runs until reset

        async def stop(self) -> None:
            """Stop from inside the event loop: :meth:`run` ends and closes the client."""
            self.stopping = True
            await self.client.close()
