"""The ``hallvote`` command line (typer): thin commands over the parts of the gateway.

Each command group lives in its own module of this package and is registered here.
"""

import typer

from gateway.cli.audit import audit_app
from gateway.cli.bench import bench
from gateway.cli.broker import broker_app
from gateway.cli.demo import demo
from gateway.cli.device import device_app
from gateway.cli.evidence import evidence
from gateway.cli.firmware import firmware_app
from gateway.cli.gateway import gateway_app
from gateway.cli.init import init
from gateway.cli.logs import logs
from gateway.cli.provision import provision_app
from gateway.cli.user import user_app

app = typer.Typer(
    name="hallvote",
    help="hallvote: electronic voting for People's Congress halls / 人大会场电子表决系统",
    no_args_is_help=True,
)


@app.callback()
def main() -> None:
    """hallvote command line."""


app.command("init")(init)
app.command("logs")(logs)
app.command("demo")(demo)
app.command("evidence")(evidence)
app.add_typer(user_app, name="user")
app.add_typer(broker_app, name="broker")
app.add_typer(audit_app, name="audit")
app.add_typer(gateway_app, name="gateway")
app.add_typer(firmware_app, name="firmware")
app.add_typer(provision_app, name="provision")
app.add_typer(device_app, name="device")
app.command("bench")(bench)
