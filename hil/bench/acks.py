"""CPU per ack published by the gateway's broker bridge, against a real Mosquitto.

    python -m hil.bench.acks [--acks 3000] [--inflight 0] [--runs 3]

Starts Mosquitto with the hall's generated configuration, connects a real
:class:`gateway.broker_bridge.bridge.BrokerBridge` on the gateway's account
(a handler that receives nothing), publishes ``--acks`` QoS 1 acks at once
with ``publish_many`` (as the bridge answers a batch) and waits until paho
has every PUBACK.  Reports the process CPU time (every thread: the caller
and paho's network thread) per ack, for the publish calls and until the
last PUBACK.  ``--inflight`` is paho's in-flight limit (0: none, the
bridge's default).  A measuring tool, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))  # the test fixtures' broker helper (hvtest)


class _Quiet:
    def handle_batch(self, batch: Any) -> list[Any]:
        return []

    def presences(self, items: Any) -> list[Any]:
        return []

    def presence(self, *args: Any) -> list[Any]:
        return []


def run(acks: int, inflight: int, runs: int) -> dict[str, Any]:
    from hvtest.mosquitto import MosquittoBroker

    from gateway.broker_bridge.bridge import BrokerBridge
    from gateway.broker_bridge.handler import Outbound
    from protocol import codec, consts, frames, topics

    out: dict[str, Any] = {"acks": acks, "inflight": inflight, "runs": []}
    with tempfile.TemporaryDirectory(prefix="hallvote-acks-") as tmp:
        devices = [f"kp-{i}" for i in range(1, 101)]
        with MosquittoBroker(Path(tmp), hall="h1", devices=devices) as broker:
            bridge = BrokerBridge(
                hall_id="h1",
                host=broker.host,
                port=broker.local_port,  # type: ignore[arg-type]
                username=broker.gateway.username,
                password=broker.gateway.password,
                handler=_Quiet(),  # type: ignore[arg-type]
                max_inflight=inflight,
            )
            bridge.start()
            if not bridge.connected.wait(30):
                raise RuntimeError("bridge did not connect")
            batch = [
                Outbound(
                    topics.device("h1", devices[i % len(devices)], "down"),
                    codec.encode(frames.Ack(i + 1, 0, consts.STATUS)),
                )
                for i in range(acks)
            ]
            for _ in range(runs):
                c0 = time.process_time()
                infos = bridge.publish_many(batch)
                c1 = time.process_time()
                for info in infos:
                    info.wait_for_publish(60)
                c2 = time.process_time()
                out["runs"].append(
                    {
                        "publish_us_per_ack": round(1e6 * (c1 - c0) / acks, 1),
                        "until_puback_us_per_ack": round(1e6 * (c2 - c0) / acks, 1),
                    }
                )
            bridge.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hil.bench.acks", description=__doc__.split("\n")[0])
    p.add_argument("--acks", type=int, default=3000)
    p.add_argument("--inflight", type=int, default=0)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    print(json.dumps(run(args.acks, args.inflight, args.runs), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
