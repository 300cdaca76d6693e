"""Checking rows: every problem of a row is reported, and later rows that contradict earlier ones are refused."""

from __future__ import annotations

import datetime as dt

import pytest

from timebank.community.import_columns import Column
from timebank.community.import_files import CellValue, SourceRow
from timebank.community.import_rows import PersonLine, RowError, check_across_rows, check_row

TODAY = dt.date(2026, 11, 24)
RESIDENT: dict[Column, CellValue] = {
    Column.name: "李娜",
    Column.id_number: "11010519491231002X",
    Column.compound: "苏州花园",
    Column.building: "1号楼",
    Column.room: "1-101",
}


def checked(number: int = 2, /, **values: CellValue) -> PersonLine | list[RowError]:
    cells = dict(RESIDENT)
    cells.update({Column(key): value for key, value in values.items()})
    return check_row(SourceRow(number, cells), TODAY)


def problems(result: PersonLine | list[RowError]) -> dict[Column | None, str]:
    assert isinstance(result, list), result
    return {error.column: error.problem for error in result}


def test_a_resident_row_becomes_a_typed_line() -> None:
    line = checked(household_kind="独居老人", phone="138-1234-5678", skills="理发、维修，理发 陪伴老人")
    assert isinstance(line, PersonLine)
    assert line.id_number.birth_date == dt.date(1949, 12, 31)
    assert (line.phone, line.household_kind, line.member_type) == ("13812345678", "solitary_elder", None)
    assert line.skills == ("理发", "维修", "陪伴老人")


def test_chinese_and_stored_words_both_name_member_types() -> None:
    for word in ("自管党员", "社区直管党员", "community_managed"):
        line = checked(member_type=word, branch="一支部", group="第一党小组")
        assert isinstance(line, PersonLine)
        assert line.member_type == "community_managed"


def test_every_problem_of_a_row_is_reported_at_once() -> None:
    found = problems(checked(name=None, id_number="110105194912310021", phone="1381234567", member_type="党员"))
    assert set(found) == {Column.name, Column.id_number, Column.phone, Column.member_type}
    assert found[Column.name] == "missing"
    assert "自管党员" in found[Column.member_type]


def test_address_columns_go_together() -> None:
    found = problems(checked(room=None, household_kind="困难户"))
    assert found == {Column.room: "missing: 小区, 楼栋 and 房号 go together"}


def test_only_dual_registered_members_may_have_no_home_here() -> None:
    homeless = {Column.compound: None, Column.building: None, Column.room: None}
    assert Column.room in problems(checked(**{c.value: v for c, v in homeless.items()}))
    line = checked(**{c.value: v for c, v in homeless.items()}, member_type="双报到党员", unit="莱西市人民医院")
    assert isinstance(line, PersonLine)
    assert line.address is None
    assert line.unit == "莱西市人民医院"


@pytest.mark.parametrize(
    ("values", "column", "problem"),
    [
        ({"member_type": "双报到党员"}, Column.unit, "missing: a dual-registered member"),
        ({"unit": "莱西市人民医院"}, Column.unit, "only for dual-registered"),
        ({"member_type": "自管党员", "unit": "莱西市人民医院"}, Column.unit, "only for dual-registered"),
        ({"branch": "一支部"}, Column.branch, "only for party members"),
        ({"group": "第一党小组"}, Column.group, "only for party members"),
        ({"household_kind": "独居"}, Column.household_kind, "unknown value '独居'"),
        ({"room": "1" * 33}, Column.room, "longer than 32 characters"),
    ],
)
def test_single_cell_problems(values: dict[str, CellValue], column: Column, problem: str) -> None:
    found = problems(checked(**values))
    assert list(found) == [column]
    assert problem in found[column]


def test_contradicting_rows_are_refused_after_the_first() -> None:
    rows = [
        checked(2, household_kind="独居老人"),
        checked(3, id_number="370285199001011238", household_kind="困难户"),
        checked(4, id_number=" 11010519491231002x "),
        checked(5, id_number="370285199001011238", room="1-102", member_type="自管党员", branch="一支部", group="甲"),
    ]
    lines = [row for row in rows if isinstance(row, PersonLine)]
    lines.append(
        _line(
            checked(
                6, id_number="440524198001010013", room="1-103", member_type="自管党员", branch="二支部", group="甲"
            )
        )
    )
    kept, refused = check_across_rows(lines)
    assert [line.row for line in kept] == [2, 5]
    assert [(error.row, error.column) for error in refused] == [
        (3, Column.household_kind),
        (4, Column.id_number),
        (6, Column.branch),
    ]
    assert refused[1].problem == "the same person as row 2"


def _line(result: PersonLine | list[RowError]) -> PersonLine:
    assert isinstance(result, PersonLine), result
    return result
