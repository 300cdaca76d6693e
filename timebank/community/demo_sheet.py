"""Sample import sheets: households of made-up residents, optionally with planted errors whose rows are known.

The benchmark imports one of 10,000 rows, the tests smaller ones, and ``timebank demo sheet`` writes one for trying
the importer by hand. Each planted error spoils exactly one cell of a row in one known way, so a test can check
that the report names that row and column, and nothing else.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook

from timebank.community.demo_identities import QINGDAO_AREAS, IdentityMaker
from timebank.community.import_columns import Column
from timebank.community.personal_data import check_character

__all__ = ["HEADERS", "PlantedError", "SampleSheet", "sample_sheet", "write_csv", "write_xlsx"]

#: The header row, in the order of :data:`_COLUMNS`.
HEADERS = (
    "姓名",
    "身份证号",
    "手机号",
    "小区",
    "楼栋",
    "房号",
    "户类型",
    "党员类型",
    "党支部",
    "党小组",
    "报到单位",
    "志愿者技能",
)
_COLUMNS = (
    Column.name,
    Column.id_number,
    Column.phone,
    Column.compound,
    Column.building,
    Column.room,
    Column.household_kind,
    Column.member_type,
    Column.branch,
    Column.group,
    Column.unit,
    Column.skills,
)
_AT = {column: at for at, column in enumerate(_COLUMNS)}

_COMPOUNDS = ("幸福花园", "和谐家园", "阳光小区")
_HOUSEHOLDS_PER_BUILDING = 18
_UNITS = (
    "莱西市人民医院",
    "莱西市税务局",
    "国网莱西市供电公司",
    "莱西市市场监督管理局",
    "中国邮政莱西分公司",
)
_SKILLS = (
    "理发",
    "家电维修",
    "法律咨询",
    "心理咨询",
    "陪伴老人",
    "课业辅导",
    "文艺演出",
    "医疗保健",
    "电脑",
    "摄影",
    "烹饪",
    "巡逻",
)
_KINDS = ("",) * 30 + ("困难户", "残疾人户", "退役军人户")
_REFERENCE_DAY = dt.date(2026, 1, 1)


@dataclass(frozen=True, slots=True)
class PlantedError:
    """A spoilt cell: its row as the spreadsheet numbers it, its column, words the report must contain, and how
    it was spoilt (for people reading the list)."""

    row: int
    column: Column
    problem: str
    spoilt: str


@dataclass(frozen=True, slots=True)
class SampleSheet:
    headers: tuple[str, ...]
    rows: list[list[str]]
    planted: list[PlantedError]


def sample_sheet(rows: int, *, seed: int = 1, errors: int = 0) -> SampleSheet:
    """``rows`` people in households of one to five, with ``errors`` rows spoilt (spread evenly, never adjacent)."""
    rng = random.Random(seed)  # noqa: S311 - made-up people must be reproducible, not unpredictable
    people = IdentityMaker(rng, QINGDAO_AREAS)
    body: list[list[str]] = []
    household = 0
    while len(body) < rows:
        body += _household(household, people, rng)[: rows - len(body)]
        household += 1
    planted = []
    if errors:
        step = rows // errors
        if step < 2:
            raise ValueError("planted errors must be at least two rows apart")
        for n in range(errors):
            index = step * n + step // 2
            planted.append(_spoil(body, index, n, rng))
    return SampleSheet(HEADERS, body, planted)


def write_csv(sheet: SampleSheet, path: Path, *, encoding: str = "utf-8-sig") -> None:
    """Write as Excel does: ``utf-8-sig`` (with the byte-order mark) or ``gb18030`` (Chinese Excel's "CSV")."""
    with path.open("w", encoding=encoding, newline="") as file:
        writer = csv.writer(file)
        writer.writerow(sheet.headers)
        writer.writerows(sheet.rows)


def write_xlsx(sheet: SampleSheet, path: Path) -> None:
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet("居民信息")
    worksheet.append(list(sheet.headers))
    for row in sheet.rows:
        worksheet.append([cell or None for cell in row])
    workbook.save(path)


def _household(number: int, people: IdentityMaker, rng: random.Random) -> list[list[str]]:
    compound = _COMPOUNDS[number % len(_COMPOUNDS)]
    within = number // len(_COMPOUNDS)
    building = f"{within // _HOUSEHOLDS_PER_BUILDING + 1}号楼"
    slot = within % _HOUSEHOLDS_PER_BUILDING
    room = f"{slot % 3 + 1}-{slot // 3 + 1}01"
    size = rng.choices((1, 2, 3, 4, 5), weights=(15, 30, 33, 16, 6))[0]
    surname = people.surname()
    ages = [rng.randrange(66, 90)] if size == 1 else [rng.randrange(28, 50), rng.randrange(28, 50)]
    ages += [rng.randrange(3, 18) for _ in range(min(size, 4) - 2)] + [rng.randrange(58, 82)] * (size == 5)
    kind = "独居老人" if size == 1 and rng.random() < 0.5 else rng.choice(_KINDS)
    rows = []
    for at, age in enumerate(ages):
        sex = people.sex()
        born = people.birth_date(age, _REFERENCE_DAY)
        row = [people.name(sex, surname if at >= 2 else None), people.id_number(born, sex)]
        row += [people.phone() if age >= 16 else "", compound, building, room, kind if at == 0 else ""]
        row += _party_and_skills(age, compound, rng)
        rows.append(row)
    return rows


def _party_and_skills(age: int, compound: str, rng: random.Random) -> list[str]:
    member_type = branch = group = unit = ""
    if age >= 18:
        draw = rng.random()
        if draw < 0.04:
            member_type, branch, group = "自管党员", f"{compound}党支部", f"{compound}第{rng.randrange(1, 4)}党小组"
        elif draw < 0.09:
            member_type, unit = "双报到党员", rng.choice(_UNITS)
        elif draw < 0.10:
            member_type, branch = "离退休党员", f"{compound}党支部"
    skills = "、".join(rng.sample(_SKILLS, rng.randrange(1, 3))) if age >= 16 and rng.random() < 0.08 else ""
    return [member_type, branch, group, unit, skills]


def _spoil(body: list[list[str]], index: int, n: int, rng: random.Random) -> PlantedError:
    row = body[index]
    spoilers: tuple[tuple[Column, str, str, Callable[[], str]], ...] = (
        (Column.id_number, "should be", "a digit mistyped", lambda: _wrong_check_character(row[_AT[Column.id_number]])),
        (Column.phone, "11 digits, has 10", "a digit left out", lambda: f"13{rng.randrange(10**8):08d}"),
        (Column.name, "missing", "left empty", lambda: ""),
        (Column.household_kind, "unknown value", "an unknown word", lambda: "独居"),
        (
            Column.id_number,
            f"the same person as row {index + 1}",
            "the row above's number",
            lambda: body[index - 1][_AT[Column.id_number]],
        ),
        (
            Column.id_number,
            "is not a date",
            "born on 30 February",
            lambda: _impossible_birth_date(row[_AT[Column.id_number]]),
        ),
        (Column.unit, "missing: a dual-registered member", "双报到党员 without a unit", lambda: ""),
        (Column.room, "go together", "left empty", lambda: ""),
        (
            Column.branch,
            "only for party members",
            "given for someone who is no party member",
            lambda: f"{row[_AT[Column.compound]]}党支部",
        ),
    )
    column, problem, how, spoilt = spoilers[n % len(spoilers)]
    if column is Column.unit:
        row[_AT[Column.member_type]] = "双报到党员"
    if column in (Column.room, Column.branch):
        # Keep the spoilt cell the row's only problem: no kind without an address, no party columns of a member.
        row[_AT[Column.household_kind]] = ""
        for party_column in (Column.member_type, Column.branch, Column.group, Column.unit):
            row[_AT[party_column]] = ""
    row[_AT[column]] = spoilt()
    # Spreadsheet numbering: the header is row 1, so body[index] is row index + 2.
    return PlantedError(index + 2, column, problem, how)


def _wrong_check_character(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def _impossible_birth_date(number: str) -> str:
    first17 = number[:6] + number[6:10] + "0230" + number[14:17]
    return first17 + check_character(first17)
