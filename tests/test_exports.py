"""CSV and XLSX downloads: Thai that Excel reads, and no cell a spreadsheet would run as a formula."""
import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from app.services import exports

HOSTILE = ["=HYPERLINK(\"http://evil\",\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def _table():
    return exports.Table("สิทธิ์ของหน่วย: ภ.จว.ขอนแก่น", ["ชื่อ", "ค่า", "วันที่"],
                         [["สมชาย ใจดี", 5, date(2026, 12, 2)], *[[text, text, None] for text in HOSTILE]])


def test_csv_is_utf8_with_a_bom_and_neutralises_formulas():
    raw = exports.csv_bytes(_table())
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["ชื่อ", "ค่า", "วันที่"]
    assert rows[1] == ["สมชาย ใจดี", "5", "2026-12-02"]
    for row, text in zip(rows[2:], HOSTILE, strict=True):
        assert row[0] == "'" + text and row[2] == ""


def test_xlsx_keeps_numbers_and_dates_and_neutralises_formulas():
    sheet = load_workbook(io.BytesIO(exports.xlsx_bytes(_table()))).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert sheet.title == "สิทธิ์ของหน่วย_ ภ.จว.ขอนแก่น"[:31]
    assert rows[1][:2] == ["สมชาย ใจดี", 5] and rows[1][2].date() == date(2026, 12, 2)
    for number, (row, text) in enumerate(zip(rows[2:], HOSTILE, strict=True), start=3):
        assert row[0] == "'" + text.replace("\r", "\n")  # XLSX keeps line ends as LF
        assert sheet.cell(row=number, column=1).data_type != "f"


@pytest.mark.parametrize("fmt, mimetype", [("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats")])
def test_render_names_the_type(fmt, mimetype):
    content, given, extension = exports.render(_table(), fmt)
    assert given.startswith(mimetype) and extension == fmt and content
