"""A person's month by activity and balance history; the certificate PDF; staff exports as CSV and XLSX."""

from __future__ import annotations

import io
import re
import uuid
from datetime import date, timedelta
from pathlib import Path

from openpyxl import load_workbook
from pypdf import PdfReader

from tests.integration.volunteering.conftest import (
    DAY_ONE,
    Clock,
    Neighbourhood,
    add_volunteer,
    open_assessment,
    serve,
)
from timebank.db import Database
from timebank.ledger import Asset
from timebank.volunteering.exports import to_csv, to_xlsx
from timebank.volunteering.service import Volunteering


async def _month_of_service(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, clock: Clock
) -> uuid.UUID:
    gao = await add_volunteer(database, hood, "高秀珍", party_member=True)
    await open_assessment(database, hood)
    for days, minutes, title in (
        (0, 90, "为独居老人打扫卫生"),
        (1, 60, "为独居老人打扫卫生"),
        (3, 120, "社区垃圾分类宣传"),
    ):
        record = await serve(
            volunteering, clock, hood, gao, starts_at=DAY_ONE + timedelta(days=days), minutes=minutes, title=title
        )
        await volunteering.approve_one(hood.staff, record)
    return gao


async def test_a_month_by_activity_and_the_balance_history(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, clock: Clock
) -> None:
    gao = await _month_of_service(database, hood, volunteering, clock)
    month = await volunteering.month_earnings(hood.principal(gao), hood.community, gao, 2026, 3)
    assert [(m.title, m.records, m.service_minutes, m.time_coins, m.points) for m in month] == [
        ("为独居老人打扫卫生", 1, 90, 90, 1),
        ("为独居老人打扫卫生", 1, 60, 60, 1),
        ("社区垃圾分类宣传", 1, 120, 120, 2),
    ]
    assert [m.coins_to_pool for m in month] == [0, 0, 0]
    # Party score as the assessment counted it: the policy prices one unit per whole hour (90 minutes: 1).
    assert [m.party_score for m in month] == [1, 1, 2]
    assert await volunteering.month_earnings(hood.principal(gao), hood.community, gao, 2026, 4) == []
    history = await volunteering.balance_history(hood.principal(gao), hood.community, gao, Asset.time_coins)
    assert [(e.amount, e.balance) for e in history] == [(90, 90), (60, 150), (120, 270)]


async def test_the_certificate_states_the_records_in_chinese(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, clock: Clock, tmp_path: Path
) -> None:
    gao = await _month_of_service(database, hood, volunteering, clock)
    data, pdf = await volunteering.certificate(
        hood.principal(gao), hood.community, gao, date(2026, 3, 1), date(2026, 3, 31)
    )
    assert pdf.startswith(b"%PDF-")
    assert (data.person_name, data.total_minutes, len(data.records)) == ("高秀珍", 270, 3)
    assert data.organisers == ("淮安里社区居民委员会",)
    again, _ = await volunteering.certificate(
        hood.principal(gao), hood.community, gao, date(2026, 3, 1), date(2026, 3, 31)
    )
    assert again.serial == data.serial
    # Read back from the PDF itself (its embedded font maps glyphs to Unicode); runs of spaces are layout, not text.
    text = re.sub(" +", " ", "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
    (tmp_path / "certificate.txt").write_text(text)
    for phrase in ("志愿服务记录证明", "高秀珍", "累计服务时间 4.5", "社区垃圾分类宣传", "淮安里社区居民委员会"):
        assert phrase in text


async def test_exports_by_person_and_team(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, clock: Clock
) -> None:
    await _month_of_service(database, hood, volunteering, clock)
    by_person = await volunteering.hours_export(
        hood.staff, hood.community, "person", date(2026, 3, 1), date(2026, 3, 31)
    )
    assert [(r.team, r.person, r.records, r.minutes) for r in by_person] == [("红马甲志愿服务队", "高秀珍", 3, 270)]
    csv_text = to_csv(by_person, "person").decode("utf-8-sig")
    assert csv_text.splitlines() == [
        "团队,姓名,身份证后四位,记录数,服务分钟,服务小时",
        "红马甲志愿服务队,高秀珍,,3,270,4.5",
    ]
    by_team = await volunteering.hours_export(hood.staff, hood.community, "team", date(2026, 3, 1), date(2026, 3, 31))
    sheet = load_workbook(io.BytesIO(to_xlsx(by_team, "team", title="2026年3月"))).active
    assert sheet is not None
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["团队", "人数", "记录数", "服务分钟", "服务小时"],
        ["红马甲志愿服务队", 1, 3, 270, 4.5],
    ]
