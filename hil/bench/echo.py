"""The benchmark's baseline: a bare paho-mqtt QoS 1 echo on the gateway's account.

    python -m hil.bench.echo --hall H --host 127.0.0.1 --port P --username U --password-file F

Subscribes (QoS 1) to every device's ``up`` topic of the hall, exactly as the
gateway does, and publishes each payload unchanged (QoS 1) to the sender's
``down`` topic: the least any gateway must do per press, with no decision and
no storage.  paho acknowledges each message itself.  Runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from protocol import topics

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--hall", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--username", required=True)
    ap.add_argument("--password-file", required=True, type=Path)
    ap.add_argument("--ready-file", type=Path, help="written once the subscription is granted")
    args = ap.parse_args(argv)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    prefix = topics.device(args.hall, "x", "up").rsplit("/", 2)[0] + "/"

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=args.username, protocol=paho.MQTTv311)
    client.username_pw_set(args.username, args.password_file.read_text().strip())
    client.max_inflight_messages_set(1000)

    def on_connect(c: paho.Client, *_: object) -> None:
        c.subscribe(topics.device_filter(args.hall, "up"), qos=1)

    def on_subscribe(*_: object) -> None:
        if args.ready_file is not None:
            args.ready_file.write_text("ready")

    def on_message(c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        device_id = msg.topic[len(prefix) :].split("/", 1)[0]
        c.publish(topics.device(args.hall, device_id, "down"), msg.payload, qos=1)

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect(args.host, args.port, keepalive=30)
    client.loop_start()
    stop.wait()
    client.disconnect()
    client.loop_stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
