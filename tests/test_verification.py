"""A printed memo anyone can check: its verification code and QR code, and the page that says
whether Sitthi made it and what became of the request."""
import io
from datetime import UTC, timedelta

import pytest
import segno
from pypdf import PdfReader
from sqlalchemy import select

from app.domain.verification import document_code, read_code
from tests.conftest import TEST_NOW
from tests.factories import make_grant, make_officer, make_request

SECRET = b"a key of the test"


def test_a_code_names_its_document_and_only_its_maker_can_make_one():
    code = document_code(SECRET, "memo", 123456)
    assert code.startswith("M-123456-") and len(code.rsplit("-", 1)[1]) == 10
    assert read_code(SECRET, code) == ("memo", 123456)
    assert read_code(SECRET, f"  {code.lower().replace('-', ' ')} ") == ("memo", 123456), "typed loosely"
    assert read_code(SECRET, code.replace("123456", "123457")) is None, "another document"
    assert read_code(b"another key", code) is None
    tampered = code[:-1] + ("A" if code[-1] != "A" else "B")
    assert read_code(SECRET, tampered) is None
    for junk in ("", "M-0-AAAAAAAAAA", "X-1-AAAAAAAAAA", "M-1", "M-" + "9" * 40 + "-AAAAAAAAAA", "\x00", "M" * 10_000):
        assert read_code(SECRET, junk) is None, junk


@pytest.fixture()
def submitted_memo(app):
    """A request of ภ.จว.ขอนแก่น sent 12 days ago, with one right it already gave."""
    from app.extensions import db
    from app.models import Unit

    with app.app_context():
        station = db.session.scalar(select(Unit).where(Unit.code == "KKN-MUEANG"))
        officer = make_officer(db.session, station, first_name_th="ตรวจเอกสาร")
        request = make_request(db.session, officer, state="completed",
                               submitted_at=TEST_NOW.astimezone(UTC) - timedelta(days=12))
        grant = make_grant(db.session, officer, request_id=request.id)
        db.session.commit()
        return {"request": request.id, "number": request.number, "grant": grant.id}


def _code(app, request_id: int) -> str:
    from app.services.verification import memo_code

    return memo_code(app.config["SECRET_KEY"].encode(), request_id)


def test_the_printed_memo_carries_the_code_and_a_qr_code_of_its_check(app, login, submitted_memo):
    code = _code(app, submitted_memo["request"])
    pdf = PdfReader(io.BytesIO(login("centralit").get(f"/requests/memo/{submitted_memo['request']}").data))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert code in text
    # The page's pictures: the Garuda at the top left and the QR code at the top right.
    from PIL import Image

    garuda_size = Image.open(app.config["MEMO_EMBLEM"]).size
    [image] = [each for each in pdf.pages[0].images if each.image.size != garuda_size]
    expected = io.BytesIO()
    segno.make(f"{app.config['PUBLIC_URL'].rstrip('/')}/verify/{code}", error="m").save(
        expected, kind="png", scale=6, border=1)
    printed, wanted = image.image.convert("1"), Image.open(expected).convert("1")
    assert printed.size == wanted.size and printed.tobytes() == wanted.tobytes(), "the QR code is of the check's address"


@pytest.mark.parametrize("username", ["officer", "head", "auditor", "commandtech2"])
def test_any_login_checks_a_paper_and_sees_the_request_as_it_stands(app, login, submitted_memo, username):
    from app.extensions import db
    from app.models import AuditEvent, Grant

    code = _code(app, submitted_memo["request"])
    reader = login(username)
    page = reader.get(f"/verify/{code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="verify-genuine"' in html
    assert submitted_memo["number"] in html and "ตรวจเอกสาร" in html
    assert f'data-grant="{submitted_memo["grant"]}" data-state="active"' in html
    with app.app_context():
        db.session.get(Grant, submitted_memo["grant"]).state = "revoked"
        db.session.commit()
        read = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "read",
                                                          AuditEvent.object_id == submitted_memo["request"],
                                                          AuditEvent.summary.like("verified memo%"))
                                 .order_by(AuditEvent.id.desc()))
        assert read is not None, "the check is in the read trail"
    typed = reader.get("/verify/?code=" + code.lower().replace("-", " ")).get_data(as_text=True)
    assert f'data-grant="{submitted_memo["grant"]}" data-state="revoked"' in typed


def test_a_code_no_document_has_is_refused_with_a_message(app, login, submitted_memo):
    code = _code(app, submitted_memo["request"])
    reader = login("officer")
    for wrong in (code[:-1] + ("A" if code[-1] != "A" else "B"), "M-999999999-AAAAAAAAAA", "nonsense"):
        page = reader.get(f"/verify/{wrong}")
        assert page.status_code == 404 and 'id="verify-unknown"' in page.get_data(as_text=True)
    assert reader.get("/verify/?code=%00").status_code == 400
    assert reader.get("/verify/").status_code == 200


def test_checking_needs_a_login(app, submitted_memo):
    response = app.test_client().get(f"/verify/{_code(app, submitted_memo['request'])}")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]


def test_a_permission_certificate_prints_its_code_and_tells_its_state_later(app, login, submitted_memo):
    """The holder prints it from My permissions; a neighbouring command cannot print it; checked
    after a revocation, it says revoked."""
    from app.extensions import db
    from app.models import Grant, Officer, User
    from app.services.verification import grant_code

    grant_id = submitted_memo["grant"]
    with app.app_context():
        holder = db.session.scalar(select(User).where(User.username == "officer"))
        own_officer = db.session.scalar(select(Officer).where(Officer.user_id == holder.id))
        own = make_grant(db.session, own_officer, "company_registry")
        db.session.commit()
        own_id = own.id
        code = grant_code(app.config["SECRET_KEY"].encode(), grant_id)

    officer = login("officer")
    listed = officer.get("/mygrantview/list/").get_data(as_text=True)
    assert f"/grantcertificate/{own_id}" in listed
    printed = officer.get(f"/grantcertificate/{own_id}")
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(printed.data)).pages)
    assert grant_code(app.config["SECRET_KEY"].encode(), own_id) in text
    assert officer.get(f"/grantcertificate/{grant_id}").status_code == 404, "not the officer's permission"
    assert login("commandtech2").get(f"/grantcertificate/{grant_id}").status_code == 404, "another command"
    assert login("commandtech").get(f"/grantcertificate/{grant_id}").status_code == 200

    assert 'data-state="active"' in officer.get(f"/verify/{code}").get_data(as_text=True)
    with app.app_context():
        revoked = db.session.get(Grant, grant_id)
        revoked.state, revoked.reason = "revoked", "ย้ายหน่วย"
        db.session.commit()
    checked = officer.get(f"/verify/{code}").get_data(as_text=True)
    assert 'data-state="revoked"' in checked and "ย้ายหน่วย" in checked
    assert officer.get(f"/verify/{code[:-1]}{'A' if code[-1] != 'A' else 'B'}").status_code == 404
