"""Checking import rows: each row on its own, then the rows against each other. Nothing here touches the database.

Every problem is reported, not just the first of a row, so one dry run shows a staff member everything to fix.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from timebank.community.import_columns import HOUSEHOLD_KINDS, MEMBER_TYPES, Column
from timebank.community.import_files import CellValue, SourceRow
from timebank.community.personal_data import IdNumber, parse_id_number, parse_phone
from timebank.errors import InvalidInput

__all__ = ["Address", "PersonLine", "RowError", "check_across_rows", "check_row"]

_ADDRESS = (Column.compound, Column.building, Column.room)
_SKILL_SEPARATORS = re.compile(r"[、，,;；/|\s]+")
_LIMITS = {Column.name: 64, Column.compound: 100, Column.building: 100, Column.room: 32, Column.branch: 100}
_LIMITS |= {Column.group: 100, Column.unit: 100, Column.skills: 32}

_Fail = Callable[[Column | None, str], None]


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem: the row as the spreadsheet numbers it, the column (None: the row as a whole), and what is wrong."""

    row: int
    column: Column | None
    problem: str


@dataclass(frozen=True, slots=True)
class Address:
    compound: str
    building: str
    room: str


@dataclass(frozen=True, slots=True)
class PersonLine:
    """A row that passed every check of its own: the words of the file, typed and normalised."""

    row: int
    name: str
    id_number: IdNumber
    phone: str | None
    address: Address | None
    household_kind: str | None
    member_type: str | None
    branch: str | None
    group: str | None
    unit: str | None
    skills: tuple[str, ...]


def check_row(row: SourceRow, today: dt.date) -> PersonLine | list[RowError]:
    """The row as a :class:`PersonLine`, or every problem it has."""
    errors: list[RowError] = []

    def fail(column: Column | None, problem: str) -> None:
        errors.append(RowError(row.number, column, problem))

    text = {column: _as_text(value) for column, value in row.values.items()}
    for column, limit in _LIMITS.items():
        value = text.get(column)
        if value is not None and column is not Column.skills and len(value) > limit:
            fail(column, f"longer than {limit} characters")

    name = text.get(Column.name)
    if name is None:
        fail(Column.name, "missing")

    id_number = None
    raw_id = row.values.get(Column.id_number)
    if raw_id is None:
        fail(Column.id_number, "missing")
    elif isinstance(raw_id, float):
        fail(Column.id_number, "stored as a number, so Excel kept only 15 digits; format the column as text")
    else:
        try:
            id_number = parse_id_number(str(raw_id), today=today)
        except InvalidInput as exc:
            fail(Column.id_number, exc.detail)

    phone = None
    if (raw_phone := text.get(Column.phone)) is not None:
        try:
            phone = parse_phone(raw_phone)
        except InvalidInput as exc:
            fail(Column.phone, exc.detail)

    household_kind = _choice(text.get(Column.household_kind), HOUSEHOLD_KINDS, Column.household_kind, fail)
    member_type = _choice(text.get(Column.member_type), MEMBER_TYPES, Column.member_type, fail)
    branch, group, unit = text.get(Column.branch), text.get(Column.group), text.get(Column.unit)
    type_unknown = member_type is None and text.get(Column.member_type) is not None
    if member_type is None and not type_unknown:
        for column, value in ((Column.branch, branch), (Column.group, group)):
            if value is not None:
                fail(column, "only for party members: 党员类型 is empty")
    if member_type == "dual_registered" and unit is None:
        fail(Column.unit, "missing: a dual-registered member names the unit they registered from")
    if unit is not None and member_type != "dual_registered" and not type_unknown:
        fail(Column.unit, "only for dual-registered (双报到) party members")

    address = None
    given = [column for column in _ADDRESS if text.get(column) is not None]
    if len(given) == len(_ADDRESS):
        address = Address(*(text[column] or "" for column in _ADDRESS))
    elif given:
        for column in _ADDRESS:
            if column not in given:
                fail(column, "missing: 小区, 楼栋 and 房号 go together")
    elif member_type != "dual_registered":
        fail(Column.room, "missing address: only dual-registered members may be registered without a home here")
    if not given and household_kind is not None:
        fail(Column.household_kind, "given without an address")

    skills = _skills(text.get(Column.skills), fail)
    if errors or name is None or id_number is None:
        return errors
    return PersonLine(
        row=row.number,
        name=name,
        id_number=id_number,
        phone=phone,
        address=address,
        household_kind=household_kind,
        member_type=member_type,
        branch=branch,
        group=group,
        unit=unit,
        skills=skills,
    )


def check_across_rows(lines: Iterable[PersonLine]) -> tuple[list[PersonLine], list[RowError]]:
    """Keep the rows that agree with the rows before them; a later row that contradicts an earlier one is refused.

    Contradictions: the same ID number twice, one household given two kinds, one party group under two branches.
    """
    kept: list[PersonLine] = []
    errors: list[RowError] = []
    first_row_of_person: dict[str, int] = {}
    household_kinds: dict[Address, tuple[str, int]] = {}
    group_branches: dict[str, tuple[str, int]] = {}
    for line in lines:
        if (seen := first_row_of_person.get(line.id_number.value)) is not None:
            errors.append(RowError(line.row, Column.id_number, f"the same person as row {seen}"))
            continue
        if line.address is not None and line.household_kind is not None:
            kind, row = household_kinds.setdefault(line.address, (line.household_kind, line.row))
            if kind != line.household_kind:
                errors.append(RowError(line.row, Column.household_kind, f"row {row} gives this household as {kind}"))
                continue
        if line.group is not None and line.branch is not None:
            branch, row = group_branches.setdefault(line.group, (line.branch, line.row))
            if branch != line.branch:
                errors.append(RowError(line.row, Column.branch, f"row {row} puts 党小组 {line.group} under {branch}"))
                continue
        first_row_of_person[line.id_number.value] = line.row
        kept.append(line)
    return kept, errors


def _as_text(value: CellValue) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a room 101 or a phone typed into a number cell
    # NFKC folds full-width letters and digits, so "１号楼" and "1号楼" are one building.
    normalised = unicodedata.normalize("NFKC", str(value)).strip()
    return normalised or None


def _choice(value: str | None, words: dict[str, str], column: Column, fail: _Fail) -> str | None:
    if value is None:
        return None
    chosen = words.get(value) or words.get(value.lower())
    if chosen is None:
        known = "、".join(word for word in words if not word.isascii())
        fail(column, f"unknown value {value!r}; use one of {known}")
    return chosen


def _skills(value: str | None, fail: _Fail) -> tuple[str, ...]:
    if value is None:
        return ()
    skills = tuple(dict.fromkeys(part for part in _SKILL_SEPARATORS.split(value) if part))
    for skill in skills:
        if len(skill) > _LIMITS[Column.skills]:
            fail(Column.skills, f"skill {skill[:10]}… is longer than {_LIMITS[Column.skills]} characters")
    return skills
