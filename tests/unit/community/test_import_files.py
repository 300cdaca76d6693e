"""Reading import files: the encodings and layouts Chinese spreadsheets come in, and headers refused as a whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from timebank.community.import_columns import Column
from timebank.community.import_files import ImportFileError, read_sheet
from timebank.community.importing import prepare_import

HEADER = "姓名,身份证号,手机号,小区,楼栋,房号\n"
ROW = "李娜,11010519491231002X,13812345678,苏州花园,1号楼,1-101\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_encodings_excel_writes_read_the_same(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "people.csv"
    text = HEADER + ROW
    if encoding == "utf-16":  # Excel's "Unicode text": tab-separated UTF-16 with a byte-order mark
        text = text.replace(",", "\t")
    path.write_bytes(text.encode(encoding))
    sheet = read_sheet(path)
    assert [row.values[Column.name] for row in sheet.rows] == ["李娜"]
    assert sheet.rows[0].values[Column.room] == "1-101"
    assert sheet.columns[Column.id_number].letter == "B"


def test_title_rows_and_blank_rows_keep_spreadsheet_numbering(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("苏州路社区居民信息表,,,,,\n,,,,,\n" + HEADER + ",,,,,\n" + ROW, encoding="utf-8")
    sheet = read_sheet(path)
    assert [row.number for row in sheet.rows] == [5]


def test_header_aliases_english_keys_and_ignored_columns(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("序号, 姓 名 ,公民身份号码,Phone,备注\n1,李娜,11010519491231002X,13812345678,\n", encoding="utf-8")
    sheet = read_sheet(path)
    assert set(sheet.columns) == {Column.name, Column.id_number, Column.phone}
    assert sheet.columns[Column.phone].letter == "D"


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("姓名,身份证号,身份正号\n", "column C '身份正号' is not a column the importer knows"),
        ("姓名,身份证号,身份证号码\n", "column C '身份证号码' repeats column B"),
        ("姓名,手机号\n", "the header lacks 身份证号"),
        ("name,phone,address\n", "is not a column the importer knows"),
    ],
)
def test_bad_headers_refuse_the_whole_file(tmp_path: Path, header: str, problem: str) -> None:
    path = tmp_path / "people.csv"
    path.write_text(header + ROW, encoding="utf-8")
    with pytest.raises(ImportFileError, match=problem):
        read_sheet(path)


def test_no_header_at_all(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(ROW, encoding="utf-8")
    with pytest.raises(ImportFileError, match="no header row"):
        read_sheet(path)


def test_old_xls_and_broken_xlsx_are_refused(tmp_path: Path) -> None:
    xls = tmp_path / "people.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 64)
    with pytest.raises(ImportFileError, match=r"old \.xls"):
        read_sheet(xls)
    broken = tmp_path / "people.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ImportFileError, match="not a readable XLSX"):
        read_sheet(broken)


def test_xlsx_numbers_read_as_text_but_an_id_number_that_excel_rounded_is_refused(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["姓名", "身份证号", "手机号", "小区", "楼栋", "房号"])
    sheet.append(["李娜", "11010519491231002X", 13812345678, "苏州花园", "1号楼", 101])
    sheet.append(["王芳", 3.70285199001011e17, 13812345679.0, "苏州花园", "1号楼", 102])
    path = tmp_path / "people.xlsx"
    workbook.save(path)
    prepared = prepare_import(path)
    assert [(line.phone, line.address and line.address.room) for line in prepared.lines] == [("13812345678", "101")]
    assert [(error.row, error.column) for error in prepared.errors] == [(3, Column.id_number)]
    assert "Excel kept only 15 digits" in prepared.errors[0].problem
