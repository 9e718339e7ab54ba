"""A printed report (แบบรายงาน) of a table, for a command to attach to an official letter.

The caller gives every word already in the reader's language; this module only lays it out on
landscape A4 with the memo's Thai font (app.services.memo.thai_pdf): title, heading lines, a
summary of counts, the table (rows never split across pages, headings repeated on each page),
and the signature block of whoever certifies the report.
"""
from dataclasses import dataclass, field
from datetime import date

from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from app.services.memo import BODY_SIZE, FONT_FAMILY, LINE_HEIGHT, clean_text, thai_pdf

TITLE_SIZE, TABLE_SIZE = 18, 10


@dataclass
class TableReport:
    title: str
    heading: list[str]
    summary: list[tuple[str, str]]
    headers: list[str]
    # Relative column widths, one per heading.
    widths: list[float]
    rows: list[list[str]]
    certification: str
    signature: list[str] = field(default_factory=list)
    empty: str = "-"


def render_report(report: TableReport, today: date, language: str = "th") -> bytes:
    pdf = thai_pdf(report.title, "en" if language == "en" else "th", today, orientation="landscape")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    pdf.set_font(FONT_FAMILY, "B", TITLE_SIZE)
    pdf.multi_cell(width, 9, clean_text(report.title), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, "", BODY_SIZE)
    for line in report.heading:
        pdf.multi_cell(width, LINE_HEIGHT, clean_text(line), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)

    if report.summary:
        with pdf.table(col_widths=(3, 1), width=min(width, 140), align="LEFT", line_height=LINE_HEIGHT,
                       first_row_as_headings=False) as table:
            for label, value in report.summary:
                row = table.row()
                row.cell(clean_text(label))
                row.cell(clean_text(value), align="RIGHT")
        pdf.ln(3)

    pdf.set_font(FONT_FAMILY, "", TABLE_SIZE)
    headings = FontFace(emphasis="BOLD", fill_color=(225, 225, 225))
    with pdf.table(col_widths=tuple(report.widths), width=width, line_height=5.2, headings_style=headings,
                   repeat_headings=1) as table:
        heading_row = table.row()
        for text in report.headers:
            heading_row.cell(clean_text(text))
        for cells in report.rows or [[report.empty] + [""] * (len(report.headers) - 1)]:
            row = table.row()
            for text in cells:
                row.cell(clean_text(str(text)) if text not in (None, "") else "")

    pdf.set_font(FONT_FAMILY, "", BODY_SIZE)
    if pdf.get_y() + LINE_HEIGHT * (3 + len(report.signature)) > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.ln(4)
    pdf.multi_cell(width, LINE_HEIGHT, clean_text(report.certification), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    column_x = pdf.l_margin + width * 0.55
    for line in report.signature:
        pdf.set_x(column_x)
        pdf.cell(width * 0.45, LINE_HEIGHT, clean_text(line), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
