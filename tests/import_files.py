"""Real files for the import tests: CSV in UTF-8, UTF-8 with BOM and cp874, and XLSX."""
import csv
import io

from tests.factories import new_national_id

THAI_HEADERS = ["เลขประจำตัวประชาชน", "ยศ", "ชื่อ", "นามสกุล", "วันเกิด", "ตำแหน่ง", "เลขตำแหน่ง", "ระดับ",
                "สายงาน", "หน่วยงาน", "สถานภาพ", "อีเมล", "โทรศัพท์"]
ENGLISH_HEADERS = ["national_id", "rank", "first_name", "last_name", "birth_date", "position", "position_number",
                   "level", "duty_line", "unit", "status", "email", "phone"]


def person(unit: str, nid: str | None = None, **fields) -> list:
    """One row in the THAI_HEADERS order, with sensible values unless given."""
    values = {"national_id": nid or new_national_id(), "rank": "ร.ต.อ.", "first_name": "สมชาย",
              "last_name": "ใจดี", "birth_date": "15/03/2530", "position": "รอง สว.(สืบสวน)",
              "position_number": "1234", "level": "รอง สว.", "duty_line": "สืบสวน", "unit": unit,
              "status": "ปกติ", "email": "", "phone": "0812345678"}
    values.update(fields)
    return [values[h] for h in ENGLISH_HEADERS]


def csv_bytes(rows: list[list], headers=THAI_HEADERS, encoding: str = "utf-8", bom: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows: list[list], headers=THAI_HEADERS) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
