"""Roster, seats and seat map from CSV: every row checked first, then all inserted or none.

Files are UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8").
The first row is the header; column names are matched without regard to
case or surrounding blanks, and the Chinese names below are accepted too.
Optional columns may be left out of the header; anything else is an error.
Rows whose cells are all blank are skipped.

===========  =====================================  ==========================
import       required columns                       optional columns
===========  =====================================  ==========================
roster       ``name`` 姓名                           ``name_pinyin`` 拼音,
                                                    ``delegation`` 代表团,
                                                    ``card_uid`` 卡号
seats        ``label`` 座位号, ``row`` 排,            -
             ``col`` 列
seat map     ``seat`` 座位号, ``member`` 代表         ``delegation`` 代表团
===========  =====================================  ==========================

Row numbers are those a spreadsheet shows: the header is row 1.  A seat
map names each member by name; where a name occurs twice in the body, the
``delegation`` column tells them apart.

Every problem found is reported at once, as a :class:`CsvImportError`
carrying :class:`RowError` items, e.g. ``第3行 label: 座位号重复（与第2行相同）
/ duplicate seat label (same as row 2)``.  Nothing is written unless every
row is good; the inserts run in one transaction, and a refusal by the
database rolls all of them back.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel, col, select

from protocol import consts

from . import crud
from .models import Hall, Member, MemberCreate, Seat, SeatAssignment, SeatCreate, Sitting
from .models.roster import Body
from .types import check_card_uid, check_seat_label

__all__ = [
    "ROSTER_COLUMNS",
    "SEATS_COLUMNS",
    "SEAT_MAP_COLUMNS",
    "Column",
    "CsvImportError",
    "RowError",
    "import_roster",
    "import_seat_map",
    "import_seats",
]

T = TypeVar("T", bound=SQLModel)


@dataclass(frozen=True)
class RowError:
    """One problem: ``row`` 1 is the header, None means the whole file; ``column`` as in the header."""

    row: int | None
    column: str | None
    message: str
    """Chinese first, then English: "座位号重复 / duplicate seat label"."""

    def __str__(self) -> str:
        where = "文件 / file" if self.row is None else f"第{self.row}行"
        return f"{where} {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


class CsvImportError(ValueError):
    """The file was refused; ``errors`` lists every problem found.  Nothing was imported."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    aliases: tuple[str, ...] = ()


ROSTER_COLUMNS = (
    Column("name", True, ("姓名",)),
    Column("name_pinyin", False, ("拼音",)),
    Column("delegation", False, ("代表团", "小组")),
    Column("card_uid", False, ("卡号",)),
)
SEATS_COLUMNS = (
    Column("label", True, ("座位号", "座位")),
    Column("row", True, ("排",)),
    Column("col", True, ("列",)),
)
SEAT_MAP_COLUMNS = (
    Column("seat", True, ("座位号", "座位")),
    Column("member", True, ("代表", "姓名")),
    Column("delegation", False, ("代表团", "小组")),
)


@dataclass
class _Row:
    number: int
    cells: dict[str, str]  # canonical column name -> stripped cell ("" if absent)


@dataclass
class _Table:
    header: dict[str, str]  # canonical name -> header text as written
    rows: list[_Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)  # rows that could not be read


class _Errors:
    def __init__(self, table: _Table | None = None) -> None:
        self.items: list[RowError] = list(table.errors) if table else []
        self.table = table

    def add(self, row: int | None, column: str | None, zh: str, en: str) -> None:
        shown = self.table.header.get(column, column) if self.table and column else column
        self.items.append(RowError(row, shown, f"{zh} / {en}"))

    def raise_if_any(self) -> None:
        if self.items:
            raise CsvImportError(sorted(self.items, key=lambda e: e.row or 0))


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvImportError(
            [
                RowError(
                    None,
                    None,
                    "文件是 UTF-16 编码，请另存为 CSV UTF-8 / file is UTF-16; save it as CSV UTF-8",
                )
            ]
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvImportError(
            [
                RowError(
                    line,
                    None,
                    "不是 UTF-8 编码（可能是 GBK），请另存为 CSV UTF-8 / "
                    "not UTF-8 (perhaps GBK); save the file as CSV UTF-8",
                )
            ]
        ) from None


def _parse(data: bytes, columns: Sequence[Column]) -> _Table:
    text = _decode(data)
    errors = _Errors()
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise CsvImportError([RowError(None, None, f"CSV 格式错误 / malformed CSV: {exc}")]) from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise CsvImportError([RowError(1, None, "缺少表头 / the header row is missing")])

    by_label = {c.name: c.name for c in columns}
    by_label.update({alias.lower(): c.name for c in columns for alias in c.aliases})
    header: dict[str, str] = {}
    positions: list[str | None] = []
    for written in records[0]:
        label = written.strip()
        name = by_label.get(label.lower())
        if name is None:
            errors.add(1, label or "(空)", "多余的列", "unexpected column")
        elif name in header:
            errors.add(1, label, "重复的列", "duplicate column")
        else:
            header[name] = label
        positions.append(name)
    for column in columns:
        if column.required and column.name not in header:
            errors.add(1, column.name, "缺少此列", "missing column")
    errors.raise_if_any()

    table = _Table(header)
    errors.table = table
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(positions):
            errors.add(
                number,
                None,
                f"应有 {len(positions)} 列，实有 {len(record)} 列",
                f"expected {len(positions)} fields, got {len(record)}",
            )
            continue
        cells = {c.name: "" for c in columns}
        for name, cell in zip(positions, record, strict=True):
            if name is not None:
                cells[name] = cell.strip()
        table.rows.append(_Row(number, cells))
    if not table.rows and not errors.items:
        errors.add(None, None, "没有数据行", "no data rows")
        errors.raise_if_any()
    table.errors = errors.items
    return table


def _text(errors: _Errors, row: _Row, column: str, limit: int, required: bool = False) -> str | None:
    value = row.cells[column]
    if not value:
        if required:
            errors.add(row.number, column, "必填", "required")
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        errors.add(row.number, column, "含有控制字符", "contains control characters")
        return None
    if len(value) > limit:
        errors.add(
            row.number, column, f"过长（最多 {limit} 个字符）", f"too long (at most {limit} characters)"
        )
        return None
    return value


def _position(errors: _Errors, row: _Row, column: str) -> int | None:
    value = row.cells[column]
    if not value:
        errors.add(row.number, column, "必填", "required")
        return None
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= 999:
        errors.add(row.number, column, "应为 1 到 999 的整数", "must be a whole number from 1 to 999")
        return None
    return int(value)


def _first_seen(
    errors: _Errors, seen: dict[object, int], key: object, row: _Row, column: str, zh: str, en: str
) -> None:
    """Report ``key`` if an earlier row had it, else remember this row."""
    if key in seen:
        first = seen[key]
        errors.add(row.number, column, f"{zh}（与第{first}行相同）", f"{en} (same as row {first})")
    else:
        seen[key] = row.number


def _validated(errors: _Errors, row: _Row, model: type[T], fields: Mapping[str, object]) -> T | None:
    """Build a Create model; any rule the checks above missed is still reported, with its row."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        for err in exc.errors():
            column = str(err["loc"][0]) if err["loc"] else None
            errors.add(row.number, column, "无效", f"invalid: {err['msg']}")
        return None


def _insert(session: Session, rows: Sequence[SQLModel]) -> None:
    """Insert everything in one transaction; on any failure roll all of it back."""
    try:
        session.add_all(rows)
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        raise CsvImportError(
            [
                RowError(
                    None,
                    None,
                    f"数据库拒绝导入，未导入任何数据 / the database refused the import; nothing was imported: "
                    f"{getattr(exc, 'orig', exc)}",
                )
            ]
        ) from exc
    except BaseException:
        session.rollback()
        raise
    for row in rows:
        session.refresh(row)


def _need(session: Session, model: type[T], key: object, zh: str, en: str) -> T:
    row = session.get(model, key)
    if row is None:
        raise CsvImportError([RowError(None, None, f"{zh}不存在: {key} / no such {en}: {key}")])
    return row


# --- roster -----------------------------------------------------------------


def import_roster(*, session: Session, body_id: int, data: bytes) -> list[Member]:
    """Add the members listed in ``data`` to a body's roster; returns them in file order."""
    _need(session, Body, body_id, "机构", "body")
    crud.roster_open(session, body_id)
    table = _parse(data, ROSTER_COLUMNS)
    errors = _Errors(table)
    existing = list(session.exec(select(Member).where(Member.body_id == body_id)))
    known_cards = {m.card_uid for m in existing if m.card_uid}
    known_people = {(m.name, m.delegation) for m in existing if m.active}
    names: dict[object, int] = {}
    cards: dict[object, int] = {}
    members: list[Member] = []
    for row in table.rows:
        name = _text(errors, row, "name", 64, required=True)
        pinyin = _text(errors, row, "name_pinyin", 128)
        delegation = _text(errors, row, "delegation", 64)
        card = None
        if row.cells["card_uid"]:
            try:
                card = check_card_uid(row.cells["card_uid"])
            except ValueError:
                errors.add(
                    row.number,
                    "card_uid",
                    "卡号应为 4、7 或 10 字节的十六进制（8、14 或 20 位）",
                    "card UID must be hex of 4, 7 or 10 bytes (8, 14 or 20 digits)",
                )
        if card is not None:
            if card in known_cards:
                errors.add(
                    row.number, "card_uid", "卡号已属于名单中的代表", "card UID belongs to a listed member"
                )
            _first_seen(errors, cards, card, row, "card_uid", "卡号重复", "duplicate card UID")
        if name is not None:
            if (name, delegation) in known_people:
                errors.add(row.number, "name", "该代表已在名单中", "member is already on the roster")
            zh, en = (
                "同一代表团内姓名重复，请加以区分",
                "same name twice in one delegation; make the names distinct",
            )
            _first_seen(errors, names, (name, delegation), row, "name", zh, en)
            fields = {"name": name, "name_pinyin": pinyin, "delegation": delegation, "card_uid": card}
            member_in = _validated(errors, row, MemberCreate, fields)
            if member_in is not None:
                members.append(Member.model_validate(member_in, update={"body_id": body_id}))
    errors.raise_if_any()
    _insert(session, members)
    return members


# --- seats ------------------------------------------------------------------


def import_seats(*, session: Session, hall_id: str, data: bytes) -> list[Seat]:
    """Add the seats listed in ``data`` (label, row, col) to a hall; returns them in file order."""
    _need(session, Hall, hall_id, "会场", "hall")
    table = _parse(data, SEATS_COLUMNS)
    errors = _Errors(table)
    existing = list(session.exec(select(Seat).where(Seat.hall_id == hall_id)))
    known_labels = {s.label for s in existing}
    known_places = {(s.row, s.col) for s in existing}
    labels: dict[object, int] = {}
    places: dict[object, int] = {}
    seats: list[Seat] = []
    for row in table.rows:
        label = row.cells["label"]
        if not label:
            errors.add(row.number, "label", "必填", "required")
        else:
            try:
                check_seat_label(label)
            except ValueError:
                errors.add(
                    row.number,
                    "label",
                    f"座位号应为 1 到 {consts.SEAT_LABEL_MAX} 个不含空格的 ASCII 可打印字符",
                    f"seat label must be 1..{consts.SEAT_LABEL_MAX} printable ASCII characters, no spaces",
                )
                label = ""
        if label:
            if label in known_labels:
                errors.add(row.number, "label", "座位号已存在于本会场", "seat label exists in the hall")
            _first_seen(errors, labels, label, row, "label", "座位号重复", "duplicate seat label")
        r, c = _position(errors, row, "row"), _position(errors, row, "col")
        if r is not None and c is not None:
            if (r, c) in known_places:
                errors.add(row.number, "col", "该位置已有座位", "a seat exists at this row and column")
            _first_seen(errors, places, (r, c), row, "col", "位置重复", "two seats at one row and column")
        if label and r is not None and c is not None:
            seat_in = _validated(errors, row, SeatCreate, {"label": label, "row": r, "col": c})
            if seat_in is not None:
                seats.append(Seat.model_validate(seat_in, update={"hall_id": hall_id}))
    errors.raise_if_any()
    _insert(session, seats)
    return seats


# --- seat map ---------------------------------------------------------------


def import_seat_map(*, session: Session, sitting_id: int, data: bytes) -> list[SeatAssignment]:
    """Assign seats to members for one sitting; returns the assignments in file order."""
    sitting = _need(session, Sitting, sitting_id, "会议", "sitting")
    if sitting.state == consts.SITTING_CLOSED:
        raise CsvImportError([RowError(None, None, "会议已结束 / the sitting is closed")])
    if sitting.state in crud.LIVE_STATES:
        raise crud.RosterFrozen(
            f"会议 {sitting_id} 进行中，座位安排不可更改 / sitting {sitting_id} is live: its seat map is frozen"
        )
    table = _parse(data, SEAT_MAP_COLUMNS)
    errors = _Errors(table)
    seats = {s.label: s for s in session.exec(select(Seat).where(Seat.hall_id == sitting.hall_id))}
    by_name: dict[str, list[Member]] = {}
    query = select(Member).where(Member.body_id == sitting.body_id, col(Member.active).is_(True))
    for m in session.exec(query):
        by_name.setdefault(m.name, []).append(m)
    taken = list(session.exec(select(SeatAssignment).where(SeatAssignment.sitting_id == sitting_id)))
    seats_taken = {a.seat_id for a in taken}
    members_taken = {a.member_id for a in taken}
    seen_seats: dict[object, int] = {}
    seen_members: dict[object, int] = {}
    assignments: list[SeatAssignment] = []
    for row in table.rows:
        seat = None
        label = row.cells["seat"]
        if not label:
            errors.add(row.number, "seat", "必填", "required")
        elif label not in seats:
            errors.add(row.number, "seat", "本会场没有此座位", "no such seat in the sitting's hall")
        else:
            seat = seats[label]
            if seat.id in seats_taken:
                errors.add(row.number, "seat", "座位已安排给其他代表", "seat is already assigned")
            _first_seen(errors, seen_seats, label, row, "seat", "座位号重复", "duplicate seat label")
        member = _find_member(errors, row, by_name)
        if member is not None:
            if member.id in members_taken:
                errors.add(row.number, "member", "该代表已有座位", "member already has a seat")
            _first_seen(
                errors, seen_members, member.id, row, "member", "代表被安排了两次", "member assigned twice"
            )
        if seat is not None and member is not None:
            assert seat.id is not None and member.id is not None
            assignments.append(SeatAssignment(sitting_id=sitting_id, seat_id=seat.id, member_id=member.id))
    errors.raise_if_any()
    _insert(session, assignments)
    return assignments


def _find_member(errors: _Errors, row: _Row, by_name: dict[str, list[Member]]) -> Member | None:
    name, delegation = row.cells["member"], row.cells["delegation"]
    if not name:
        errors.add(row.number, "member", "必填", "required")
        return None
    candidates = by_name.get(name, [])
    if delegation:
        candidates = [m for m in candidates if m.delegation == delegation]
    if not candidates:
        errors.add(row.number, "member", "名单中没有此代表", "no such member on the body's roster")
        return None
    if len(candidates) > 1:
        errors.add(
            row.number,
            "member",
            "姓名不唯一，请填写 delegation（代表团）列",
            "name is not unique: fill in the delegation column",
        )
        return None
    return candidates[0]
