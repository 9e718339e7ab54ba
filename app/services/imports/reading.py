"""Rows out of a file as POLIS or an office PC writes it: CSV or XLSX, Thai or English headers.

The format is told by content, never by the file name: an XLSX is a zip (PK\\x03\\x04); anything
else must be text. Text with a UTF-8 byte-order mark is UTF-8; text that decodes as UTF-8 is
UTF-8; otherwise it is read as cp874 (Windows Thai, a superset of TIS-620, what Excel on a Thai PC
saves as "CSV"). Every TIS-620 byte above 0x7F is invalid as a UTF-8 sequence in running Thai
text, so the order of the tries cannot mistake one for the other.
"""
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from app.errors import N_
from app.services.imports import ImportFailed

MSG_UNKNOWN_FORMAT = N_("The file is neither a CSV nor an XLSX file.")
MSG_BAD_XLSX = N_("The XLSX file cannot be read: %(error)s")
MSG_NO_HEADER = N_("The file holds no header row.")
MSG_MISSING_COLUMNS = N_("The file has no column for: %(columns)s.")

XLSX_MAGIC = b"PK\x03\x04"
_HEADER_NOISE = re.compile(r"[\s_\-.\ufeff]+")


def header_key(text) -> str:
    """A header as compared: case, spaces, dots, dashes and underscores do not count."""
    return _HEADER_NOISE.sub("", str(text or "")).lower()


def decode(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="replace")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("cp874", errors="replace")


def file_kind(content: bytes) -> str:
    """'xlsx' or 'csv'; ImportFailed for anything that is neither (a PDF, an image, a .xls)."""
    if content.startswith(XLSX_MAGIC):
        return "xlsx"
    head = content[:4096]
    # Binary formats start with a signature or are full of NUL bytes; a stray NUL in a text file
    # is one row's problem (that row is refused), not the file's.
    if head.count(b"\x00") > len(head) // 10 or head.startswith(
            (b"%PDF", b"\xd0\xcf\x11\xe0", b"\x89PNG", b"\xff\xd8", b"GIF8")):
        raise ImportFailed(MSG_UNKNOWN_FORMAT)
    return "csv"


@dataclass
class Table:
    """The header as written and an iterator of (line number, cells), plus a row count estimate."""

    headers: list[str]
    rows: Iterator[tuple[int, list]]
    estimated_rows: int


def read(content: bytes) -> Table:
    if file_kind(content) == "xlsx":
        return _read_xlsx(content)
    return _read_csv(decode(content))


def _read_csv(text: str) -> Table:
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t", "|"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers: list[str] | None = None
    for headers in reader:
        if any(cell.strip() for cell in headers):
            break
    if not headers or not any(cell.strip() for cell in headers):
        raise ImportFailed(MSG_NO_HEADER)

    def rows():
        for cells in reader:
            # Blank when no cell holds anything but spaces: one join, not a strip per cell.
            if "".join(cells).strip():
                yield reader.line_num, cells

    return Table(headers, rows(), max(text.count("\n"), 1))


def _read_xlsx(content: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        values = sheet.iter_rows(values_only=True)
        headers = None
        line = 0
        for line, cells in enumerate(values, start=1):  # noqa: B007 - the header's line is kept
            if any(c not in (None, "") for c in cells):
                headers = [_cell_text(c) for c in cells]
                break
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise ImportFailed(MSG_BAD_XLSX, error=str(error)[:200]) from error
    if headers is None:
        raise ImportFailed(MSG_NO_HEADER)
    estimated = max((sheet.max_row or 1) - line, 1)

    def rows():
        for number, cells in enumerate(values, start=line + 1):
            if any(c not in (None, "") for c in cells):
                yield number, [_cell_value(c) for c in cells]
        book.close()

    return Table(headers, rows(), estimated)


def _cell_text(value) -> str:
    return "" if value is None else str(value).strip()


def _cell_value(value):
    """A cell as the importers read it: text, or a date when the sheet holds a real date."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a national ID or phone typed as a number
    return str(value)


def column_map(headers: list[str], aliases: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> dict[str, int]:
    """field -> column index, from the header; ImportFailed naming the required columns missing."""
    by_key = {header_key(alias): name for name, names in aliases.items() for alias in (name, *names)}
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = by_key.get(header_key(header))
        if name is not None and name not in found:
            found[name] = index
    missing = [f"{aliases[name][0]} ({name})" for name in required if name not in found]
    if missing:
        raise ImportFailed(MSG_MISSING_COLUMNS, columns=", ".join(missing))
    return found


def raw_row(headers: list[str], cells: list) -> dict:
    """The row as the file gave it, header by header, for the error report."""
    raw = {}
    for index, cell in enumerate(cells):
        key = headers[index] if index < len(headers) and headers[index] else f"column {index + 1}"
        raw[key] = cell.isoformat() if isinstance(cell, date) else str(cell)[:1000]
    return raw
