"""No whole national ID, password, token or SQL parameter reaches a log line (issue 11)."""
import logging

import pytest
from sqlalchemy import select

from app.extensions import db
from app.log_redaction import redact
from app.models import Officer
from tests.conftest import DEMO_PASSWORD, api_token


@pytest.fixture()
def log_lines():
    """Every line any logger of the process writes during the test, formatted as a handler would."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Keep(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.parametrize("line, kept, gone", [
    ("GET /officerview/list/?_flt_0_national_id=1101700203451 200", "1-1017-xxxxx-xx-1", "1101700203451"),
    ("national ID 1-1017-00203-45-1 refused", "1-1017-xxxxx-xx-1", "00203-45"),
    ("id 1 1017 00203 45 1 here", "1-1017-xxxxx-xx-1", "00203 45"),
    ('{"password": "S3cret!pass", "username": "head"}', '"username": "head"', "S3cret!pass"),
    ("Authorization: Bearer eyJhbGciOi.eyJzdWIiOiIx.sig", "Bearer [redacted]", "eyJhbGciOi"),
    ("POST /login/ csrf_token=IjY0ZjM1&username=head", "username=head", "IjY0ZjM1"),
    ("(sqlite3.IntegrityError) UNIQUE failed [SQL: INSERT INTO officer (national_id) VALUES (?)]\n"
     "[parameters: ('1101700203451', 'ทดสอบ')]", "[parameters hidden]", "ทดสอบ"),
    ("phone 0812345678, request 12/2569, 2026-12-03", "0812345678, request 12/2569, 2026-12-03", None),
])
def test_redact(line, kept, gone):
    cleaned = redact(line)
    assert kept in cleaned
    if gone:
        assert gone not in cleaned


def test_no_logger_writes_a_whole_national_id_or_a_secret(app, log_lines, figures):
    logging.getLogger("werkzeug").info('"GET /officerview/list/?_flt_0_national_id=%s HTTP/1.1" 200', "1101700203451")
    logging.getLogger("gunicorn.access").info("%(r)s", {"r": "GET /x?password=hunter22 HTTP/1.1"})
    try:
        raise ValueError("officer 1101700203451 not found")
    except ValueError:
        logging.getLogger("sitthi.redaction-test").exception("lookup failed for %s", "1-1017-00203-45-1")
    text = "\n".join(log_lines)
    assert "1101700203451" not in text and "1-1017-00203-45-1" not in text and "hunter22" not in text
    assert text.count("1-1017-xxxxx-xx-1") >= 3  # the request line, the message, the traceback
    figures("log lines checked for national IDs and secrets", len(log_lines))


def test_a_whole_app_journey_logs_no_national_id_or_password(app, login, log_lines):
    with app.app_context():
        officer = db.session.scalars(select(Officer).limit(1)).first()
        national_id = officer.national_id
    auditor = login("auditor")
    auditor.get(f"/officerview/list/?_flt_0_national_id={national_id}")
    auditor.get(f"/auditeventview/list/?_flt_0_officers={national_id}")
    auditor.get(f"/officerview/show/{officer.id}")
    app.test_client().post("/login/", data={"username": "auditor", "password": "wrong-" + DEMO_PASSWORD})
    api_token(app.test_client(), "auditor")
    text = "\n".join(log_lines)
    assert national_id not in text
    assert DEMO_PASSWORD not in text


def test_database_errors_name_no_values(app):
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
    with app.app_context():
        assert db.engine.hide_parameters
