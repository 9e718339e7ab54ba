"""บันทึกข้อความ: a request printed as the prefilled Thai official memo the requester signs.

Pure service (no Flask): `render_memo(request, today)` returns the PDF bytes. Thai text is set in
Sarabun (SIL OFL, shipped in app/static/fonts) and shaped by HarfBuzz through fpdf2, so vowels and
tone marks sit where they belong. Thai has no spaces between words, so lines are broken here, at
spaces and between words, never inside a character cluster (a consonant with its
vowel and tone marks); fpdf2's own wrapping would otherwise cut a mark off onto the next line.
Lines break between words found by PyThaiNLP's dictionary segmenter, never inside a name.
User text is drawn as plain text: nothing in it is read as markup.
"""
from __future__ import annotations

import contextlib
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from app.domain.pledge import ATTESTATION, PLEDGE
from app.domain.thai_dates import thai_date

if TYPE_CHECKING:
    from app.models.officer import Officer
    from app.models.request import AccessRequest, RequestItem

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"
FONT_FAMILY = "Sarabun"
FONT_FILES = {"": "Sarabun-Regular.ttf", "B": "Sarabun-Bold.ttf"}

ENGLISH_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)

# The approval chains' names (reference_data.CHAINS), as the memo's subject.
SUBJECTS = {
    "th": {
        "external_search": "ขอสิทธิ์สืบค้นข้อมูลหน่วยงานภายนอก",
        "external_search_renewal": "ขอต่ออายุสิทธิ์สืบค้นข้อมูล",
        "additional_functions": "ขอเพิ่มสิทธิ์การใช้งานระบบ",
        "new_account": "ขอบัญชีผู้ใช้ใหม่",
        "account_renewal": "ขอต่ออายุบัญชีผู้ใช้",
        "temporary_assignment": "ขอช่วยราชการหน่วยอื่น",
        "return_home_unit": "ขอกลับหน่วยต้นสังกัด",
    },
    "en": {
        "external_search": "Request for external search rights",
        "external_search_renewal": "Request to renew search rights",
        "additional_functions": "Request for additional functions",
        "new_account": "Request for a new user account",
        "account_renewal": "Request to renew a user account",
        "temporary_assignment": "Temporary assignment to another unit",
        "return_home_unit": "Return to home unit",
    },
}
EXTERNAL_SEARCH_KINDS = ("external_search", "external_search_renewal")

TEXT = {
    "th": {
        "title": "บันทึกข้อความ",
        "department": "ส่วนราชการ",
        "tel": "โทร.",
        "number": "ที่",
        "draft": "(ร่าง)",
        "date": "วันที่",
        "subject": "เรื่อง",
        "to": "เรียน",
        "to_central_it": "ผอ.ศทก.",
        "to_commander": "ผู้บังคับการ",
        "intro": (
            "ด้วยข้าพเจ้า {name} ตำแหน่ง {position} สังกัด {unit} "
            "เลขประจำตัวประชาชน {national_id} ติดต่อได้ที่อีเมล {email} "
            "โทรศัพท์มือถือ {mobile} มีความประสงค์{purpose}"
        ),
        "purpose_items": " ตามรายการดังต่อไปนี้",
        "assignment": " โดยได้รับคำสั่งให้ไปช่วยราชการที่ {unit} จนถึงวันที่ {until}",
        "return_home": " คือ {unit}",
        "duty": "หน้าที่ที่ปฏิบัติในปัจจุบัน:",
        "col_no": "ลำดับ",
        "col_item": "รายการที่ขอ",
        "col_group": "กลุ่มยศ",
        "fields": "ข้อมูลที่ขอ",
        "justification": "เหตุผลความจำเป็นของทุกรายการ (ตามที่แต่ละแหล่งข้อมูลถาม)",
        "kind_source": "ข้อมูล",
        "kind_function": "ระบบงาน",
        "above_own_rank": "(สูงกว่ายศของตน)",
        "no_items": "- ไม่มีรายการ -",
        "mismatch": (
            "ทั้งนี้ หน้าที่ที่ข้าพเจ้าปฏิบัติจริงไม่ตรงตามเลขตำแหน่งและสายงาน "
            "จึงได้แนบหนังสือรับรองการปฏิบัติงานที่ผู้บังคับบัญชาลงนามรับรองมาพร้อมนี้"
        ),
        "pledge": PLEDGE["th"],
        "closing": "จึงเรียนมาเพื่อโปรดพิจารณา",
        "certify": ATTESTATION["th"],
        "certified_in_app": "รับรองในระบบ Sitthi แล้ว โดย {head} เมื่อ {date} (แทนการลงลายมือชื่อ)",
        "verify": "รหัสตรวจสอบ",
        "signed": "(ลงชื่อ)",
        "requester": "ผู้ขอ",
        "head": "ผู้รับรอง",
        "position": "ตำแหน่ง",
        "none": "-",
        "group": " (แบบกลุ่ม)",
        "group_intro": (
            "ด้วย {unit} มีความประสงค์{purpose} ให้แก่ข้าราชการตำรวจในสังกัด จำนวน {count} นาย "
            "ตามบัญชีรายชื่อดังต่อไปนี้ ผู้ประสานงานติดต่อได้ที่อีเมล {email} โทรศัพท์มือถือ {mobile}"
        ),
        "col_officer": "ยศ ชื่อ สกุล",
        "col_position": "ตำแหน่ง / สังกัด",
        "col_request": "เลขที่คำขอ",
        "filer": "ผู้ยื่นคำขอ",
    },
    "en": {
        "title": "MEMORANDUM",
        "department": "Department",
        "tel": "Tel.",
        "number": "No.",
        "draft": "(draft)",
        "date": "Date",
        "subject": "Subject",
        "to": "To",
        "to_central_it": "Director, Central IT Center",
        "to_commander": "Commander",
        "intro": (
            "I, {name}, position {position}, of {unit}, national ID {national_id}, "
            "e-mail {email}, mobile {mobile}, submit this {purpose}"
        ),
        "purpose_items": " for the following items",
        "assignment": ", having been ordered to serve temporarily at {unit} until {until}",
        "return_home": ": {unit}",
        "duty": "Duty currently performed:",
        "col_no": "No.",
        "col_item": "Item requested",
        "col_group": "Rank group",
        "fields": "Data fields",
        "justification": "Justification of every line (as each source asks)",
        "kind_source": "Data",
        "kind_function": "Function",
        "above_own_rank": "(above own rank)",
        "no_items": "- no items -",
        "mismatch": (
            "The duty I actually perform differs from my position number and duty line; "
            "a duty certificate signed by my superior is attached."
        ),
        "pledge": PLEDGE["en"],
        "closing": "Submitted for your consideration.",
        "certify": ATTESTATION["en"],
        "certified_in_app": "Certified in Sitthi by {head} on {date} (in place of the signature).",
        "verify": "Verification code",
        "signed": "(Signed)",
        "requester": "Requester",
        "head": "Certifying head",
        "position": "Position",
        "none": "-",
        "group": " (group)",
        "group_intro": (
            "{unit} submits this {purpose} for {count} of its officers, listed below; "
            "the coordinator can be reached at {email}, mobile {mobile}"
        ),
        "col_officer": "Rank and name",
        "col_position": "Position / unit",
        "col_request": "Request no.",
        "filer": "Filed by",
    },
}

# Layout (mm, pt): A4 with the official memo's margins; Sarabun runs larger than TH SarabunPSK,
# so its sizes are smaller than the regulation's 16 pt for the same look.
LEFT, RIGHT, TOP, BOTTOM = 30.0, 20.0, 15.0, 20.0
TITLE_SIZE, LABEL_SIZE, BODY_SIZE, TABLE_SIZE = 22, 14, 13, 12
LINE_HEIGHT = 6.6
INDENT = 25.0
EMBLEM_HEIGHT = 15.0  # mm: the Garuda of a บันทึกข้อความ (ระเบียบงานสารบรรณ)
QR_SIZE, QR_TEXT_SIZE = 20.0, 8  # the verification mark at the top right
DOTS = "." * 45
SIGNATURE_HEIGHT = 4 * LINE_HEIGHT + 6

# Thai characters that never start a line (they belong to the consonant before them) ...
_THAI_FOLLOWING = {"\u0e30", "\u0e32", "\u0e33", "\u0e45"}  # ะ า ำ ๅ
# ... and vowels written before the consonant they follow in speech (they never end a line).
_THAI_LEADING = {"\u0e40", "\u0e41", "\u0e42", "\u0e43", "\u0e44"}  # เ แ โ ใ ไ
# SARA AM (ำ) drawn as HarfBuzz draws it, NIKHAHIT before the above-base marks then SARA AA.
_SARA_AM = re.compile("([\u0e31\u0e34-\u0e37\u0e47-\u0e4e]*)\u0e33")
# Common words of these memos in which those rules would break between the wrong syllables.
_KEEP_WHOLE = ("ข้าพเจ้า", "พระราชบัญญัติ", "ประโยชน์", "ตำแหน่ง", "ประจำตัว", "สำเนา")


def decompose_sara_am(text: str) -> str:
    """น้ำ -> น + ํ + ้ + า: the very glyphs HarfBuzz shapes ำ into, each with its own character.

    Left whole, ำ becomes two glyphs of which fpdf2 maps only the first back to text, so a copy
    or a text extraction of the PDF gets a stray character after every ำ (ตำ?รวจ).
    """
    return _SARA_AM.sub("\u0e4d\\1\u0e32", text)


def recompose_sara_am(text: str) -> str:
    """The inverse, for reading text back out of the PDF."""
    return re.sub("\u0e4d([\u0e31\u0e34-\u0e37\u0e47-\u0e4c]*)\u0e32", "\\1\u0e33", text)


_SHOWN_STRING = re.compile(r"\(((?:\\.|[^\\)])*)\) Tj", re.S)
_FONT_SET = re.compile(r"/F(\d+) [\d.]+ Tf")


def _glyph_codes(escaped: str) -> list[int]:
    """The two-byte glyph codes of a string fpdf2 escaped for a Tj."""
    raw = re.sub(r"\\(.)", lambda m: "\r" if m.group(1) == "r" else m.group(1), escaped).encode("latin-1")
    return [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]


class MemoPDF(FPDF):
    """FPDF whose every drawn and measured string gets ำ decomposed (see decompose_sara_am), and
    whose every line of text carries what it says as /ActualText.

    HarfBuzz places Thai marks with offsets, and fpdf2 draws each such mark at its own position;
    a viewer that copies text by position (Chrome's PDFium) then moves the marks out of their
    word ("แห่งชาติ" came out "แหงชาต ่ ิ"). With the line's text marked as its actual text, a copy
    or a search gets the words as written."""

    def normalize_text(self, text: str) -> str:
        return super().normalize_text(decompose_sara_am(text))

    def _out(self, s) -> None:  # fpdf2 writes every text line through here
        if isinstance(s, str) and " Tj" in s and " TJ" not in s:
            actual = self._actual_text(s)
            if actual:
                s = f"/Span <</ActualText <FEFF{actual.encode('utf-16-be').hex().upper()}>>> BDC {s} EMC"
        super()._out(s)

    def _actual_text(self, content: str) -> str | None:
        """The text a line's glyphs stand for: fpdf2 maps the first glyph of each shaped cluster to
        the cluster's characters and the rest to none, so in drawing order they spell the line."""
        fonts = {font.i: font for font in self.fonts.values()}
        chosen = {int(index) for index in _FONT_SET.findall(content)}
        if len(chosen) > 1:
            return None
        font = fonts.get(chosen.pop()) if chosen else self.current_font
        subset = getattr(font, "subset", None)
        if subset is None:
            return None
        glyphs = {code: glyph for glyph, code in subset.items() if glyph is not None}
        characters: list[int] = []
        for shown in _SHOWN_STRING.finditer(content):
            for code in _glyph_codes(shown.group(1)):
                if code not in glyphs:
                    return None
                characters.extend(glyphs[code].unicode)
        return recompose_sara_am("".join(map(chr, characters))) or None


def thai_pdf(title: str, language: str, today: date, orientation: str = "portrait") -> MemoPDF:
    """An A4 page set up the way every Sitthi paper is: Sarabun embedded and shaped by HarfBuzz,
    so it prints on a PC without Thai fonts, with margins of the government form."""
    pdf = MemoPDF(orientation=orientation, unit="mm", format="A4")
    pdf.set_margins(LEFT, TOP, RIGHT)
    pdf.set_auto_page_break(True, margin=BOTTOM)
    for style, filename in FONT_FILES.items():
        pdf.add_font(FONT_FAMILY, style, str(FONT_DIR / filename))
    pdf.set_text_shaping(True)
    pdf.set_title(title)
    pdf.set_creator("Sitthi")
    pdf.set_lang(language)
    pdf.set_creation_date(datetime.combine(today, time(), tzinfo=UTC))
    return pdf


def long_thai_date(value: date) -> str:
    return thai_date(value, "long")


def english_date(value: date) -> str:
    return f"{value.day} {ENGLISH_MONTHS[value.month - 1]} {value.year}"


def clean_text(value: str | None) -> str:
    """Plain text fit to draw: newlines kept, tabs as spaces, other control characters dropped."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return "".join(
        ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc"
    )


def _is_thai(ch: str) -> bool:
    return "\u0e00" <= ch <= "\u0e7f"


def _clusters(text: str) -> list[str]:
    """Split into units no line break may enter: a base character with its combining marks,
    following vowels (ะ า ำ) and any leading vowel (เ แ โ ใ ไ) in front of it."""
    clusters: list[str] = []
    pending = ""  # leading vowels waiting for their consonant
    for ch in text:
        attaches = unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me")
        if (attaches or ch in _THAI_FOLLOWING) and clusters and not pending:
            clusters[-1] += ch
        elif ch in _THAI_LEADING:
            pending += ch
        else:
            clusters.append(pending + ch)
            pending = ""
    if pending:
        clusters.append(pending)
    return clusters


def _protected(paragraph: str, keep: tuple[str, ...] = ()) -> set[int]:
    """Offsets inside words no line may break: names of this memo (a person, a unit) and the
    words the dictionary splits wrongly."""
    inside: set[int] = set()
    for word in (*_KEEP_WHOLE, *(k for k in keep if k)):
        start = paragraph.find(word)
        while start >= 0:
            inside.update(range(start + 1, start + len(word)))
            start = paragraph.find(word, start + 1)
    return inside


# After these a line may not break (an opening bracket); before these neither (closing marks).
_NO_BREAK_AFTER = "([{\"'“‘/"
_NO_BREAK_BEFORE = ")]}\"'”’.,:;!?ๆฯ%/"


def _words(paragraph: str) -> list[str]:
    """Thai words by PyThaiNLP's dictionary segmenter (newmm): Thai has no spaces between words,
    and breaking at syllables cut words in two (สถานีตำ|รวจภูธร)."""
    from pythainlp.tokenize import word_tokenize  # its dictionary loads on first use

    return word_tokenize(paragraph, engine="newmm", keep_whitespace=True)


def _tokens(paragraph: str, keep: tuple[str, ...] = ()) -> list[str]:
    """Pieces after each of which a line may break: after spaces, and between Thai words, but not
    inside a name of this memo, not after an abbreviation's dot (สภ.|เมืองขอนแก่น) and not
    next to brackets and closing punctuation."""
    protected = _protected(paragraph, keep)
    tokens: list[str] = []
    current = ""
    offset = 0
    for word in _words(paragraph):
        start, offset = offset, offset + len(word)
        if current and not word.isspace() and not current[-1].isspace() and _may_break(
                current, word, start, protected):
            tokens.append(current)
            current = ""
        current += word
        if word.isspace() and offset not in protected:  # a name's own space is no place to break
            tokens.append(current)
            current = ""
    if current:
        tokens.append(current)
    return tokens


def _may_break(before: str, after: str, at: int, protected: set[int]) -> bool:
    if at in protected or before[-1] == "." or before[-1] in _NO_BREAK_AFTER or after[0] in _NO_BREAK_BEFORE:
        return False
    # between two Thai words only: Latin text, numbers and addresses break at their spaces
    return _is_thai(before[-1]) and _is_thai(after[0])


def wrap(pdf: FPDF, text: str, width: float, first_width: float | None = None,
         keep: tuple[str, ...] = ()) -> list[str]:
    """Break text (in the current font) into lines that fit `width` mm (the first `first_width`),
    between words and never inside the names in `keep`."""
    widths: dict[str, float] = {}

    def measure(value: str) -> float:
        if value not in widths:
            widths[value] = pdf.get_string_width(value)
        return widths[value]

    lines: list[str] = []
    for paragraph in clean_text(text).split("\n"):
        line = ""
        for token in _tokens(paragraph, keep):
            limit = first_width if first_width is not None and not lines else width
            if measure((line + token).rstrip()) <= limit:
                line += token
                continue
            if line.strip():
                lines.append(line.rstrip())
                limit = width
            line = "" if token.isspace() else token.lstrip(" ")
            if measure(line.rstrip()) > limit:
                # One piece longer than a line (a long word, a URL): break between clusters.
                line = _split_long(line, limit, width, lines, measure)
        lines.append(line.rstrip())
    return lines


def _split_long(token: str, limit: float, width: float, lines: list[str], measure) -> str:
    line = ""
    for cluster in _clusters(token):
        if line and measure(line + cluster) > limit:
            lines.append(line)
            line = cluster.lstrip(" ")
            limit = width
        else:
            line += cluster
    return line


@dataclass
class _Memo:
    pdf: FPDF
    text: dict[str, str]
    language: str
    names: tuple[str, ...] = ()  # the names of this memo, never broken across lines

    @property
    def width(self) -> float:
        return self.pdf.w - LEFT - RIGHT

    def paragraph(self, text: str, indent: float = INDENT) -> None:
        """Body text with a first-line indent: wrapped here, laid out (and paged) by multi_cell."""
        pdf = self.pdf
        pdf.set_font(FONT_FAMILY, "", BODY_SIZE)
        inner = self.width - 2 * pdf.c_margin - 0.5  # multi_cell pads each side; keep a hair spare
        lines = wrap(pdf, text, inner, inner - indent, self.names)
        pdf.set_x(LEFT + indent)
        pdf.multi_cell(self.width - indent, LINE_HEIGHT, lines[0],
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if len(lines) > 1:
            pdf.multi_cell(self.width, LINE_HEIGHT, "\n".join(lines[1:]),
                           new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def field(self, label: str, value: str, x: float, end: float) -> None:
        """A bold label and its value on a dotted line, the way the memo form prints them."""
        pdf = self.pdf
        y = pdf.get_y()
        pdf.set_xy(x, y)
        pdf.set_font(FONT_FAMILY, "B", LABEL_SIZE)
        pdf.cell(pdf.get_string_width(label) + 2 * pdf.c_margin, LINE_HEIGHT + 1, label)
        pdf.set_font(FONT_FAMILY, "", BODY_SIZE)
        value_x = pdf.get_x()
        value_w = end - value_x
        lines = wrap(pdf, value, value_w - 2 * pdf.c_margin - 0.5, keep=self.names)
        for index, line in enumerate(lines):
            top = y + index * LINE_HEIGHT
            pdf.set_xy(value_x, top)
            pdf.cell(value_w, LINE_HEIGHT + 1, line)
            with pdf.local_context():
                pdf.set_dash_pattern(dash=0.4, gap=0.8)
                pdf.set_line_width(0.2)
                pdf.line(value_x, top + LINE_HEIGHT + 0.5, end, top + LINE_HEIGHT + 0.5)
        pdf.set_xy(LEFT, y + len(lines) * LINE_HEIGHT + 1.5)

    def keep(self, height: float) -> None:
        """Start a new page unless `height` mm still fit on this one (a signature is never split)."""
        if self.pdf.get_y() + height > self.pdf.h - BOTTOM:
            self.pdf.add_page()

    def signature(self, role: str, officer: Officer | None, position: str | None) -> None:
        """(ลงชื่อ) ........ role / (name) / ตำแหน่ง ..., centred in the right-hand column."""
        pdf = self.pdf
        column_x = LEFT + self.width * 0.42
        column_w = pdf.w - RIGHT - column_x
        name = _name(officer, self.language) if officer else DOTS
        rows = (
            f"{self.text['signed']} {'.' * 40} {role}",
            f"({name})",
            f"{self.text['position']} {_blank(position, DOTS)}",
        )
        pdf.ln(6)
        pdf.set_font(FONT_FAMILY, "", BODY_SIZE)
        for row in rows:
            for line in wrap(pdf, row, column_w - 2 * pdf.c_margin - 0.5, keep=self.names):
                pdf.set_x(column_x)
                pdf.cell(column_w, LINE_HEIGHT, line, align="C",
                         new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _names_in(request: AccessRequest, language: str) -> tuple[str, ...]:
    """Every person and unit the memo names, as it prints them: each stays on one line."""
    people = [p for p in (request.requester, request.certifying_head) if p is not None]
    units = [request.unit, request.target_unit, *(p.home_unit for p in people)]
    return tuple(dict.fromkeys(filter(None, (
        *(_name(p, language) for p in people), *(_unit_name(u, language) for u in units if u is not None),
        *(clean_text(p.position_title) for p in people if p.position_title)))))


def _blank(value: str | None, fallback: str) -> str:
    value = clean_text(value).strip()
    return value or fallback


def _name(officer: Officer, language: str) -> str:
    if language == "en" and officer.first_name_en and officer.last_name_en:
        rank = officer.rank.abbr_en if officer.rank and officer.rank.abbr_en else ""
        return clean_text(f"{rank} {officer.first_name_en} {officer.last_name_en}").strip()
    return clean_text(str(officer))


def _unit_name(unit, language: str) -> str:
    if unit is None:
        return "-"
    if language == "en" and unit.name_en:
        return clean_text(unit.name_en)
    return clean_text(unit.name_th)


def _item_row(item: RequestItem, text: dict[str, str], language: str) -> tuple[str, str]:
    target = item.data_source or item.function
    kind = text["kind_source"] if item.data_source is not None else text["kind_function"]
    if target is None:
        name = text["none"]
    elif language == "en" and getattr(target, "name_en", None):
        name = target.name_en
    else:
        name = target.name_th
    agency = getattr(target, "agency", None)
    if agency is not None:  # whose data it is: the agency that owns the source
        owner = agency.name_en if language == "en" and agency.name_en else agency.name_th
        name = f"{name} ({owner})"
    group = ""
    if item.rank_group is not None:
        group = item.rank_group.name_en if language == "en" else item.rank_group.name_th
    if item.above_own_rank:
        group = f"{group} {text['above_own_rank']}".strip()
    return clean_text(f"{kind}: {name}"), clean_text(group or text["none"])


def _item_details(item: RequestItem, text: dict[str, str], language: str) -> list[tuple[str, str]]:
    """What the Linkage Center judges a search by: the data fields asked for, and the answers to
    the source's justification questions (a date in the reader's calendar)."""
    english = language == "en"
    details = []
    if item.fields:
        names = ", ".join(f.name_en if english and f.name_en else f.name_th for f in item.fields)
        details.append((text["fields"], names))
    for answer in item.answers:
        value = answer.value
        if answer.question is not None and answer.question.answer_kind == "date":
            with contextlib.suppress(ValueError):  # kept as typed if it is not a date after all
                value = (english_date if english else long_thai_date)(date.fromisoformat(value))
        details.append((answer.label_en if english else answer.label_th, value))
    return [(clean_text(label), clean_text(value)) for label, value in details]


def _wrapped(pdf: FPDF, lines: list[str], width: float) -> str:
    """Lines for a table cell, broken between Thai words (fpdf2's table would break inside them)."""
    return "\n".join(piece for line in lines for piece in wrap(pdf, line, width))


@dataclass(frozen=True)
class Certification:
    """The head's certification recorded in Sitthi: who confirmed the attestation, and when."""

    head: str
    on: date


@dataclass(frozen=True)
class Verification:
    """The memo's verification code, and the address that checks it (printed as a QR code)."""

    code: str
    url: str


def _memo_page(title: str, text: dict[str, str], language: str, today: date, names: tuple[str, ...],
               emblem: bytes | None, verification: Verification | None) -> tuple[MemoPDF, _Memo]:
    """The first page of a บันทึกข้อความ, one officer's or a group's: the Garuda at the top left,
    the verification mark at the top right, the title between."""
    pdf = thai_pdf(title, language, today)
    pdf.add_page()
    memo = _Memo(pdf, text, language, names=names)
    if emblem:
        pdf.image(io.BytesIO(emblem), x=LEFT, y=TOP, h=EMBLEM_HEIGHT)
    if verification is not None:
        _verification_mark(pdf, verification, text["verify"])
    pdf.set_font(FONT_FAMILY, "B", TITLE_SIZE)
    pdf.cell(0, 14, text["title"], align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    return pdf, memo


def render_memo(request: AccessRequest, today: date, language: str = "th",
                certification: Certification | None = None, emblem: bytes | None = None,
                verification: Verification | None = None) -> bytes:
    """The request as a filled-in บันทึกข้อความ, ready to print and sign; PDF bytes. `today` is the
    memo's date: the day the request was submitted (the print date only for a draft).

    Once the head has certified in Sitthi the memo says so under the attestation; the signature
    lines stay for offices that still file paper. `emblem` is the Garuda (ตราครุฑ) artwork, PNG or
    JPEG, printed 1.5 cm high at the top left as the สารบรรณ rules set it for a บันทึกข้อความ.
    `verification` prints a QR code of its address at the top right, with the code under it.
    """
    language = "en" if language == "en" else "th"
    text = TEXT[language]
    officer = request.requester
    subject = SUBJECTS[language].get(request.kind, request.kind)
    fmt_date = english_date if language == "en" else long_thai_date

    pdf, memo = _memo_page(f"{text['title']} {subject}", text, language, today, _names_in(request, language),
                           emblem, verification)

    right = pdf.w - RIGHT
    department = _unit_name(request.unit, language)
    if request.contact_mobile:  # a บันทึกข้อความ names the office and a number to call back
        department = f"{department}   {text['tel']} {clean_text(request.contact_mobile)}"
    memo.field(text["department"], department, LEFT, right)
    y = pdf.get_y()
    number = clean_text(request.number) if request.number else text["draft"]
    memo.field(text["number"], number, LEFT, LEFT + memo.width * 0.5 - 2)
    below_number = pdf.get_y()
    pdf.set_y(y)
    memo.field(text["date"], fmt_date(today), LEFT + memo.width * 0.5, right)
    pdf.set_y(max(below_number, pdf.get_y()))
    memo.field(text["subject"], subject, LEFT, right)
    pdf.ln(2)

    to = text["to_central_it"] if request.kind in EXTERNAL_SEARCH_KINDS else text["to_commander"]
    pdf.set_font(FONT_FAMILY, "B", LABEL_SIZE)
    label_w = pdf.get_string_width(text["to"]) + 2 * pdf.c_margin + 2
    pdf.cell(label_w, LINE_HEIGHT, text["to"])
    pdf.set_font(FONT_FAMILY, "", BODY_SIZE)
    pdf.cell(0, LINE_HEIGHT, to, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)

    purpose = subject[0].lower() + subject[1:] if language == "en" else subject
    if request.kind == "temporary_assignment":
        until = fmt_date(request.assignment_until) if request.assignment_until else text["none"]
        purpose += text["assignment"].format(
            unit=_unit_name(request.target_unit, language), until=until)
    elif request.kind == "return_home_unit" and officer is not None:
        purpose += text["return_home"].format(unit=_unit_name(officer.home_unit, language))
    if request.items:
        purpose += text["purpose_items"]
    memo.paragraph(text["intro"].format(
        name=_name(officer, language),
        position=_blank(officer.position_title, text["none"]),
        unit=_unit_name(request.unit, language),
        national_id=officer.national_id_full,
        email=_blank(request.contact_email, text["none"]),
        mobile=_blank(request.contact_mobile, text["none"]),
        purpose=purpose,
    ))

    if request.items:
        pdf.ln(1)
        pdf.set_font(FONT_FAMILY, "", TABLE_SIZE)
        with pdf.table(
            col_widths=(16, 88, 56),
            align="LEFT",
            text_align=("CENTER", "LEFT", "LEFT"),
            line_height=LINE_HEIGHT - 0.5,
        ) as table:
            heading = table.row()
            for label in (text["col_no"], text["col_item"], text["col_group"]):
                heading.cell(label)
            for number_, item in enumerate(request.items, start=1):
                name, group = _item_row(item, text, language)
                row = table.row()
                row.cell(str(number_))
                details = [f"{label}: {value}" for label, value in _item_details(item, text, language)]
                row.cell(_wrapped(pdf, [name, *details], 88 - 2 * pdf.c_margin - 1))
                row.cell(group)
        pdf.ln(2)

    pdf.set_font(FONT_FAMILY, "B", BODY_SIZE)
    pdf.set_x(LEFT + INDENT)
    pdf.cell(0, LINE_HEIGHT, text["duty"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    memo.paragraph(_blank(request.duty_performed, text["none"]))
    if request.duty_mismatch:
        memo.paragraph(text["mismatch"])
    memo.paragraph(text["pledge"])
    memo.paragraph(text["closing"])

    head = request.certifying_head
    memo.keep(SIGNATURE_HEIGHT)
    memo.signature(text["requester"], officer, officer.position_title)
    pdf.ln(4)
    memo.keep(SIGNATURE_HEIGHT + 2 * LINE_HEIGHT)
    memo.paragraph(text["certify"])
    if certification is not None:
        memo.paragraph(text["certified_in_app"].format(head=clean_text(certification.head),
                                                       date=fmt_date(certification.on)))
    memo.signature(text["head"], head, head.position_title if head else None)
    return bytes(pdf.output())


def render_group_memo(group, lines, today: date, language: str = "th",
                      certifications: dict[int, Certification] | None = None, emblem: bytes | None = None,
                      verification: Verification | None = None, draft: bool = False) -> bytes:
    """A group request (แบบกลุ่ม) as one บันทึกข้อความ: the filing unit asks for its officers, every
    officer of `lines` (their requests) in one table with their position, unit, request number and
    what each asks for; then the duty, the pledge, the filer's signature and each certifying
    head's attestation (certified in Sitthi when `certifications` names them, by head officer id).
    PDF bytes; the layout, line breaking and verification mark are render_memo's. A `draft` is the
    memo as it would be filed, printed to be signed before filing: no number yet.
    """
    language = "en" if language == "en" else "th"
    text = TEXT[language]
    subject = SUBJECTS[language].get(group.kind, group.kind) + text["group"]
    fmt_date = english_date if language == "en" else long_thai_date
    officers = [line.requester for line in lines]
    heads = list({line.certifying_head.id: line.certifying_head for line in lines if line.certifying_head}.values())
    people = [group.filer, *officers, *heads]
    names = tuple(dict.fromkeys(filter(None, (
        *(_name(p, language) for p in people), _unit_name(group.unit, language),
        *(_unit_name(line.unit, language) for line in lines)))))

    pdf, memo = _memo_page(f"{text['title']} {subject}", text, language, today, names, emblem, verification)

    right = pdf.w - RIGHT
    department = _unit_name(group.unit, language)
    if group.contact_mobile:
        department = f"{department}   {text['tel']} {clean_text(group.contact_mobile)}"
    memo.field(text["department"], department, LEFT, right)
    y = pdf.get_y()
    memo.field(text["number"], text["draft"] if draft else clean_text(group.number), LEFT,
               LEFT + memo.width * 0.5 - 2)
    below_number = pdf.get_y()
    pdf.set_y(y)
    memo.field(text["date"], fmt_date(today), LEFT + memo.width * 0.5, right)
    pdf.set_y(max(below_number, pdf.get_y()))
    memo.field(text["subject"], subject, LEFT, right)
    pdf.ln(2)

    to = text["to_central_it"] if group.kind in EXTERNAL_SEARCH_KINDS else text["to_commander"]
    pdf.set_font(FONT_FAMILY, "B", LABEL_SIZE)
    pdf.cell(pdf.get_string_width(text["to"]) + 2 * pdf.c_margin + 2, LINE_HEIGHT, text["to"])
    pdf.set_font(FONT_FAMILY, "", BODY_SIZE)
    pdf.cell(0, LINE_HEIGHT, to, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)

    purpose = SUBJECTS[language].get(group.kind, group.kind)
    memo.paragraph(text["group_intro"].format(
        unit=_unit_name(group.unit, language), purpose=purpose[0].lower() + purpose[1:] if language == "en" else purpose,
        count=len(lines), email=_blank(group.contact_email, text["none"]),
        mobile=_blank(group.contact_mobile, text["none"])))
    pdf.ln(1)
    pdf.set_font(FONT_FAMILY, "", TABLE_SIZE - 1)
    with pdf.table(col_widths=(12, 36, 38, 28, 46), align="LEFT",
                   text_align=("CENTER", "LEFT", "LEFT", "LEFT", "LEFT"),
                   line_height=LINE_HEIGHT - 1) as table:
        heading = table.row()
        for label in (text["col_no"], text["col_officer"], text["col_position"], text["col_request"],
                      text["col_item"]):
            heading.cell(label)
        for number_, line in enumerate(lines, start=1):
            officer = line.requester
            asked = []
            for item in line.items:
                name, rank_group = _item_row(item, text, language)
                asked.append(name if rank_group == text["none"] else f"{name} ({rank_group})")
            row = table.row()
            row.cell(str(number_))
            row.cell(_name(officer, language))
            row.cell(f"{_blank(officer.position_title, text['none'])} / {_unit_name(line.unit, language)}")
            row.cell(clean_text(line.number) if line.number else text["none"])
            row.cell("\n".join(asked) or text["no_items"])
    pdf.ln(2)
    # The fields and answers are the group's, the same on every line: printed once, per source.
    shared: dict[int, RequestItem] = {}
    for line in lines:
        for item in line.items:
            if item.data_source_id is not None and (item.fields or item.answers):
                shared.setdefault(item.data_source_id, item)
    if shared:
        pdf.set_font(FONT_FAMILY, "B", BODY_SIZE)
        pdf.set_x(LEFT + INDENT)
        pdf.cell(0, LINE_HEIGHT, text["justification"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT_FAMILY, "", BODY_SIZE)
        for item in shared.values():
            details = "; ".join(f"{label}: {value}" for label, value in _item_details(item, text, language))
            memo.paragraph(f"{_item_row(item, text, language)[0]} ({details})")

    pdf.set_font(FONT_FAMILY, "B", BODY_SIZE)
    pdf.set_x(LEFT + INDENT)
    pdf.cell(0, LINE_HEIGHT, text["duty"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    memo.paragraph(_blank(group.duty_performed, text["none"]))
    memo.paragraph(text["pledge"])
    memo.paragraph(text["closing"])
    memo.keep(SIGNATURE_HEIGHT)
    memo.signature(text["filer"], group.filer, group.filer.position_title)
    certifications = certifications or {}
    for head in heads:
        pdf.ln(4)
        memo.keep(SIGNATURE_HEIGHT + 2 * LINE_HEIGHT)
        memo.paragraph(text["certify"])
        certified = certifications.get(head.id)
        if certified is not None:
            memo.paragraph(text["certified_in_app"].format(head=clean_text(certified.head),
                                                           date=fmt_date(certified.on)))
        memo.signature(text["head"], head, head.position_title)
    return bytes(pdf.output())


def _verification_mark(pdf: FPDF, verification: Verification, label: str) -> None:
    """A QR code of the checking address at the top right, the code in print under it (for who
    types it rather than scans it); the cursor is left where it was."""
    x, y = pdf.get_x(), pdf.get_y()
    picture = io.BytesIO()
    segno.make(verification.url, error="m").save(picture, kind="png", scale=6, border=1)
    left = pdf.w - RIGHT - QR_SIZE
    pdf.image(io.BytesIO(picture.getvalue()), x=left, y=TOP - 8, w=QR_SIZE, h=QR_SIZE)
    pdf.set_font(FONT_FAMILY, "", QR_TEXT_SIZE)
    pdf.set_xy(left - 12, TOP - 8 + QR_SIZE)
    pdf.cell(QR_SIZE + 12, 3.5, label, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.cell(QR_SIZE + 12, 3.5, verification.code, align="C")
    pdf.set_xy(x, y)


CERTIFICATE_TEXT = {
    "th": {"title": "หนังสือรับรองสิทธิ์", "officer": "ผู้ได้รับสิทธิ์", "position": "ตำแหน่ง", "unit": "สังกัด",
           "right": "สิทธิ์", "group": "ระดับชั้นยศ", "state": "สถานะเมื่อพิมพ์", "from": "มีผลตั้งแต่",
           "until": "สิ้นสุด", "request": "ตามคำขอเลขที่", "command": "หน่วยที่ดูแลสิทธิ์", "printed": "พิมพ์เมื่อ",
           "verify": "รหัสตรวจสอบ", "none": "-",
           "note": "สิทธิ์อาจถูกระงับ เพิกถอน หรือสิ้นสุดหลังวันที่พิมพ์ ตรวจสอบสถานะปัจจุบันได้ด้วยคิวอาร์โค้ดหรือรหัสตรวจสอบ"},
    "en": {"title": "Permission certificate", "officer": "Holder", "position": "Position", "unit": "Unit",
           "right": "Permission", "group": "Rank group", "state": "State when printed", "from": "Valid from",
           "until": "Valid until", "request": "Granted on request", "command": "Administered by", "printed": "Printed on",
           "verify": "Verification code", "none": "-",
           "note": "A permission may be suspended, revoked or end after this was printed: check its state now with the QR code or the verification code."},
}


def render_grant_certificate(grant, state_label: str, today: date, language: str = "th",
                             verification: Verification | None = None) -> bytes:
    """One permission on paper, for an office that files it: who holds what, until when, under
    which request, with the code and QR code that tell its state at any later time; PDF bytes.
    `state_label` is the state in the reader's words."""
    language = "en" if language == "en" else "th"
    text = CERTIFICATE_TEXT[language]
    fmt_date = english_date if language == "en" else long_thai_date
    pdf = thai_pdf(text["title"], language, today)
    pdf.add_page()
    memo = _Memo(pdf, TEXT[language], language, names=())
    if verification is not None:
        _verification_mark(pdf, verification, text["verify"])
    pdf.set_font(FONT_FAMILY, "B", TITLE_SIZE)
    pdf.cell(0, 14, text["title"], align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(8)
    officer, right = grant.officer, grant.data_source or grant.function
    english = language == "en"
    rows = [
        (text["officer"], _name(officer, language)),
        (text["position"], _blank(officer.position_title, text["none"])),
        (text["unit"], _unit_name(officer.home_unit, language)),
        (text["right"], clean_text((right.name_en if english and right.name_en else right.name_th) if right else text["none"])),
        (text["group"], clean_text((grant.rank_group.name_en if english else grant.rank_group.name_th)
                                   if grant.rank_group else text["none"])),
        (text["state"], clean_text(state_label)),
        (text["from"], fmt_date(grant.valid_from)),
        (text["until"], fmt_date(grant.valid_until) if grant.valid_until else text["none"]),
        (text["request"], clean_text(grant.request.number) if grant.request and grant.request.number else text["none"]),
        (text["command"], _unit_name(grant.command, language) if grant.command else text["none"]),
        (text["printed"], fmt_date(today)),
    ]
    if grant.request_item is not None:  # the fields and the justification the right was granted for
        rows[4:4] = _item_details(grant.request_item, TEXT[language], language)
    right_edge = pdf.w - RIGHT
    for label, value in rows:
        memo.field(label, value, LEFT, right_edge)
    pdf.ln(6)
    memo.paragraph(text["note"], indent=0)
    return bytes(pdf.output())

