"""Reading an import file, CSV or XLSX, into numbered rows of known columns.

Community spreadsheets come from Excel and WPS: XLSX workbooks, CSV in UTF-8 (with or without the byte-order mark
Excel writes), CSV in GB18030 (what Chinese Excel writes when asked for plain "CSV"), and tab-separated UTF-16
("Unicode text"). Title rows above the header are common, so the header is the first row naming a known column.
Row numbers are the ones the spreadsheet shows, so a staff member can go straight to the row a report names.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.cell import get_column_letter

from timebank.community.import_columns import IGNORED_HEADERS, Column, column_for_header

__all__ = ["CellValue", "ColumnRef", "ImportFileError", "Sheet", "SourceRow", "read_sheet"]

#: What a cell holds: text (stripped, never empty), a number (XLSX only), or nothing.
CellValue = str | int | float | None

_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"
_REQUIRED = (Column.name, Column.id_number)


class ImportFileError(ValueError):
    """The file as a whole cannot be imported: unreadable, no header, or a header the importer does not know.

    Not a :class:`timebank.errors.TimebankError`: files are imported from the command line, and the HTTP contract
    lists the domain errors only.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ColumnRef:
    """Where a column is in the file: its letter as Excel shows it, and the header as written."""

    letter: str
    header: str


@dataclass(frozen=True, slots=True)
class SourceRow:
    number: int
    values: dict[Column, CellValue]


@dataclass(frozen=True, slots=True)
class Sheet:
    sha256: str
    columns: dict[Column, ColumnRef]
    rows: list[SourceRow]


def read_sheet(path: Path) -> Sheet:
    """Read ``path``; XLSX is told from CSV by its content, not its name.

    Raises:
        ImportFileError: the file cannot be read, or its header lacks 姓名 or 身份证号, repeats a column or has one
            the importer does not know (a misspelt header would otherwise drop a column silently).
    """
    data = path.read_bytes()
    if data.startswith(_XLS_MAGIC):
        raise ImportFileError("this is an old .xls workbook; save it as .xlsx or CSV")
    lines = _xlsx_lines(data) if data.startswith(_XLSX_MAGIC) else _csv_lines(data)
    columns, rows = _sheet(lines)
    return Sheet(hashlib.sha256(data).hexdigest(), columns, rows)


def _xlsx_lines(data: bytes) -> Iterator[tuple[int, Sequence[CellValue]]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFileError(f"not a readable XLSX workbook ({exc})") from None
    try:
        sheet = workbook.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_xlsx_cell(cell) for cell in cells]
    finally:
        workbook.close()


def _xlsx_cell(cell: object) -> CellValue:
    if cell is None or isinstance(cell, bool):
        return None if cell is None else str(cell)
    if isinstance(cell, int | float):
        return cell
    if isinstance(cell, dt.datetime | dt.date):
        return cell.isoformat()[:10]
    return _text(str(cell))


def _csv_lines(data: bytes) -> Iterator[tuple[int, Sequence[CellValue]]]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, [_text(cell) for cell in cells]
    except csv.Error as exc:
        raise ImportFileError(f"not a readable CSV file ({exc})") from None


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: tuple[str, ...] = ("utf-16",)
    elif data.startswith(codecs.BOM_UTF8):
        encodings = ("utf-8-sig",)
    else:
        # Valid GB18030 is almost never valid UTF-8, so trying UTF-8 first tells the two apart.
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError("the text is neither UTF-8 nor GB18030; save the file as UTF-8 CSV or XLSX")


def _text(cell: str) -> str | None:
    stripped = cell.strip()
    return stripped or None


def _sheet(lines: Iterable[tuple[int, Sequence[CellValue]]]) -> tuple[dict[Column, ColumnRef], list[SourceRow]]:
    lines = iter(lines)
    for number, cells in lines:
        if any(isinstance(cell, str) and column_for_header(cell) for cell in cells):
            positions = _header(number, cells)
            break
    else:
        raise ImportFileError("no header row: no row names 姓名 and 身份证号")
    rows = []
    for number, cells in lines:
        values = {column: cells[at] if at < len(cells) else None for column, (at, _) in positions.items()}
        if any(value is not None for value in values.values()):
            rows.append(SourceRow(number, values))
    return {column: ref for column, (_, ref) in positions.items()}, rows


def _header(number: int, cells: Sequence[CellValue]) -> dict[Column, tuple[int, ColumnRef]]:
    positions: dict[Column, tuple[int, ColumnRef]] = {}
    problems = []
    for at, cell in enumerate(cells):
        if cell is None:
            continue
        header = str(cell)
        letter = get_column_letter(at + 1)
        column = column_for_header(header)
        if column is None:
            if "".join(unicodedata.normalize("NFKC", header).split()) not in IGNORED_HEADERS:
                problems.append(f"column {letter} {header!r} is not a column the importer knows")
        elif column in positions:
            problems.append(f"column {letter} {header!r} repeats column {positions[column][1].letter}")
        else:
            positions[column] = (at, ColumnRef(letter, header))
    problems += [f"the header lacks {column.label}" for column in _REQUIRED if column not in positions]
    if problems:
        raise ImportFileError(f"header (row {number}): " + "; ".join(problems))
    return positions
