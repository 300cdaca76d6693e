"""Staff exports of credited service hours by person or by team over a period, as CSV or XLSX.

CSV is written with a byte-order mark so spreadsheet programs on Chinese Windows read it as UTF-8.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date

import asyncpg
from openpyxl import Workbook
from openpyxl.styles import Font

from timebank.errors import InvalidInput
from timebank.volunteering.certificate import hours

__all__ = ["HoursRow", "hours_by", "to_csv", "to_xlsx"]


@dataclass(frozen=True, slots=True, kw_only=True)
class HoursRow:
    team: str
    person: str
    id_last4: str
    people: int
    records: int
    minutes: int


_HEADERS = {
    "person": ("团队", "姓名", "身份证后四位", "记录数", "服务分钟", "服务小时"),
    "team": ("团队", "人数", "记录数", "服务分钟", "服务小时"),
}
_NO_TEAM = "（无团队）"


async def hours_by(
    connection: asyncpg.Connection, community_id: uuid.UUID, group_by: str, period_from: date, period_to: date
) -> list[HoursRow]:
    """Credited minutes of service days in [from, to], one row per person (within their team) or per team."""
    if group_by not in _HEADERS:
        raise InvalidInput("group by person or team", field="group_by")
    if period_to < period_from:
        raise InvalidInput("the period ends before it starts", field="to")
    per_person = group_by == "person"
    rows = await connection.fetch(
        f"""
        SELECT coalesce(t.name, '{_NO_TEAM}') AS team,
               {"coalesce(p.name, '')" if per_person else "''"} AS person,
               {"coalesce(p.id_number_last4, '')" if per_person else "''"} AS id_last4,
               count(DISTINCT r.person_id) AS people, count(*) AS records, sum(r.minutes)::bigint AS minutes
        FROM service_record r
        JOIN volunteer_activity a ON a.id = r.activity_id
        LEFT JOIN volunteer_team t ON t.id = a.team_id
        LEFT JOIN person p ON p.id = r.person_id
        WHERE r.community_id = $1 AND r.status = 'credited' AND r.service_day BETWEEN $2 AND $3
        GROUP BY 1, 2, 3 {", r.person_id" if per_person else ""}
        ORDER BY 1, 2, 3
        """,
        community_id,
        period_from,
        period_to,
    )
    return [HoursRow(**dict(row)) for row in rows]


def _cells(row: HoursRow, group_by: str) -> tuple[object, ...]:
    if group_by == "person":
        return (row.team, row.person, row.id_last4, row.records, row.minutes, hours(row.minutes))
    return (row.team, row.people, row.records, row.minutes, hours(row.minutes))


def to_csv(rows: list[HoursRow], group_by: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_HEADERS[group_by])
    writer.writerows(_cells(row, group_by) for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(rows: list[HoursRow], group_by: str, *, title: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.create_sheet(title[:31], 0)
    workbook.remove(workbook.worksheets[1])  # the empty default sheet
    sheet.append(list(_HEADERS[group_by]))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        cells = list(_cells(row, group_by))
        # Hours as numbers, so staff can sum them in the sheet.
        cells[-1] = round(row.minutes / 60, 2)
        sheet.append(cells)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
