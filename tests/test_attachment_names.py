"""Documents keep the names their owners gave them (Thai included), made harmless; a refused file
is named at its field and nothing the user typed or chose is dropped without saying so.
"""
import base64
import io
import re
import unicodedata
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AccessRequest, Attachment, DataSource
from app.services.attachments import MAX_NAME_CHARS, safe_filename
from tests.conftest import ApiUser
from tests.factories import PDF

NOT_A_DOCUMENT = b"<html><script>alert(1)</script></html>"
MEMO_TH = "บันทึกข้อความ.pdf"
# ผู้บังคับบัญชา with the tone mark (MAI THO) typed before the vowel (SARA UU): NFC reorders them.
OUT_OF_ORDER = "\u0e1c\u0e49\u0e39บังคับบัญชา.pdf"
IN_ORDER = "\u0e1c\u0e39\u0e49บังคับบัญชา.pdf"
HEADER_SYNTAX = set("\"';:<>|?*%\\/")


def _is_harmless(name: str) -> bool:
    return (not any(unicodedata.category(c).startswith("C") for c in name)
            and not HEADER_SYNTAX & set(name) and not name.startswith(".")
            and len(name) <= MAX_NAME_CHARS and unicodedata.is_normalized("NFC", name))


# -- the name itself ---------------------------------------------------------------------------

@pytest.mark.parametrize("given, stored", [
    (MEMO_TH, MEMO_TH),
    ("สำเนาบัตรประจำตัวเจ้าหน้าที่ของรัฐ.PDF", "สำเนาบัตรประจำตัวเจ้าหน้าที่ของรัฐ.pdf"),
    ("หนังสือรับรอง (ฉบับแก้ไข) ครั้งที่ 2.pdf", "หนังสือรับรอง (ฉบับแก้ไข) ครั้งที่ 2.pdf"),
    (OUT_OF_ORDER, IN_ORDER),
    ("re\u0301sume\u0301.pdf", "résumé.pdf"),
    ("../../etc/passwd", "passwd.pdf"),
    ("a\\b.pdf", "b.pdf"),
    ("C:\\Users\\สมชาย\\Desktop\\บันทึก.pdf", "บันทึก.pdf"),
    ('say "hi"; filename=evil.exe', "say _hi__ filename=evil.pdf"),
    ("a\r\nContent-Type: text/html\r\n.pdf", "html.pdf"),  # after the last slash only
    ("a\r\nb.pdf", "a b.pdf"),
    ("nul\x00byte.pdf", "nulbyte.pdf"),
    ("invoice\u202efdp.exe", "invoicefdp.pdf"),
    ("   ...   ", "file.pdf"),
    ("", "file.pdf"),
])
def test_a_name_keeps_its_words_and_loses_only_what_is_unsafe(given, stored):
    assert safe_filename(given, ".pdf") == stored
    assert _is_harmless(stored)


def test_a_long_name_is_cut_by_characters_keeping_the_extension_and_whole_thai_syllables():
    latin = safe_filename("x" * 1000 + ".pdf", ".pdf")
    assert latin == "x" * (MAX_NAME_CHARS - 4) + ".pdf"
    # Each "กิ่" is a consonant with a vowel and a tone mark above it: three characters, one syllable.
    thai = safe_filename("กิ่" * 400 + ".pdf", ".pdf")
    assert len(thai) <= MAX_NAME_CHARS and thai.endswith(".pdf")
    assert thai[:-4] == "กิ่" * ((MAX_NAME_CHARS - 4) // 3)


# -- through the screen and back ---------------------------------------------------------------

def _upload(officer, files: dict, **fields):
    """Save a draft from the request form with these files ({field: (name, bytes)})."""
    url = "/requests/new/external_search"
    data = {"csrf_token": officer.csrf_token(url), "contact_email": "me@police.example", "save_draft": "1",
            **fields}
    data.update({field: (io.BytesIO(content), name) for field, (name, content) in files.items()})
    return officer.post(url, data=data, content_type="multipart/form-data")


def _raw_upload(officer, quoted_name: bytes):
    """A browser's own multipart body: the name in UTF-8, quotes sent as %22 (the HTML standard)."""
    url = "/requests/new/external_search"
    token = officer.csrf_token(url)
    boundary = b"----sitthi-test-boundary"
    body = b"".join([
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n' + token.encode() + b"\r\n",
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="contact_email"\r\n\r\nme@police.example\r\n',
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="upload_memo"; filename="' + quoted_name
        + b'"\r\nContent-Type: application/pdf\r\n\r\n' + PDF + b"\r\n",
        b"--" + boundary + b"--\r\n",
    ])
    return officer.post(url, data=body, content_type="multipart/form-data; boundary=" + boundary.decode())


def _newest_attachment(app) -> Attachment:
    with app.app_context():
        return db.session.scalars(select(Attachment).order_by(Attachment.id.desc())).first()


def _downloaded_name(officer, attachment_id: int) -> str:
    response = officer.get(f"/requests/file/{attachment_id}")
    assert response.status_code == 200
    header = response.headers["Content-Disposition"]
    assert "\r" not in header and "\n" not in header
    match = re.fullmatch(r"attachment; filename\*=UTF-8''([A-Za-z0-9%._~-]+)", header)
    assert match, header
    return unquote(match.group(1), encoding="utf-8", errors="strict")


@pytest.mark.parametrize("given, stored", [
    (MEMO_TH, MEMO_TH),
    (OUT_OF_ORDER, IN_ORDER),
    (unicodedata.normalize("NFD", "ใบรับรองการปฏิบัติหน้าที่ ร.ต.อ.สมชาย.pdf"), "ใบรับรองการปฏิบัติหน้าที่ ร.ต.อ.สมชาย.pdf"),
])
def test_a_thai_name_comes_back_on_download_as_it_was_given(app, login, given, stored):
    officer = login("officer")
    assert _upload(officer, {"upload_memo": (given, PDF)}).status_code == 302
    attachment = _newest_attachment(app)
    assert attachment.filename == stored
    assert _downloaded_name(officer, attachment.id) == stored
    # The request page lists it by that name too.
    page = officer.get(f"/requests/show/{attachment.request_id}").get_data(as_text=True)
    assert stored in page


@pytest.mark.parametrize("quoted_name, stored", [
    ('รายงาน %22ด่วน%22; ครั้งที่ 1.pdf'.encode(), "รายงาน _ด่วน__ ครั้งที่ 1.pdf"),
    (("ก" * 1000 + ".pdf").encode(), "ก" * (MAX_NAME_CHARS - 4) + ".pdf"),
])
def test_hostile_names_from_a_browser_are_made_safe(app, login, quoted_name, stored):
    officer = login("officer")
    assert _raw_upload(officer, quoted_name).status_code == 302
    attachment = _newest_attachment(app)
    assert attachment.filename == stored and _is_harmless(stored)
    assert _downloaded_name(officer, attachment.id) == stored


def _api_memo(app, api_tokens, filename: str):
    """A search request sent through the API with one memo of this name."""
    api = ApiUser(app.test_client(), api_tokens("officer"))
    return api.post("/api/v1/requests/?_l_=en", json={
        "kind": "external_search", "contact_email": "me@police.example", "contact_mobile": "0812345678",
        "duty_performed": "สืบสวน", "sources": [{"data_source_id": _vehicles(app)}],
        "attachments": [{"kind": "memo", "filename": filename, "content_base64": base64.b64encode(PDF).decode()}]})


@pytest.mark.parametrize("given, stored", [
    ('x"; filename="evil.exe', "x__ filename=_evil.pdf"),
])
def test_hostile_names_through_the_api_are_made_safe(app, login, api_tokens, given, stored):
    response = _api_memo(app, api_tokens, given)
    assert response.status_code == 201, response.get_json()
    [attachment] = response.get_json()["attachments"]
    assert attachment["filename"] == stored and _is_harmless(stored)
    assert _downloaded_name(login("officer"), attachment["id"]) == stored


@pytest.mark.parametrize("given", ["a\r\nb.pdf", "..\\..\\windows\\win.ini", "\u202egpj.exe", "../../etc/passwd"])
def test_a_name_with_a_path_or_controls_is_refused_with_the_reason(app, login, api_tokens, given):
    """Traversal and control characters (line breaks, a right-to-left override that makes
    "gpj.exe" read as "exe.jpg") are refused, on the screen and through the API; nothing is kept."""
    before = _counts(app)
    if "\r" not in given and "\\" not in given:  # a multipart body cannot carry these two as they are
        response = _upload(login("officer"), {"upload_memo": (given, PDF)})
        assert response.status_code == 400
        assert "โฟลเดอร์หรืออักขระควบคุม" in response.get_data(as_text=True)
    response = _api_memo(app, api_tokens, given)
    assert response.status_code == 400 and "folder path or control characters" in response.get_json()["message"]
    assert _counts(app) == before


def test_a_nul_byte_in_a_name_through_the_api_is_refused_where_it_enters(app, api_tokens):
    """PostgreSQL refuses NUL in text: the input guard stops it with a 400 before anything is saved."""
    api = ApiUser(app.test_client(), api_tokens("officer"))
    before = _counts(app)
    response = api.post("/api/v1/requests/?_l_=en", json={
        "kind": "external_search", "contact_email": "me@police.example", "contact_mobile": "0812345678",
        "duty_performed": "สืบสวน", "sources": [{"data_source_id": _vehicles(app)}],
        "attachments": [{"kind": "memo", "filename": "nul\x00byte.pdf",
                         "content_base64": base64.b64encode(PDF).decode()}]})
    assert response.status_code == 400
    assert response.get_json()["field"] == "attachments.0.filename"
    assert _counts(app) == before


# -- a refused file --------------------------------------------------------------------------

def _counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count(AccessRequest.id))),
                db.session.scalar(select(func.count(Attachment.id))))


def _vehicles(app) -> int:
    with app.app_context():
        return db.session.scalar(select(DataSource.id).where(DataSource.code == "vehicles"))


def _field_block(html: str, field: str) -> str:
    """The form group of one upload field."""
    start = html.index(f'name="{field}"')
    return html[html.rindex('<div class="form-group', 0, start):html.index("</div>", start)]


def test_a_refused_file_is_named_at_its_field_and_nothing_typed_or_chosen_is_lost(app, login):
    officer = login("officer")
    officer.get("/lang/en")
    before = _counts(app)
    vehicles = _vehicles(app)

    response = _upload(officer, {"upload_memo": ("บันทึก.pdf", PDF), "upload_id_card_copy": ("บัตร.jpg", NOT_A_DOCUMENT),
                                 "upload_other": ("ว่าง.pdf", b"")},
                       contact_mobile="0812345678", duty_performed="สืบสวนคดียาเสพติด", source=str(vehicles))

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    # Why each refused file was refused, at its own field, by its name.
    assert "Only PDF and JPEG files are accepted, and บัตร.jpg is neither." in _field_block(html, "upload_id_card_copy")
    assert "ว่าง.pdf is empty." in _field_block(html, "upload_other")
    # The good file was not kept either, and the form says so where it was chosen.
    assert "บันทึก.pdf was not saved: choose it again." in _field_block(html, "upload_memo")
    assert "Nothing was saved" in html
    # Everything typed and ticked is still there.
    assert 'value="0812345678"' in html and "สืบสวนคดียาเสพติด" in html
    assert re.search(rf'value="{vehicles}" id="source-vehicles"\s+checked', html)
    assert _counts(app) == before  # nothing half-saved: no request, no attachment


def test_a_refused_file_keeps_the_documents_marked_for_removal_marked(app, login):
    officer = login("officer")
    assert _upload(officer, {"upload_memo": ("เดิม.pdf", PDF)}).status_code == 302
    kept = _newest_attachment(app)
    url = f"/requests/edit/{kept.request_id}"
    with app.app_context():
        version = db.session.get(AccessRequest, kept.request_id).version
    response = officer.post(url, data={
        "csrf_token": officer.csrf_token(url), "contact_email": "me@police.example", "version": str(version),
        "remove_attachment": str(kept.id), "upload_other": (io.BytesIO(NOT_A_DOCUMENT), "ปลอม.pdf"),
    }, content_type="multipart/form-data")

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert re.search(rf'name="remove_attachment" value="{kept.id}"\s*checked', html)
    assert "ปลอม.pdf" in _field_block(html, "upload_other")
    with app.app_context():
        assert db.session.get(Attachment, kept.id) is not None  # the removal was not saved either


def test_a_form_refused_for_another_field_says_the_chosen_files_were_not_kept(app, login):
    officer = login("officer")
    officer.get("/lang/en")
    before = _counts(app)

    response = _upload(officer, {"upload_memo": ("บันทึก.pdf", PDF)}, contact_mobile="0" * 40)

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Nothing was saved" in html
    assert "บันทึก.pdf was not saved: choose it again." in _field_block(html, "upload_memo")
    assert _counts(app) == before


def test_the_api_names_every_refused_file(app, api_tokens):
    api = ApiUser(app.test_client(), api_tokens("officer"))
    before = _counts(app)
    response = api.post("/api/v1/requests/?_l_=en", json={
        "kind": "external_search", "contact_email": "me@police.example", "contact_mobile": "0812345678",
        "duty_performed": "สืบสวน", "sources": [{"data_source_id": _vehicles(app)}],
        "attachments": [
            {"kind": "memo", "filename": "ดี.pdf", "content_base64": base64.b64encode(PDF).decode()},
            {"kind": "id_card_copy", "filename": "บัตร.jpg", "content_base64": base64.b64encode(NOT_A_DOCUMENT).decode()},
            {"kind": "other", "filename": "รูป.jpg", "content_base64": base64.b64encode(NOT_A_DOCUMENT).decode()},
        ]})
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["field"] == "attachments"
    assert "บัตร.jpg is neither" in body["message"] and "รูป.jpg is neither" in body["message"]
    assert "ดี.pdf" not in body["message"]
    assert _counts(app) == before
