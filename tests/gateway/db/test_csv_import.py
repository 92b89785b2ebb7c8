"""CSV imports: Chinese names, every bad row reported with its row number, nothing half-imported."""

from __future__ import annotations

import pytest
from hvtest.databases import HallSetup
from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, select

from gateway.db import crud, csv_import
from gateway.db.csv_import import CsvImportError, RowError, import_roster, import_seat_map, import_seats
from gateway.db.models import BodyCreate, HallCreate, Member, Seat, SeatAssignment, SittingCreate

BOM = b"\xef\xbb\xbf"


def _count(session: Session, model: type[SQLModel]) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def _errors(excinfo: pytest.ExceptionInfo[CsvImportError]) -> list[tuple[int | None, str | None]]:
    return [(e.row, e.column) for e in excinfo.value.errors]


@pytest.fixture
def body_id(session: Session) -> int:
    body = crud.create_body(session=session, body_in=BodyCreate(name="某县人民代表大会常务委员会", kind="standing_committee"))  # fmt: skip
    assert body.id is not None
    return body.id


@pytest.fixture
def hall_id(session: Session) -> str:
    return crud.create_hall(
        session=session, hall_in=HallCreate(id="county-hall", name="县人大常委会会议室")
    ).id


# --- roster -----------------------------------------------------------------


def test_roster_with_bom_chinese_names_and_aliases(session: Session, body_id: int) -> None:
    data = (
        BOM
        + (
            "姓名,拼音,代表团,卡号\r\n"
            "张伟,Zhang Wei,城关镇,04A1B2C3\r\n"
            "欧阳娜娜,Ouyang Nana,,\r\n"
            "\r\n"  # blank rows are skipped
            "张伟,Zhang Wei,河口乡,04a1b2c3d4e5f6\r\n"  # the same name in another delegation is a different person
        ).encode()
    )
    members = import_roster(session=session, body_id=body_id, data=data)
    assert [(m.name, m.delegation, m.card_uid) for m in members] == [
        ("张伟", "城关镇", "04a1b2c3"),
        ("欧阳娜娜", None, None),
        ("张伟", "河口乡", "04a1b2c3d4e5f6"),
    ]
    session.expire_all()
    stored = crud.list_members(session=session, body_id=body_id)
    assert [m.name_pinyin for m in stored] == ["Zhang Wei", "Ouyang Nana", "Zhang Wei"]
    assert all(m.active and m.id for m in stored)


def test_roster_reports_every_bad_row_and_imports_nothing(session: Session, body_id: int) -> None:
    data = (
        "name,delegation,card_uid\n"
        "李娜,城关镇,04A1B2C3\n"  # row 2: fine
        ",城关镇,\n"  # row 3: name missing
        "王芳,城关镇,XYZ\n"  # row 4: not hex
        "赵磊,城关镇,04A1B2\n"  # row 5: 3 bytes
        "李娜,城关镇,\n"  # row 6: same person as row 2
        "孙杰,城关镇,04a1b2c3\n"  # row 7: card of row 2
        "周敏,城关镇\n"  # row 8: a field short
    ).encode()
    with pytest.raises(CsvImportError) as excinfo:
        import_roster(session=session, body_id=body_id, data=data)
    assert _errors(excinfo) == [
        (3, "name"),
        (4, "card_uid"),
        (5, "card_uid"),
        (6, "name"),
        (7, "card_uid"),
        (8, None),
    ]
    text = str(excinfo.value)
    assert "第3行 name: 必填 / required" in text
    assert "第6行 name: 同一代表团内姓名重复，请加以区分（与第2行相同）" in text
    assert "第7行 card_uid: 卡号重复（与第2行相同） / duplicate card UID (same as row 2)" in text
    assert "第8行: 应有 3 列，实有 2 列 / expected 3 fields, got 2" in text
    assert _count(session, Member) == 0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("delegation,card_uid", [(1, "name")]),  # required column missing
        ("name,seat", [(1, "seat")]),  # a column nobody asked for
        ("name,Name", [(1, "Name")]),  # the same column twice
    ],
)
def test_roster_header_errors(session: Session, body_id: int, header: str, expected: list[object]) -> None:
    with pytest.raises(CsvImportError) as excinfo:
        import_roster(session=session, body_id=body_id, data=f"{header}\n张三,x\n".encode())
    assert _errors(excinfo) == expected
    assert _count(session, Member) == 0


def test_roster_in_gbk_is_refused_with_the_row_of_the_first_bad_byte(session: Session, body_id: int) -> None:
    data = "name\nZhang San\n张三\n".encode("gbk")
    with pytest.raises(CsvImportError) as excinfo:
        import_roster(session=session, body_id=body_id, data=data)
    (error,) = excinfo.value.errors
    assert error.row == 3 and "UTF-8" in error.message and error.message.startswith("不是 UTF-8")
    assert _count(session, Member) == 0


def test_roster_in_utf16_and_empty_files_are_refused(session: Session, body_id: int) -> None:
    for data in ("name\n张三\n".encode("utf-16"), b"", BOM, b"name\n\n"):
        with pytest.raises(CsvImportError):
            import_roster(session=session, body_id=body_id, data=data)
    assert _count(session, Member) == 0


def test_roster_refuses_what_is_already_on_it(session: Session, body_id: int) -> None:
    import_roster(session=session, body_id=body_id, data="name,card_uid\n张伟,04A1B2C3\n".encode())
    with pytest.raises(CsvImportError) as excinfo:
        import_roster(session=session, body_id=body_id, data="name,card_uid\n张伟,\n王芳,04a1b2c3\n".encode())
    assert _errors(excinfo) == [(2, "name"), (3, "card_uid")]
    assert _count(session, Member) == 1


# --- seats ------------------------------------------------------------------


def test_seats_happy_path(session: Session, hall_id: str) -> None:
    data = b"label,row,col\r\nA01,1,1\r\nA02,1,2\r\nB01,2,1\r\n"
    seats = import_seats(session=session, hall_id=hall_id, data=data)
    assert [(s.label, s.row, s.col) for s in seats] == [("A01", 1, 1), ("A02", 1, 2), ("B01", 2, 1)]
    assert [s.label for s in crud.list_seats(session=session, hall_id=hall_id)] == ["A01", "A02", "B01"]


def test_seats_report_every_bad_row(session: Session, hall_id: str) -> None:
    data = (
        "座位号,排,列\n"
        "A01,1,1\n"  # 2 fine
        "A01,1,2\n"  # 3 duplicate label
        "A 3,1,3\n"  # 4 space in label
        "A0123456789,1,4\n"  # 5 too long
        ",1,5\n"  # 6 label missing
        "A06,0,6\n"  # 7 row out of range
        "A07,1,x\n"  # 8 col not a number
        "A08,1,1\n"  # 9 place of row 2
    ).encode()
    with pytest.raises(CsvImportError) as excinfo:
        import_seats(session=session, hall_id=hall_id, data=data)
    assert _errors(excinfo) == [(3, "座位号"), (4, "座位号"), (5, "座位号"), (6, "座位号"), (7, "排"), (8, "列"), (9, "列")]  # fmt: skip
    assert "第3行 座位号: 座位号重复（与第2行相同） / duplicate seat label (same as row 2)" in str(
        excinfo.value
    )
    assert _count(session, Seat) == 0


def test_seats_already_in_the_hall_are_refused(session: Session, hall_id: str) -> None:
    import_seats(session=session, hall_id=hall_id, data=b"label,row,col\nA01,1,1\n")
    with pytest.raises(CsvImportError) as excinfo:
        import_seats(session=session, hall_id=hall_id, data=b"label,row,col\nA02,1,2\nA01,1,3\nA03,1,1\n")
    assert _errors(excinfo) == [(3, "label"), (4, "col")]
    assert _count(session, Seat) == 1


def test_a_database_refusal_rolls_back_the_whole_import(
    session: Session, hall_id: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another writer takes seat A03 between validation and insert: the database
    # refuses the third row, and the first two must not stay behind.
    real_insert = csv_import._insert

    def racing_insert(s: Session, rows: list[SQLModel]) -> None:
        with Session(engine) as other:
            other.add(Seat(hall_id=hall_id, label="A03", row=9, col=9))
            other.commit()
        real_insert(s, rows)

    monkeypatch.setattr(csv_import, "_insert", racing_insert)
    with pytest.raises(CsvImportError) as excinfo:
        import_seats(session=session, hall_id=hall_id, data=b"label,row,col\nA01,1,1\nA02,1,2\nA03,1,3\n")
    assert "nothing was imported" in str(excinfo.value)
    session.expire_all()
    assert [s.label for s in crud.list_seats(session=session, hall_id=hall_id)] == ["A03"]


def test_a_constraint_failure_mid_insert_rolls_back_the_rows_before_it(
    session: Session, hall_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The conflicting seat is written in the import's own transaction, so rows 2 and 3
    # are inserted before row 4 fails: the rollback must take them (and it) away.
    real_insert = csv_import._insert

    def conflicting_insert(s: Session, rows: list[SQLModel]) -> None:
        s.add(Seat(hall_id=hall_id, label="A03", row=9, col=9))
        s.flush()
        real_insert(s, rows)

    monkeypatch.setattr(csv_import, "_insert", conflicting_insert)
    with pytest.raises(CsvImportError, match="nothing was imported"):
        import_seats(session=session, hall_id=hall_id, data=b"label,row,col\nA01,1,1\nA02,1,2\nA03,1,3\n")
    session.expire_all()
    assert _count(session, Seat) == 0


# --- seat map ---------------------------------------------------------------


def test_seat_map_happy_path(session: Session, hall_setup: HallSetup) -> None:
    sitting_id = hall_setup.sitting.id
    assert sitting_id is not None
    data = BOM + "seat,member\nA1,王芳\nA2,张伟\nA3,李娜\n".encode()
    rows = import_seat_map(session=session, sitting_id=sitting_id, data=data)
    by_id = {m.id: m.name for m in hall_setup.members}
    labels = {s.id: s.label for s in hall_setup.seats}
    assert [(labels[a.seat_id], by_id[a.member_id]) for a in rows] == [
        ("A1", "王芳"),
        ("A2", "张伟"),
        ("A3", "李娜"),
    ]
    assert len(crud.list_seat_assignments(session=session, sitting_id=sitting_id)) == 3


def test_seat_map_reports_every_bad_row(session: Session, hall_setup: HallSetup) -> None:
    sitting_id = hall_setup.sitting.id
    assert sitting_id is not None
    data = (
        "座位号,代表\n"
        "A1,王芳\n"  # 2 fine
        "A1,张伟\n"  # 3 seat again
        "Z9,李娜\n"  # 4 unknown seat
        "A2,王芳\n"  # 5 member again
        "A3,钱七\n"  # 6 unknown member
        "A3,\n"  # 7 seat of row 6 again, member missing
    ).encode()
    with pytest.raises(CsvImportError) as excinfo:
        import_seat_map(session=session, sitting_id=sitting_id, data=data)
    assert _errors(excinfo) == [
        (3, "座位号"),
        (4, "座位号"),
        (5, "代表"),
        (6, "代表"),
        (7, "座位号"),
        (7, "代表"),
    ]
    text = str(excinfo.value)
    assert "第3行 座位号: 座位号重复（与第2行相同） / duplicate seat label (same as row 2)" in text
    assert "第4行 座位号: 本会场没有此座位 / no such seat in the sitting's hall" in text
    assert "第5行 代表: 代表被安排了两次（与第2行相同） / member assigned twice (same as row 2)" in text
    assert "第6行 代表: 名单中没有此代表 / no such member on the body's roster" in text
    assert _count(session, SeatAssignment) == 0


def test_seat_map_tells_namesakes_apart_by_delegation(session: Session, hall_setup: HallSetup) -> None:
    body_id = hall_setup.body.id
    assert body_id is not None
    import_roster(
        session=session, body_id=body_id, data="name,delegation\n刘洋,城关镇\n刘洋,河口乡\n".encode()
    )
    sitting_id = hall_setup.sitting.id
    assert sitting_id is not None
    with pytest.raises(CsvImportError) as excinfo:
        import_seat_map(session=session, sitting_id=sitting_id, data="seat,member\nA1,刘洋\n".encode())
    assert "delegation" in excinfo.value.errors[0].message
    rows = import_seat_map(
        session=session,
        sitting_id=sitting_id,
        data="seat,member,delegation\nA1,刘洋,河口乡\nA2,刘洋,城关镇\n".encode(),
    )
    names = {m.id: (m.name, m.delegation) for m in crud.list_members(session=session, body_id=body_id)}
    assert [names[a.member_id] for a in rows] == [("刘洋", "河口乡"), ("刘洋", "城关镇")]


def test_seat_map_respects_assignments_already_made(session: Session, hall_setup: HallSetup) -> None:
    sitting_id = hall_setup.sitting.id
    assert sitting_id is not None
    import_seat_map(session=session, sitting_id=sitting_id, data="seat,member\nA1,王芳\n".encode())
    with pytest.raises(CsvImportError) as excinfo:
        import_seat_map(
            session=session, sitting_id=sitting_id, data="seat,member\nA2,王芳\nA1,张伟\n".encode()
        )
    assert _errors(excinfo) == [(2, "member"), (3, "seat")]
    assert _count(session, SeatAssignment) == 1


def test_seat_map_only_uses_the_sittings_hall_and_body(session: Session, hall_setup: HallSetup) -> None:
    other_body = crud.create_body(
        session=session, body_in=BodyCreate(name="某镇人大主席团", kind="presidium")
    )
    assert other_body.id is not None
    import_roster(session=session, body_id=other_body.id, data="name\n外人\n".encode())
    crud.create_hall(session=session, hall_in=HallCreate(id="hall-2", name="二号会场"))
    import_seats(session=session, hall_id="hall-2", data=b"label,row,col\nB1,1,1\n")
    sitting_id = hall_setup.sitting.id
    assert sitting_id is not None
    with pytest.raises(CsvImportError) as excinfo:
        import_seat_map(
            session=session, sitting_id=sitting_id, data="seat,member\nB1,张伟\nA1,外人\n".encode()
        )
    assert _errors(excinfo) == [(2, "seat"), (3, "member")]


def test_row_error_text() -> None:
    assert (
        str(RowError(3, "seat", "座位号重复 / duplicate seat label"))
        == "第3行 seat: 座位号重复 / duplicate seat label"
    )
    assert str(RowError(None, None, "空文件 / empty file")) == "文件 / file: 空文件 / empty file"
    assert isinstance(CsvImportError([]), ValueError)


def test_sitting_create_refuses_unknown_kind() -> None:
    with pytest.raises(ValueError):
        SittingCreate(body_id=1, hall_id="hall-1", kind="banquet", title="x")
