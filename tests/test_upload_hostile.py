"""Uploads are judged whole: the hostile set is refused with its reason, on the screen and through
the API, and nothing is kept; a photo that is accepted is kept without its metadata."""
import base64
import io

import pytest
from PIL import Image
from pypdf import PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import DictionaryObject, NameObject, TextStringObject
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, DataSource
from tests.conftest import ApiUser
from tests.factories import JPEG, PDF


def _pdf_with(change) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _launch(writer: PdfWriter) -> None:
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject({
        NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")})


def _photo_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), (10, 120, 60))
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"          # Make
    exif[0x8825] = {2: (13.0, 45.0, 0.0)}  # GPS: latitude
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


HOSTILE = [
    # (file name, content, what the Thai message says, what the English one says)
    ("photo.jpg", b"\xff\xd8\xff\xe0" + b"<html><script>alert(1)</script></html>", "ไม่ใช่ภาพ JPEG ที่อ่านได้",
     "not a readable JPEG"),
    ("photo.jpg", JPEG + b"<html><script>alert(1)</script></html>", "ข้อมูลอื่นต่อท้าย", "more data after the end"),
    ("memo.pdf", PDF + b"\n<html><script>alert(1)</script></html>", "ข้อมูลอื่นต่อท้าย", "more data after the end"),
    ("memo.pdf", PDF[: len(PDF) // 2], "ไม่ใช่ไฟล์ PDF ที่อ่านได้", "not a readable PDF"),
    ("photo.jpg", JPEG[: len(JPEG) // 2], "ไม่ใช่ภาพ JPEG ที่อ่านได้", "not a readable JPEG"),
    ("memo.pdf", b"MZ\x90\x00 an executable", "รับเฉพาะไฟล์ PDF และ JPEG", "Only PDF and JPEG files"),
    ("memo.pdf", b"", "ว่างเปล่า", "is empty"),
    ("memo.pdf", b"%PDF-1.7\n" + b"0" * (5 * 1024 * 1024), "5 MB", "the limit is 5 MB"),
    ("../../etc/memo.pdf", PDF, "เส้นทางโฟลเดอร์หรืออักขระควบคุม", "folder path or control characters"),
    ("\u202efdp.exe", PDF, "เส้นทางโฟลเดอร์หรืออักขระควบคุม", "folder path or control characters"),
    ("memo.pdf", _pdf_with(lambda w: w.add_open_action(JavaScript("app.alert('x');"))), "JavaScript", "JavaScript"),
    ("memo.pdf", _pdf_with(_launch), "คำสั่งเปิดโปรแกรม", "an action that starts a program"),
    ("memo.pdf", _pdf_with(lambda w: w.add_attachment("run.exe", b"MZ")), "ไฟล์แนบฝังอยู่ภายใน", "embedded files"),
    ("memo.pdf", _pdf_with(lambda w: w.encrypt("secret")), "รหัสผ่าน", "protected by a password"),
]
IDS = ["jpeg-header-then-html", "jpeg-then-html", "pdf-then-html", "truncated-pdf", "truncated-jpeg",
       "wrong-magic", "zero-bytes", "oversize", "traversal-name", "bidi-control-name", "pdf-javascript",
       "pdf-launch", "pdf-embedded-file", "pdf-encrypted"]


def _attachments(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Attachment.id)))


def _screen_upload(officer, name: str, content: bytes):
    url = "/requests/new/external_search"
    return officer.post(url, data={
        "csrf_token": officer.csrf_token(url), "contact_email": "me@police.example", "save_draft": "1",
        "duty_performed": "สืบสวนคดียาเสพติด", "upload_memo": (io.BytesIO(content), name),
    }, content_type="multipart/form-data")


def _api_upload(app, api_tokens, name: str, content: bytes):
    api = ApiUser(app.test_client(), api_tokens("officer"))
    with app.app_context():
        vehicles = db.session.scalar(select(DataSource.id).where(DataSource.code == "vehicles"))
    return api.post("/api/v1/requests/?_l_=en", json={
        "kind": "external_search", "contact_email": "me@police.example", "contact_mobile": "0812345678",
        "duty_performed": "สืบสวน", "sources": [{"data_source_id": vehicles}],
        "attachments": [{"kind": "memo", "filename": name, "content_base64": base64.b64encode(content).decode()}]})


_refused = []


@pytest.mark.parametrize("name, content, thai, english", HOSTILE, ids=IDS)
def test_each_hostile_file_is_refused_with_its_reason(app, login, api_tokens, name, content, thai, english, figures):
    before = _attachments(app)
    officer = login("officer")

    screen = _screen_upload(officer, name, content)
    assert screen.status_code in (400, 413), screen.status_code
    if screen.status_code == 400:
        assert thai in screen.get_data(as_text=True)
        # The rest of what was typed comes back with the refusal.
        assert "สืบสวนคดียาเสพติด" in screen.get_data(as_text=True)

    api = _api_upload(app, api_tokens, name, content)
    assert api.status_code in (400, 413), api.get_data(as_text=True)[:300]
    if api.status_code == 400:
        assert english in api.get_json()["message"]

    assert _attachments(app) == before
    _refused.append(name)
    figures("hostile uploads refused (screen and API)", f"{len(_refused)} of {len(HOSTILE)}")


def test_an_accepted_photo_is_kept_without_its_metadata(app, login):
    officer = login("officer")
    photo = _photo_with_gps()
    assert Image.open(io.BytesIO(photo)).getexif()

    assert _screen_upload(officer, "บัตร.jpg", photo).status_code == 302

    with app.app_context():
        kept = db.session.scalars(select(Attachment).order_by(Attachment.id.desc())).first()
        assert kept.content_type == "image/jpeg" and kept.content != photo
        image = Image.open(io.BytesIO(kept.content))
        assert image.size == (40, 30)
        assert not image.getexif()
        assert b"Camera maker" not in kept.content


def test_a_plain_pdf_is_kept_byte_for_byte(app, login):
    officer = login("officer")
    assert _screen_upload(officer, "บันทึก.pdf", PDF).status_code == 302
    with app.app_context():
        kept = db.session.scalars(select(Attachment).order_by(Attachment.id.desc())).first()
        assert kept.content == PDF
