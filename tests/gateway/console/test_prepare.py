"""Preparation on the console (the clerk): motions by preset, the 20% margin at entry, editing until voted,
an agenda ahead of the sitting, CSV uploads with row-numbered errors in Chinese and nothing half-imported."""

from __future__ import annotations

from sqlmodel import Session, select

from gateway.db.models import Member, Motion

CANDIDATES = "\n".join(f"项目{i}" for i in range(1, 13))


def _motions(console) -> list[Motion]:
    with Session(console.engine) as s:
        return list(s.exec(select(Motion)))


def _save(console, client, **fields):
    data = {
        "csrf": console.csrf(client, "/console/prepare"),
        "sitting": console.hall.sitting_id,
        "secret": "on",
        **fields,
    }
    return client.post("/console/prepare/motion", data=data)


def test_the_clerk_creates_a_livelihood_vote_by_preset(console) -> None:
    clerk = console.browser("clerk")
    r = _save(
        console,
        clerk,
        title="2027年民生实事项目",
        preset="livelihood_selection",
        items=CANDIDATES,
        select_k="10",
    )
    assert r.status_code == 200 and "已保存" in r.text
    (m,) = _motions(console)
    assert (m.ballot_kind, m.select_k, len(m.items), m.secret) == (2, 10, 12, True)
    assert m.passing_rule == {"base": "present", "numerator": 1, "denominator": 2, "strict": False}
    assert "2027年民生实事项目" in r.text  # in the agenda


def test_the_margin_is_enforced_at_entry_and_nothing_is_added(console) -> None:
    clerk = console.browser("clerk")
    eleven = "\n".join(f"项目{i}" for i in range(1, 12))
    r = _save(console, clerk, title="差额不足", preset="livelihood_selection", items=eleven, select_k="10")
    assert r.status_code == 422
    assert "候选项目须不少于 12 项（差额比例不低于20%）" in r.text
    assert _motions(console) == []


def test_a_motion_is_edited_until_it_is_voted_on(console) -> None:
    clerk = console.browser("clerk")
    _save(console, clerk, title="草稿", preset="congress_resolution")
    (m,) = _motions(console)
    page = clerk.get(f"/console/prepare/motions/{m.id}")
    assert 'value="草稿"' in page.text
    r = _save(
        console,
        clerk,
        motion=str(m.id),
        title="关于设立监察委员会的决定",
        preset="congress_resolution",
        interim="none",
    )
    assert r.status_code == 200
    (m2,) = _motions(console)
    assert (m2.title, m2.interim) == ("关于设立监察委员会的决定", "none")


def test_csv_errors_name_the_row_in_chinese_and_import_nothing(console) -> None:
    clerk = console.browser("clerk")
    before = _members(console)
    bad = "name,delegation\n新代表甲,城关\n,城关\n新代表乙,城关\n".encode()
    r = clerk.post(
        "/console/prepare/import/roster",
        data={
            "csrf": console.csrf(clerk, "/console/prepare"),
            "body": console.hall.body_id,
            "sitting": console.hall.sitting_id,
        },
        files={"file": ("roster.csv", bad, "text/csv")},
    )
    assert r.status_code == 422
    assert "第3行" in r.text or "第 3 行" in r.text or ">3<" in r.text
    assert "未导入任何数据" in r.text
    assert _members(console) == before
    good = "name,delegation\n新代表甲,城关\n新代表乙,城关\n".encode()
    r = clerk.post(
        "/console/prepare/import/roster",
        data={
            "csrf": console.csrf(clerk, "/console/prepare"),
            "body": console.hall.body_id,
            "sitting": console.hall.sitting_id,
        },
        files={"file": ("roster.csv", good, "text/csv")},
    )
    assert r.status_code == 200 and "roster:2" in r.text
    assert len(_members(console)) == len(before) + 2


def test_who_prepares_what(console) -> None:
    tech = console.browser("technician")
    r = tech.post(
        "/console/prepare/motion",
        data={
            "csrf": console.csrf(tech, "/console/prepare"),
            "sitting": console.hall.sitting_id,
            "title": "x",
            "preset": "congress_resolution",
        },
    )
    assert r.status_code == 403 and _motions(console) == []
    clerk = console.browser("clerk")
    r = clerk.post(
        "/console/prepare/import/seats",
        data={"csrf": console.csrf(clerk, "/console/prepare")},
        files={"file": ("seats.csv", b"label,row,col\nZ-1,9,1\n", "text/csv")},
    )
    assert r.status_code == 403
    r = clerk.post(
        "/console/prepare/motion",
        data={"sitting": console.hall.sitting_id, "title": "x", "preset": "congress_resolution"},
    )
    assert r.status_code == 403 and "CSRF_INVALID" in r.text and _motions(console) == []


def _members(console) -> list[str]:
    with Session(console.engine) as s:
        return sorted(m.name for m in s.exec(select(Member)))
