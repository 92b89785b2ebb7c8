"""The gateway's log: one line per event (text or JSON), rotation, masking, ``hallvote logs``; and, through
the real gateway running a secret ballot, no token, password, frame or choice in the file."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from hvtest.databases import fresh_database
from hvtest.gatewayproc import TOKENS, GatewayProcess, SimKeypad, free_port, wait_for, write_config
from hvtest.mosquitto import running_broker
from hvtest.seed import seed_hall
from typer.testing import CliRunner

from gateway.cli import app
from gateway.cli.logs import configure
from gateway.config.settings import LogSettings
from gateway.db import init_db, make_engine
from protocol import codec, consts, frames


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def _emit(log: logging.Logger) -> None:
    log.info("plain event")
    log.warning("two\nlines and Authorization: Bearer abc.def-123 and ?token=s3cr3t&x=1 password=hunter2")
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        log.exception("failed")


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_one_line_per_event_and_masked(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "log" / "hallvote.log"
    configure(LogSettings(format=fmt, file=path))  # type: ignore[arg-type]
    _emit(logging.getLogger("hallvote.test"))
    for h in logging.getLogger().handlers:
        h.flush()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3  # three events, three lines: breaks and tracebacks stay on theirs
    text = "\n".join(lines)
    for secret in ("abc.def-123", "s3cr3t", "hunter2"):
        assert secret not in text
    if fmt == "json":
        docs = [json.loads(ln) for ln in lines]
        assert [d["level"] for d in docs] == ["INFO", "WARNING", "ERROR"]
        assert docs[0]["logger"] == "hallvote.test" and docs[0]["ts"].endswith("Z")
        assert "ValueError: boom" in docs[2]["exc"]
    else:
        assert lines[0].endswith(" INFO hallvote.test: plain event")
        assert "two\\nlines" in lines[1] and "ValueError: boom\\nsecond line" in lines[2]


@pytest.mark.usefixtures("restore_logging")
def test_rotation(tmp_path: Path) -> None:
    path = tmp_path / "hallvote.log"
    configure(LogSettings(file=path, max_bytes=64 * 1024, backups=2))
    log = logging.getLogger("hallvote.test")
    for i in range(3000):
        log.info("event %05d %s", i, "x" * 80)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["hallvote.log", "hallvote.log.1", "hallvote.log.2"]
    assert all(p.stat().st_size <= 64 * 1024 + 200 for p in tmp_path.iterdir())
    result = CliRunner().invoke(app, ["logs", "--config", str(_config(tmp_path, path)), "-n", "2"])
    assert result.exit_code == 0, result.output
    out = result.output.strip().splitlines()
    assert len(out) == 2 and "event 02999" in out[-1]


def _config(tmp_path: Path, log_file: Path | None) -> Path:
    config = tmp_path / "hall.toml"
    log = f'[log]\nfile = "{log_file}"\n' if log_file else ""
    config.write_text(f'hall_id = "h1"\n\n[broker]\npassword = "gateway-password-1"\n\n{log}')
    return config


def test_logs_without_a_file_says_where_to_look(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["logs", "--config", str(_config(tmp_path, None))])
    assert result.exit_code == 1 and "journalctl" in result.output


SECRET_MOTION = {
    "title": "关于任命的决定（无记名）",
    "ballot_kind": consts.YES_NO_ABSTAIN,
    "secret": True,
    "press_policy": consts.LAST_PRESS,
    "passing_rule": {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
}


@pytest.mark.mosquitto
def test_a_secret_ballot_leaves_no_secret_in_the_log(tmp_path: Path) -> None:
    hall_id = "county-hall"
    devices = [f"kp-{i}" for i in range(1, 5)]
    log_file = tmp_path / "log" / "hallvote.log"
    with (
        fresh_database("sqlite", tmp_path) as url,
        running_broker(tmp_path, hall=hall_id, devices=devices) as broker,
    ):
        engine = make_engine(url)
        init_db(engine)
        hall = seed_hall(engine, hall_id=hall_id, members=4)
        port = free_port()
        config = write_config(
            tmp_path / "hall.toml", hall=hall_id, database_url=url, broker=broker, api_port=port
        )
        config.write_text(config.read_text() + f'\n[log]\nformat = "json"\nfile = "{log_file}"\n')
        gw = GatewayProcess(config, port, tmp_path / "stdout.log")
        keypads = [SimKeypad(broker, hall.keypads[d]) for d in devices]
        sent: list[bytes] = []
        try:
            gw.start()
            for kp in keypads:
                kp.connect()
            sid = hall.sitting_id
            assert gw.api("POST", f"/sittings/{sid}/checkin/open").status_code == 200
            wait_for(lambda: any(codec.decode(b).TYPE == consts.SITTING_STATE for b in keypads[0].broadcasts))
            nonce = next(
                f for f in map(codec.decode, keypads[0].broadcasts) if isinstance(f, frames.SittingState)
            )
            for kp in keypads:
                frame = kp.keypad.check_in(sid, nonce.sitting_nonce)
                sent.append(frame)
                c = kp.send(frame)
                wait_for(lambda kp=kp, c=c: c in kp.replies)
            assert gw.api("POST", f"/sittings/{sid}/start").status_code == 200
            motion = gw.api("POST", f"/sittings/{sid}/motions", role="clerk", json=SECRET_MOTION).json()["id"]
            assert gw.api("POST", f"/motions/{motion}/rounds/1/open").status_code == 200
            wait_for(lambda: any(codec.decode(b).TYPE == consts.MOTION_OPEN for b in keypads[0].broadcasts))
            opened = next(
                f for f in map(codec.decode, keypads[0].broadcasts) if isinstance(f, frames.MotionOpen)
            )
            for kp, choice in zip(keypads, (consts.YES, consts.NO, consts.YES, consts.ABSTAIN), strict=True):
                frame = kp.keypad.vote(motion, 1, opened.round_nonce, (choice,))
                sent.append(frame)
                c = kp.send(frame)
                wait_for(lambda kp=kp, c=c: c in kp.replies)
            assert gw.api("POST", f"/motions/{motion}/rounds/1/close").status_code == 200
            # an unauthenticated probe with a made-up token, and a refused login on the broker
            import httpx

            httpx.post(
                gw.url + "/bodies", headers={"Authorization": "Bearer probe-token-0123456789"}, json={}
            )
        finally:
            for kp in keypads:
                kp.close()
            gw.stop()
            engine.dispose()
    text = log_file.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines and all(json.loads(ln)["msg"] is not None for ln in lines)  # every line is one JSON event
    assert "refused unauthenticated POST /api/v1/bodies" in text
    secrets = [*TOKENS.values(), "probe-token-0123456789", broker.gateway.password]
    secrets += [broker.password(d) for d in devices]
    for secret in secrets:
        assert secret not in text
    for frame in sent:  # no frame, in any spelling
        assert frame.hex() not in text and frame.hex().upper() not in text and repr(frame)[2:40] not in text
    for word in ("YES", "ABSTAIN", "赞成", "反对", "弃权", "choice"):
        assert word not in text, word
