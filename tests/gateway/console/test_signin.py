"""Sign-in: argon2 passwords, the session cookie's flags, CSRF on the sign-in form, sign-out, idle timeout,
the display's screen session that never times out, and the audit log naming the person."""

from __future__ import annotations

import datetime as dt

from hvtest.console import NAMES, PASSWORDS
from sqlalchemy import update

from gateway.console.auth import COOKIE
from gateway.db.models import ConsoleSession


def _records(console, kind):
    return [r for r in console.audit.records() if r.kind == kind]


def test_sign_in_sets_a_strict_httponly_cookie_and_names_the_person(console) -> None:
    client = console.browser()
    page = client.get("/console/chair")  # not signed in: the sign-in form, with where to go next
    assert page.url.path == "/console/login" and "next=%2Fconsole%2Fchair" in str(page.url)
    r = client.post(
        "/console/login",
        data={"name": NAMES["chair"], "password": PASSWORDS["chair"], "csrf": _login_csrf(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over TLS the flag is set
    assert client.get("/console").url.path == "/console/chair"
    signed = _records(console, "console.signed_in")
    assert [(r.actor, r.payload) for r in signed] == [(NAMES["chair"], '{"role":"chair"}')]
    # only the digest of the cookie's token is stored
    token = client.cookies.get(COOKIE)
    with console.engine.connect() as conn:
        ids = [row.id for row in conn.execute(ConsoleSession.__table__.select())]
    assert token not in ids and len(ids) == 1


def test_wrong_password_and_unknown_name_are_refused_alike(console) -> None:
    client = console.browser()
    for name, password in ((NAMES["chair"], "wrong"), ("nobody", PASSWORDS["chair"]), (NAMES["chair"], "")):
        r = client.post(
            "/console/login", data={"name": name, "password": password, "csrf": _login_csrf(client)}
        )
        assert r.status_code in (401, 422)
        assert client.cookies.get(COOKIE) is None
    assert len(_records(console, "console.signin_refused")) == 2


def test_the_sign_in_form_needs_its_csrf_token(console) -> None:
    client = console.browser()
    client.get("/console/login")
    r = client.post(
        "/console/login", data={"name": NAMES["chair"], "password": PASSWORDS["chair"], "csrf": "forged"}
    )
    assert r.status_code == 403 and "CSRF_INVALID" in r.text
    assert client.cookies.get(COOKIE) is None


def test_sign_out_ends_the_session(console) -> None:
    client = console.browser("clerk")
    csrf = console.csrf(client)
    stolen = client.cookies.get(COOKIE)
    r = client.post("/console/logout", data={"csrf": csrf})
    assert r.url.path == "/console/login"
    again = console.browser()
    again.cookies.set(COOKIE, stolen)
    assert again.get("/console/chair").url.path == "/console/login"  # the old cookie is worth nothing now
    assert [r.actor for r in _records(console, "console.signed_out")] == [NAMES["clerk"]]


def test_people_time_out_when_idle_and_the_screen_does_not(console) -> None:
    chair = console.browser("chair")
    screen = console.browser("display")
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    with console.engine.begin() as conn:
        conn.execute(update(ConsoleSession).values(last_seen=long_ago))
    r = chair.get("/console/chair")
    assert r.url.path == "/console/login" and "why=idle" in str(r.url)
    assert screen.get("/display").url.path == "/display"


def test_a_user_removed_from_the_settings_is_signed_out(console) -> None:
    client = console.browser("technician")
    settings = console.app.state.settings
    console.app.state.settings = settings.model_copy(
        update={"users": [u for u in settings.users if u.role != "technician"]}
    )
    try:
        assert client.get("/console/tech").url.path == "/console/login"
    finally:
        console.app.state.settings = settings


def test_open_redirects_are_refused(console) -> None:
    client = console.browser()
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        page = client.get("/console/login", params={"next": target})
        assert 'name="next" value="/console"' in page.text


def _login_csrf(client) -> str:
    import re

    page = client.get("/console/login")
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def test_chinese_first_with_an_english_switch(console) -> None:
    client = console.browser("chair")
    page = client.get("/console/chair")
    assert 'lang="zh-CN"' in page.text and "开始签到" in page.text
    page = client.get("/console/lang", params={"to": "en", "next": "/console/chair"})
    assert page.url.path == "/console/chair"
    assert 'lang="en"' in page.text and "Open check-in" in page.text and "开始签到" not in page.text
    assert (
        client.get("/console/lang", params={"to": "zh", "next": "https://evil.example/"}).url.path
        == "/console/chair"
    )


def test_times_are_in_the_hall_time_zone(console) -> None:
    import datetime as dt

    from gateway.console.web import to_hall_time

    noon_utc = dt.datetime(2027, 1, 15, 4, 0, tzinfo=dt.UTC)
    assert to_hall_time(noon_utc, "Asia/Shanghai") == "2027-01-15 12:00:00"
    assert to_hall_time(noon_utc.timestamp(), "Asia/Shanghai", "%H:%M") == "12:00"
    assert to_hall_time(noon_utc.replace(tzinfo=None), "Asia/Urumqi", "%H:%M") == "10:00"


def test_a_guesser_is_paused_after_five_refusals_and_the_audit_log_does_not_grow(console) -> None:
    guesser = console.browser()
    for n in range(5):
        r = guesser.post(
            "/console/login",
            data={"name": NAMES["chair"], "password": f"guess-{n}", "csrf": _login_csrf(guesser)},
        )
        assert r.status_code == (429 if n == 4 else 401)
    assert "SIGNIN_THROTTLED" in r.text and int(r.headers["Retry-After"]) > 0
    before = len(list(console.audit.records()))
    for _ in range(20):  # paused: even the right password is not checked, nothing is recorded
        r = guesser.post(
            "/console/login",
            data={"name": NAMES["chair"], "password": PASSWORDS["chair"], "csrf": _login_csrf(guesser)},
        )
        assert r.status_code == 429 and guesser.cookies.get(COOKIE) is None
    assert len(list(console.audit.records())) == before
    assert len(_records(console, "console.signin_refused")) == 5
    throttled = _records(console, "console.signin_throttled")
    assert len(throttled) == 1 and '"refused":5' in throttled[0].payload
