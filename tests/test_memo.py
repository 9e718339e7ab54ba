"""The request printed as a prefilled บันทึกข้อความ (Thai official memo) PDF."""
import ast
import io
import re
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.formatting import thai_date as app_thai_date
from app.models import DataSource, RankGroup, RequestItem
from app.services import memo
from app.services.reference_data import CHAINS
from tests.factories import make_officer, make_request, make_unit

TODAY = date(2026, 11, 22)


def _text(pdf: bytes) -> str:
    """The PDF's text as pypdf reads it back, ำ put together again (the memo draws it as ํ + า)."""
    raw = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    # Every glyph maps back to text: no stray codes after a decomposed vowel.
    assert not [ch for ch in raw if unicodedata.category(ch) == "Cc" and ch != "\n"], raw
    return memo.recompose_sara_am(raw)


def _fonts(pdf: bytes) -> dict[str, bool]:
    """BaseFont name -> whether the font program is embedded, over every page."""
    fonts = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            fonts[str(font["/BaseFont"])] = "/FontFile2" in descriptor
    return fonts


@pytest.fixture()
def civil_request(db_session):
    unit = make_unit(db_session)
    unit.name_th = "สถานีตำรวจภูธรเมืองทดสอบ"
    requester = make_officer(db_session, unit, first_name_th="สมชาย", last_name_th="ใจดี",
                             position_title="รองสารวัตร (สอบสวน)")
    head = make_officer(db_session, unit, rank_abbr="พ.ต.อ.", position_title="ผู้กำกับการ")
    request = make_request(db_session, requester, source_code="civil_registration",
                           number="2569/987012", certifying_head=head, duty_mismatch=True,
                           contact_email="somchai@police.example", contact_mobile="0812345678",
                           duty_performed="สืบสวนคดีอาญา ตรวจสอบประวัติบุคคลที่เกี่ยวข้องกับคดี")
    civil = request.items[0]
    civil.rank_group = db_session.scalar(select(RankGroup).where(RankGroup.number == 1))
    civil.above_own_rank = True
    vehicles = db_session.scalar(select(DataSource).where(DataSource.code == "vehicles"))
    db_session.add(RequestItem(request=request, data_source=vehicles))
    db_session.flush()
    assert len(request.items) == 2
    return request


def test_memo_is_a_thai_pdf_with_the_request_filled_in(civil_request):
    pdf = memo.render_memo(civil_request, TODAY)

    assert pdf.startswith(b"%PDF")
    text = _text(pdf)
    for expected in (
        "บันทึกข้อความ",
        "2569/987012",
        "ร.ต.อ.สมชาย ใจดี",
        f"22 พฤศจิกายน {TODAY.year + 543}",
        "ขอสิทธิ์สืบค้นข้อมูลหน่วยงานภายนอก",
        "ผอ.ศทก.",
        "สถานีตำรวจภูธรเมืองทดสอบ",
        civil_request.requester.national_id_full,
        "somchai@police.example",
        "ทะเบียนราษฎร",
        "ยานพาหนะ",
        "(สูงกว่ายศของตน)",
        "ไม่ตรงตามเลขตำแหน่งและสายงาน",
        "(ลงชื่อ)",
        f"({civil_request.certifying_head})",
    ):
        assert expected in text, expected
    fonts = _fonts(pdf)
    names = {name.lstrip("/").split("+")[-1] for name in fonts}  # subset tag: /ABCDEF+Sarabun
    assert "Sarabun" in names, fonts
    assert any(name.startswith("Sarabun") and "Bold" in name for name in names), fonts
    assert all(fonts.values()), "every font is embedded"


def _copied(pdf: bytes) -> str:
    """The PDF's text as Chrome's viewer (PDFium) gives it to a copy or a search."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def test_copied_text_is_the_thai_that_was_written(civil_request):
    """Marks HarfBuzz placed with offsets (่ ิ ี ้) and ำ come back in their words, as typed: each
    line carries its text as /ActualText. Before, PDFium gave "แหงชาต ่ ิ" and "ตํารวจ"."""
    civil_request.duty_performed = "ตรวจสอบประวัติผู้ต้องหาที่เกี่ยวข้องกับคดีน้ำมันเถื่อน สำนักงานตำรวจแห่งชาติ"
    copied = _copied(memo.render_memo(civil_request, TODAY))
    for written in ("บันทึกข้อความ", "สถานีตำรวจภูธรเมืองทดสอบ", "ไม่ตรงตามเลขตำแหน่งและสายงาน",
                    "ร.ต.อ.สมชาย ใจดี", "ผู้ต้องหาที่เกี่ยวข้องกับคดีน้ำมันเถื่อน", "สำนักงานตำรวจแห่งชาติ",
                    "ทะเบียนราษฎร", "(ลงชื่อ)"):
        assert written in copied, (written, copied)
    assert "\u0e4d" not in copied  # no ำ left in halves
    assert not [ch for ch in copied if unicodedata.category(ch) == "Cc" and ch not in "\r\n"], copied


def test_the_memo_names_each_items_data_fields_and_justification(db_session, civil_request):
    """What the Linkage Center judges a search by goes on paper with it: the fields asked for and
    the answers to the source's questions, a date in the reader's calendar."""
    from app.models import DataField, ItemAnswer, JustificationQuestion

    civil = civil_request.items[0]
    source = civil.data_source
    civil.fields = [DataField(data_source=source, code=f"memo_{n}", name_th=name_th, name_en=name_en, position=n)
                    for n, (name_th, name_en) in enumerate((("ที่อยู่ตามทะเบียนบ้าน", "Registered address"),
                                                            ("ภาพใบหน้า", "Face photo")), start=1)]
    asked = JustificationQuestion(data_source=source, label_th="วันที่รับแจ้งความ", label_en="Date the case was filed",
                                  answer_kind="date", required=True, max_length=10, position=1)
    civil.answers = [ItemAnswer(question=asked, label_th=asked.label_th, label_en=asked.label_en, value="2026-11-20"),
                     ItemAnswer(label_th="เลขคดี", label_en="Case number", value="123/2569")]
    db_session.flush()

    thai = _copied(memo.render_memo(civil_request, TODAY))
    assert "ข้อมูลที่ขอ: ที่อยู่ตามทะเบียนบ้าน, ภาพใบหน้า" in thai.replace("\r\n", " "), thai
    assert f"วันที่รับแจ้งความ: 20 พฤศจิกายน {2026 + 543}" in thai, thai
    assert "เลขคดี: 123/2569" in thai
    english = _copied(memo.render_memo(civil_request, TODAY, language="en"))
    assert "Data fields: Registered address, Face photo" in english.replace("\r\n", " "), english
    assert "Date the case was filed: 20 November 2026" in english, english

    # The permission certificate names what the right was granted for, too.
    from tests.factories import make_grant

    grant = make_grant(db_session, civil_request.requester, "civil_registration")
    grant.request_item = civil
    db_session.flush()
    certificate = _copied(memo.render_grant_certificate(grant, "ใช้งานได้", TODAY))
    assert "ที่อยู่ตามทะเบียนบ้าน, ภาพใบหน้า" in certificate and "123/2569" in certificate, certificate


def test_long_duty_text_flows_onto_more_pages_and_stays_plain_text(db_session):
    unit = make_unit(db_session)
    request = make_request(db_session, make_officer(db_session, unit), number=None,
                           kind="additional_functions")
    sentence = "ปฏิบัติหน้าที่สืบสวนสอบสวนคดีอาญาและตรวจสอบข้อมูลยานพาหนะ "
    request.duty_performed = ("<script>alert('x')</script> **not bold** " + sentence * 100)[:5000]
    assert len(request.duty_performed) == 5000

    pdf = memo.render_memo(request, TODAY)

    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    text = _text(pdf)
    assert "<script>alert('x')</script> **not bold**" in text
    assert "(ร่าง)" in text  # no running number yet
    assert "ผู้บังคับการ" in text
    # nothing was cut (lines now break between any two words of the repeated phrase)
    assert re.sub(r"\s+", "", text).count("ปฏิบัติหน้าที่สืบสวนสอบสวนคดีอาญา") >= 60
    # No certifying head named yet: a dotted line to fill in by hand.
    assert "(" + memo.DOTS + ")" in text


def test_lines_never_start_with_a_loose_thai_mark():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("Sarabun", "", str(memo.FONT_DIR / "Sarabun-Regular.ttf"))
    pdf.set_text_shaping(True)
    pdf.set_font("Sarabun", "", 13)
    for text in ("ก่ำ" * 200, "เก้าสิบเก้า" * 60, "ข้าพเจ้าปฏิบัติหน้าที่ " * 30, "x" * 400):
        lines = memo.wrap(pdf, text, 80)
        assert len(lines) > 1
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        for line in lines:
            assert pdf.get_string_width(line) <= 80
            assert not unicodedata.combining(line[0]) and line[0] not in "ะาำ"
            assert line[-1] not in "เแโใไ"
    assert "ข้าพเจ้า" in " ".join(memo.wrap(pdf, "ข้าพเจ้า" * 30, 60))


def test_lines_break_between_words_never_inside_a_word_an_abbreviation_or_a_name():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("Sarabun", "", str(memo.FONT_DIR / "Sarabun-Regular.ttf"))
    pdf.set_text_shaping(True)
    pdf.set_font("Sarabun", "", 13)
    paragraph = ("ด้วยข้าพเจ้า ร.ต.อ.ณัฐวุฒิ ศรีสวัสดิ์ ตำแหน่ง รอง สว.(สืบสวน) สังกัดสถานีตำรวจภูธรเมืองขอนแก่น "
                 "สภ.เมืองขอนแก่น มีความประสงค์ขอสิทธิ์สืบค้นข้อมูลทะเบียนราษฎรเพื่อประโยชน์ในการสืบสวนสอบสวน")
    names = ("ร.ต.อ.ณัฐวุฒิ ศรีสวัสดิ์", "สภ.เมืองขอนแก่น")
    whole = ("ตำรวจ", "ขอนแก่น", "ประสงค์", "ทะเบียน", "ราษฎร", "สืบสวน", "ข้อมูล", "ประโยชน์", "สถานี")
    for width in range(50, 160, 3):  # the memo's narrowest column is 56 mm
        lines = memo.wrap(pdf, paragraph, width, keep=names)
        assert "".join(lines).replace(" ", "") == paragraph.replace(" ", "")
        for line, following in zip(lines, lines[1:], strict=False):
            assert not line.endswith("."), (width, line)  # สภ.|เมือง: the abbreviation keeps its word
            for word in whole + names:
                joined = line + following
                at = joined.find(word, max(0, len(line) - len(word) + 1))
                assert not (0 <= at < len(line) < at + len(word)), (width, word, line, following)


def test_sara_am_is_drawn_decomposed_and_read_back_whole():
    assert memo.decompose_sara_am("น้ำตำรวจ") == "น\u0e4d\u0e49\u0e32ต\u0e4d\u0e32รวจ"
    assert memo.recompose_sara_am(memo.decompose_sara_am("น้ำตำรวจ")) == "น้ำตำรวจ"


def test_subjects_and_dates_follow_the_reference_data():
    for kind, name_th, _name_en, _stages in CHAINS:
        assert name_th in memo.SUBJECTS["th"][kind]
    assert memo.long_thai_date(TODAY) == "22 พฤศจิกายน 2569" == app_thai_date(TODAY, "long")


def test_memo_service_is_flask_free_and_ships_its_fonts():
    source = Path(memo.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert not any(name.split(".")[0].startswith("flask") for name in imported), imported
    for filename in (*memo.FONT_FILES.values(), "OFL.txt"):
        assert (memo.FONT_DIR / filename).is_file(), filename
    assert "SIL Open Font License" in (memo.FONT_DIR / "OFL.txt").read_text(encoding="utf-8")


def test_the_memo_names_each_items_agency_and_a_number_to_call(civil_request):
    text = _text(memo.render_memo(civil_request, TODAY))
    assert "โทร. 0812345678" in text
    assert "ทะเบียนราษฎร (กรมการปกครอง)" in text
    assert "ยานพาหนะ (กรมการขนส่งทางบก)" in text


def test_the_memo_is_dated_the_day_the_request_was_submitted(app, login):
    from datetime import UTC, timedelta

    from app.extensions import db
    from app.models import Unit
    from tests.conftest import TEST_NOW

    submitted = TEST_NOW.astimezone(UTC) - timedelta(days=12)
    with app.app_context():
        station = db.session.scalar(select(Unit).where(Unit.code == "KKN-MUEANG"))
        request = make_request(db.session, make_officer(db.session, station), submitted_at=submitted)
        db.session.commit()
        pk = request.id
    text = _text(login("centralit").get(f"/requests/memo/{pk}").data)
    assert memo.long_thai_date(submitted.astimezone(TEST_NOW.tzinfo).date()) in text
    assert memo.long_thai_date(TEST_NOW.date()) not in text


def test_the_memo_prints_the_garuda_the_force_supplies(civil_request):
    from PIL import Image

    artwork = io.BytesIO()
    Image.new("RGB", (120, 150), (0, 0, 0)).save(artwork, format="PNG")
    with_emblem = PdfReader(io.BytesIO(memo.render_memo(civil_request, TODAY, emblem=artwork.getvalue())))
    without = PdfReader(io.BytesIO(memo.render_memo(civil_request, TODAY)))
    assert len(with_emblem.pages[0].images) == 1 and not without.pages[0].images


def test_the_memo_screen_prints_the_emblem_file_the_operator_set(app, login, tmp_path):
    from PIL import Image

    from app.extensions import db
    from app.models import Unit

    with app.app_context():
        station = db.session.scalar(select(Unit).where(Unit.code == "KKN-MUEANG"))
        pk = make_request(db.session, make_officer(db.session, station)).id
        db.session.commit()
    centralit = login("centralit")
    shipped = app.config["MEMO_EMBLEM"]
    # Out of the box: the black Garuda shipped with Sitthi.
    printed = PdfReader(io.BytesIO(centralit.get(f"/requests/memo/{pk}").data))
    [garuda] = printed.pages[0].images
    assert garuda.image.size == Image.open(shipped).size == (395, 420)
    Image.new("RGB", (120, 150), (0, 0, 0)).save(tmp_path / "garuda.png")
    app.config["MEMO_EMBLEM"] = str(tmp_path / "garuda.png")
    try:
        printed = PdfReader(io.BytesIO(centralit.get(f"/requests/memo/{pk}").data))
        assert [image.image.size for image in printed.pages[0].images] == [(120, 150)]
        app.config["MEMO_EMBLEM"] = str(tmp_path / "missing.png")  # unreadable: printed without it
        printed = PdfReader(io.BytesIO(centralit.get(f"/requests/memo/{pk}").data))
        assert not printed.pages[0].images
    finally:
        app.config["MEMO_EMBLEM"] = shipped
