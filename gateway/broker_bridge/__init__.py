"""The gateway's paho-mqtt edge: subscribe, freeze, hand to the core, ack after durable, publish.

::

    bridge = BrokerBridge(hall_id="h1", host="127.0.0.1", port=1884,
                          username="_gateway", password=..., handler=gateway)
    bridge.start()
    bridge.connected.wait(10)
    gateway.on_broadcast(lambda outs: [bridge.publish(o) for o in outs])
    ...
    bridge.stop()

See :mod:`.bridge` for the rules (manual ack, retries, poison isolation).
"""

from .bridge import BridgeStats, BrokerBridge, Received
from .handler import Handler, Inbound, Outbound

__all__ = ["BridgeStats", "BrokerBridge", "Handler", "Inbound", "Outbound", "Received"]
