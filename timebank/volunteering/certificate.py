"""The service record certificate (志愿服务记录证明) as PDF, issued free from the records (民政部令第67号 art. 14–15):
who (name, last four ID characters), the total service time, each record, and the recording organisation.

The text is set in WenQuanYi Micro Hei, embedded (subset) in the PDF so every reader shows the Chinese as written.
The serial number is a digest of what the certificate states, so a certificate can be checked by issuing it again.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from pathlib import Path

import asyncpg
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from timebank.errors import InvalidInput, NotFound
from timebank.volunteering.records import CHINA_TIME

__all__ = ["CertificateData", "CertifiedRecord", "certificate_data", "render_certificate"]

#: Where the CJK font comes from: the packaged copy first, then Debian's font packages.
_FONT_CANDIDATES = (
    ("paperang_p2_fonts_cjk", "fonts/wqy-microhei.ttc"),
    (None, "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    (None, "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CertifiedRecord:
    day: date
    title: str
    place: str
    content: str
    minutes: int
    organiser: str
    leader: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateData:
    person_name: str
    id_last4: str | None
    community_name: str
    period_from: date
    period_to: date
    records: tuple[CertifiedRecord, ...]
    issued_on: date

    @property
    def total_minutes(self) -> int:
        return sum(record.minutes for record in self.records)

    @property
    def organisers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(record.organiser for record in self.records)) or (self.community_name,)

    @property
    def serial(self) -> str:
        text = "|".join(
            [self.person_name, self.id_last4 or "", self.period_from.isoformat(), self.period_to.isoformat()]
            + [f"{r.day}/{r.title}/{r.minutes}" for r in self.records]
        )
        return "ZYJL-" + hashlib.sha256(text.encode()).hexdigest()[:12].upper()


async def certificate_data(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    person_id: uuid.UUID,
    period_from: date,
    period_to: date,
    now: datetime,
) -> CertificateData:
    """What the certificate states: the person's credited records with service days in [from, to]."""
    if period_to < period_from:
        raise InvalidInput("the period ends before it starts", field="to")
    person = await connection.fetchrow("SELECT name, id_number_last4 FROM person WHERE id = $1", person_id)
    if person is None:
        raise NotFound("no such person", field="person_id")
    community = await connection.fetchval("SELECT name FROM community WHERE id = $1", community_id)
    if community is None:
        raise NotFound("no such community", field="community_id")
    rows = await connection.fetch(
        """
        SELECT r.service_day AS day, r.activity_title AS title, r.place, r.content, r.minutes, r.organiser,
               coalesce(l.name, '') AS leader
        FROM service_record r LEFT JOIN person l ON l.id = r.leader_id
        WHERE r.community_id = $1 AND r.person_id = $2 AND r.status = 'credited'
          AND r.service_day BETWEEN $3 AND $4
        ORDER BY r.started_at, r.id
        """,
        community_id,
        person_id,
        period_from,
        period_to,
    )
    return CertificateData(
        person_name=person["name"],
        id_last4=person["id_number_last4"],
        community_name=community,
        period_from=period_from,
        period_to=period_to,
        records=tuple(CertifiedRecord(**dict(row)) for row in rows),
        issued_on=now.astimezone(CHINA_TIME).date(),
    )


def hours(minutes: int) -> str:
    """Service time in hours as the rules count it: 90 minutes is 1.5, 20 minutes 0.33."""
    return f"{minutes / 60:.2f}".rstrip("0").rstrip(".")


@cache
def _font_path() -> str:
    for package, name in _FONT_CANDIDATES:
        if package is None:
            if Path(name).is_file():
                return name
            continue
        try:
            path = resources.files(package) / name
        except ModuleNotFoundError:
            continue
        if path.is_file():
            return str(path)
    raise RuntimeError("no CJK font found: install the paperang-p2-fonts-cjk package or fonts-wqy-microhei")


def _chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def render_certificate(data: CertificateData) -> bytes:
    """The certificate as a one-or-more page A4 PDF."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(f"志愿服务记录证明 {data.serial}")
    pdf.set_author(data.community_name)
    pdf.set_creation_date(datetime.combine(data.issued_on, datetime.min.time(), tzinfo=CHINA_TIME))
    pdf.add_font("wqy", fname=_font_path())
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_font("wqy", size=22)
    pdf.cell(0, 16, "志愿服务记录证明", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("wqy", size=10)
    pdf.cell(0, 6, f"证明编号：{data.serial}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font("wqy", size=12)
    id_part = f"（身份证号码后四位：{data.id_last4}）" if data.id_last4 else ""
    pdf.multi_cell(
        0,
        8,
        f"兹证明 {data.person_name}{id_part}于 {_chinese_date(data.period_from)} 至 {_chinese_date(data.period_to)}"
        f" 期间参加志愿服务 {len(data.records)} 次，累计服务时间 {hours(data.total_minutes)} 小时。"
        "服务记录如下：",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(3)
    pdf.set_font("wqy", size=9)
    # Headings shaded, not bold: the font has one weight, and a faked bold smears Chinese strokes.
    headings = FontFace(emphasis=None, fill_color=(235, 235, 235))
    with pdf.table(
        col_widths=(22, 36, 28, 40, 18, 46), text_align="LEFT", line_height=6, headings_style=headings
    ) as table:
        header = table.row()
        for title in ("日期", "活动名称", "服务地点", "服务内容", "时长(小时)", "组织单位/负责人"):
            header.cell(title)
        for record in data.records:
            row = table.row()
            row.cell(record.day.isoformat())
            row.cell(record.title)
            row.cell(record.place)
            row.cell(record.content)
            row.cell(hours(record.minutes))
            row.cell(f"{record.organiser} / {record.leader}" if record.leader else record.organiser)
    pdf.ln(6)
    pdf.set_font("wqy", size=12)
    pdf.cell(0, 8, f"记录单位：{'、'.join(data.organisers)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(0, 8, f"出具日期：{_chinese_date(data.issued_on)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font("wqy", size=9)
    pdf.multi_cell(
        0,
        5,
        "本证明依据《志愿服务记录与证明出具办法（试行）》，根据志愿服务记录免费出具；服务时间为实际提供志愿服务的时间，"
        "不含往返途中时间。可凭证明编号向记录单位核验。",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    return bytes(pdf.output())
