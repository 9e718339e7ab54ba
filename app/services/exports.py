"""Tables people take away: one way to write CSV and XLSX for every "who has what" list.

A cell that starts with = + - @ (or a tab or carriage return) is what a spreadsheet runs as a
formula: such text is written with a leading apostrophe, so an officer's name or a comment can
never become a formula on the reader's PC (CSV/formula injection). No Flask here: the web layer
turns a Table into a download and records the export in the audit trail.
"""
import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "xlsx")


@dataclass
class Table:
    """A title, the column headings and the rows, each cell already in the reader's words."""

    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    # The officers whose personal data the rows hold: each is linked to the export in the trail.
    officer_ids: set[int] = field(default_factory=set)


def neutral(value):
    """A cell as text a spreadsheet shows and never evaluates; numbers and dates stay themselves."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, date, datetime)):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_bytes(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, so Excel on a Thai Windows PC reads Thai correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutral(h) for h in table.headers])
    for row in table.rows:
        writer.writerow([_csv_cell(neutral(cell)) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_cell(value) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def xlsx_bytes(table: Table) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_sheet_title(table.title))
    sheet.append([neutral(h) for h in table.headers])
    for row in table.rows:
        sheet.append([_xlsx_cell(neutral(cell)) for cell in row])
    book.active = 0
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(value):
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones; the value is already local
    return value


def _sheet_title(title: str) -> str:
    """Excel refuses []:*?/\\ in a sheet name and more than 31 characters."""
    cleaned = "".join("_" if c in '[]:*?/\\' else c for c in title).strip() or "Sitthi"
    return cleaned[:31]


def render(table: Table, fmt: str) -> tuple[bytes, str, str]:
    """(content, MIME type, file extension) of the table in `fmt` (csv or xlsx)."""
    if fmt == "xlsx":
        return (xlsx_bytes(table),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
    return csv_bytes(table), "text/csv; charset=utf-8", "csv"
