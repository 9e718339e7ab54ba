"""Small builders for test rows; they flush, the caller decides when to commit."""
import io
import itertools
import random
from datetime import timedelta

from sqlalchemy import select

from app.domain import national_id
from app.models import AccessRequest, DataSource, Grant, Officer, PositionLevel, Rank, RequestItem, Unit
from app.services import access_requests as service
from tests.conftest import TEST_TODAY


def _blank_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _small_jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), (180, 40, 40)).save(out, format="JPEG")
    return out.getvalue()


# Small real files: the upload check parses a PDF whole and decodes a JPEG to its last pixel.
PDF = _blank_pdf()
JPEG = _small_jpeg()
# What the circular requires on every search request (the default RequiredDocument rows).
SEARCH_DOCUMENTS = (service.Upload("memo", "memo.pdf", PDF), service.Upload("id_card_copy", "id.pdf", PDF))

_counter = itertools.count(1)
_rng = random.Random(7)


def new_national_id() -> str:
    first_twelve = f"{_rng.choice('1358')}{_rng.randrange(10**10, 10**11):011d}"
    return first_twelve + national_id.check_digit(first_twelve)


def make_unit(session, code=None, kind="station", parent=None, admin_scope=False) -> Unit:
    number = next(_counter)
    unit = Unit(code=code or f"T-{number:05d}", name_th=f"หน่วยทดสอบ {number}", kind=kind,
                parent=parent, is_admin_scope=admin_scope)
    session.add(unit)
    session.flush()
    return unit


def make_officer(session, unit: Unit, rank_abbr="ร.ต.อ.", **fields) -> Officer:
    rank = session.scalar(select(Rank).where(Rank.abbr_th == rank_abbr))
    number = next(_counter)
    values = dict(national_id=new_national_id(), rank=rank, first_name_th=f"ทดสอบ{number}",
                  last_name_th="นามสกุลทดสอบ", status="active", home_unit=unit,
                  email=f"t{number}@sitthi.example", mobile="0810000000")
    values.update(fields)
    officer = Officer(**values)
    session.add(officer)
    session.flush()
    return officer


def make_login(session, officer: Officer, role: str = "Officer", password: str | None = None):
    """A login of its own for a test officer, so committed tests never share one officer's rights."""
    from flask_appbuilder.security.sqla.models import Role
    from werkzeug.security import generate_password_hash

    from app.models import User
    from tests.conftest import TEST_HASH_METHOD

    number = next(_counter)
    user = User(username=f"test-user-{number}-{_rng.randrange(10**6)}", first_name=officer.first_name_th,
                last_name=officer.last_name_th, email=f"u{number}-{_rng.randrange(10**6)}@sitthi.example",
                active=True, roles=[session.scalar(select(Role).where(Role.name == role))],
                password=generate_password_hash(password, method=TEST_HASH_METHOD) if password else None)
    session.add(user)
    session.flush()
    officer.user_id = user.id
    session.flush()
    return user


def make_head(session, unit: Unit, rank_abbr="พ.ต.อ.", **fields) -> Officer:
    """An officer who may certify: a unit-head position (ผกก.)."""
    level = session.scalar(select(PositionLevel).where(PositionLevel.code == "superintendent"))
    return make_officer(session, unit, rank_abbr=rank_abbr, position_level=level, **fields)


def decide(session, actor, request_id, transition, clock, **kwargs):
    """The service's decide as a head who confirms the attestation and a CentralIT clerk who
    approves every pending item, unless a test says otherwise (those rules have tests of their own)."""
    kwargs.setdefault("attest", True)
    kwargs.setdefault("approve_remaining", True)
    return service.decide(session, actor, request_id, transition, clock, **kwargs)


def make_request(session, requester: Officer, kind="external_search", state="submitted",
                 source_code="vehicles", **fields) -> AccessRequest:
    number = next(_counter)
    values = dict(kind=kind, state=state, requester=requester, unit=requester.home_unit,
                  number=f"T/{number:07d}", contact_email="t@sitthi.example",
                  contact_mobile="0810000000", duty_performed="สืบสวน")
    values.update(fields)
    request = AccessRequest(**values)
    session.add(request)
    source = session.scalar(select(DataSource).where(DataSource.code == source_code))
    session.add(RequestItem(request=request, data_source=source))
    session.flush()
    return request


def make_grant(session, officer: Officer, source_code="vehicles", **fields) -> Grant:
    source = session.scalar(select(DataSource).where(DataSource.code == source_code))
    values = dict(officer=officer, data_source=source, state="active", valid_from=TEST_TODAY,
                  valid_until=TEST_TODAY + timedelta(days=365))
    values.update(fields)
    grant = Grant(**values)
    session.add(grant)
    session.flush()
    return grant
