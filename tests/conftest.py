"""One database per test run, built the way production builds it.

The schema comes from the Alembic migrations, roles from `flask sitthi init`, people from
`flask sitthi seed-demo`. SITTHI_TEST_POSTGRES=postgresql://user@host:port/db runs the suite on
a fresh PostgreSQL database created (and dropped afterwards) through that server; otherwise a
SQLite file in a temporary folder is used.

Time is an input: the whole run happens at one instant of our choosing (SITTHI_TEST_NOW, an ISO
date-time; a fixed default otherwise), so today, now and every date a test builds agree, and the
suite gives the same answer on any day it runs. CI's PostgreSQL pass runs it a year ahead.
"""
import html
import os
import re
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from werkzeug.security import generate_password_hash

DEMO_PASSWORD = "Sitthi@demo1"
POSTGRES_ADMIN_URL = os.environ.get("SITTHI_TEST_POSTGRES")
# A weekday morning in Bangkok: the same calendar day in UTC and in the office's time zone.
DEFAULT_TEST_NOW = "2026-12-02T09:00:00+07:00"
TEST_NOW = datetime.fromisoformat(os.environ.get("SITTHI_TEST_NOW") or DEFAULT_TEST_NOW)
# The run's day in the office (TEST_NOW carries the office's offset): tests build dates from it.
TEST_TODAY = TEST_NOW.date()


@pytest.fixture(scope="session", autouse=True)
def frozen_clock():
    """Every clock the app and the tests read starts at TEST_NOW and runs on from there.

    It ticks (a run takes minutes, and timelines order events by time), yet today and now agree:
    the run starts in the morning, long before midnight in either time zone.
    """
    with time_machine.travel(TEST_NOW, tick=True) as traveller:
        yield traveller


_FIGURES: dict[str, object] = {}


@pytest.fixture(scope="session")
def figures():
    """Record a figure a test measured (attempts refused, sessions ended, chain verified, ...).

    The run's summary prints them all under "figures", so a reader of the CI log sees the numbers
    behind the passes, not only the passes.
    """
    def record(name: str, value) -> None:
        _FIGURES[name] = value

    return record


def pytest_collection_modifyitems(items):
    """Tests marked after_journeys check what every other test's journeys wrote: they run last."""
    items.sort(key=lambda item: item.get_closest_marker("after_journeys") is not None)


def pytest_terminal_summary(terminalreporter):
    if _FIGURES:
        terminalreporter.section("figures")
        for name, value in sorted(_FIGURES.items()):
            terminalreporter.write_line(f"{name}: {value}")


class FreshDatabase:
    """A database made for this run only: a SQLite file, or a new PostgreSQL database."""

    def __init__(self, tmp_dir):
        self.tmp_dir = tmp_dir
        self.created: list[str] = []

    def new_url(self, label: str) -> str:
        if not POSTGRES_ADMIN_URL:
            return f"sqlite:///{self.tmp_dir / (label + '.db')}"
        name = f"sitthi_test_{label}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not POSTGRES_ADMIN_URL:
            return
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    fresh = FreshDatabase(tmp_path_factory.mktemp("db"))
    yield fresh
    fresh.drop_all()


TEST_HASH_METHOD = "pbkdf2:sha256:1000"
TEST_FAKE_HASH = generate_password_hash("not a password", method=TEST_HASH_METHOD)


def build_app(database_url: str, **overrides):
    from app import create_app

    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
        # Imports run before the upload answers, so a test reads their result at once.
        "JOBS_INLINE": True,
        # Rate-limit and audit tests fail demo users' logins on purpose; a lockout of `head` for
        # 15 minutes would fail every later test. tests/test_sessions_end.py sets its own limit.
        "LOGIN_LOCKOUT_FAILURES": 1000,
        # Thousands of logins: a cheap hash keeps the suite minutes shorter. Production keeps
        # scrypt. Unknown usernames are checked against a hash of the same kind, as FAB does.
        "FAB_PASSWORD_HASH_METHOD": TEST_HASH_METHOD,
        "AUTH_DB_FAKE_PASSWORD_HASH_CHECK": TEST_FAKE_HASH,
        # Tests read the dashboard right after changing what it counts; tests/test_dashboard.py
        # shares its figures on purpose.
        "DASHBOARD_CACHE_SECONDS": 0,
        "DASHBOARD_TIMINGS_SECONDS": 0,
        # The same for the rights audit's listing (tests/test_rights_audit_sharing.py shares it).
        "RIGHTS_AUDIT_CACHE_SECONDS": 0,
    }
    config.update(overrides)
    return create_app(config)


def prepare_database(app, seed: bool = True) -> None:
    """Exactly what `make run` does: migrate, init, seed."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["sitthi", "init"])
    assert result.exit_code == 0, result.output
    if seed:
        result = runner.invoke(args=["sitthi", "seed-demo"])
        assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def app(databases):
    application = build_app(databases.new_url("main"))
    prepare_database(application)
    yield application
    with application.app_context():
        from app.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture()
def db_session(app):
    from app.extensions import db

    with app.app_context():
        yield db.session
        db.session.rollback()


class Browser:
    """A logged-in (or anonymous) test client that knows how to find CSRF tokens."""

    def __init__(self, client):
        self.client = client

    def csrf_token(self, url: str) -> str:
        html = self.client.get(url).get_data(as_text=True)
        tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html)
        match = tag and re.search(r'value="([^"]+)"', tag.group(0))
        assert match, f"no CSRF token on {url}"
        return match.group(1)

    def login(self, username: str, password: str = DEMO_PASSWORD):
        token = self.csrf_token("/login/")
        return self.client.post(
            "/login/", data={"username": username, "password": password, "csrf_token": token}
        )

    def submit(self, url: str, data: dict, follow_redirects: bool = False):
        """POST a form the way a browser would: with the token the form carried."""
        payload = dict(data)
        payload["csrf_token"] = self.csrf_token(url)
        return self.client.post(url, data=payload, follow_redirects=follow_redirects)

    def export(self, url: str, page: str, fmt: str | None = None):
        """Ask for an export as its button on `page` does (a POST with the page's token) and
        return the file its job wrote (jobs run inline in tests), or the answer that refused it:
        the refusal itself, or the run's page when the run failed."""
        data = {"csrf_token": self.csrf_token(page)}
        if fmt:
            data["format"] = fmt
        asked = self.client.post(url, data=data)
        if asked.status_code != 302 or "/exports/run/" not in asked.location:
            return asked
        run_page = self.client.get(asked.location)
        link = re.search(r'id="export-download" href="([^"]+)"', run_page.get_data(as_text=True))
        return self.client.get(html.unescape(link.group(1))) if link else run_page

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url: str, **kwargs):
        return self.client.post(url, **kwargs)


@pytest.fixture()
def browser(app):
    return Browser(app.test_client())


@pytest.fixture()
def login(app):
    """login("centralit") -> a Browser logged in as that demo user."""
    clients = []

    def _login(username: str) -> Browser:
        client = app.test_client()
        clients.append(client)
        user = Browser(client)
        response = user.login(username)
        assert response.status_code == 302, f"login as {username} failed"
        return user

    yield _login


def new_requester(app) -> str:
    """A new investigator of the demo head's station (สภ.เมืองขอนแก่น) with a login of their own
    (password DEMO_PASSWORD); their username. Tests that commit requests use one, so no test trips
    over the rights or open requests an earlier test left the demo officer (asking twice for a
    right is refused)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import DutyLine, Officer, User
    from tests.factories import make_login, make_officer

    with app.app_context():
        head = db.session.scalar(select(Officer).join(User, Officer.user_id == User.id)
                                 .where(User.username == "head"))
        investigation = db.session.scalar(select(DutyLine).where(DutyLine.code == "investigation"))
        officer = make_officer(db.session, head.home_unit, duty_line=investigation)
        username = make_login(db.session, officer, password=DEMO_PASSWORD).username
        db.session.commit()
    return username


@pytest.fixture()
def requester(app, login):
    """A new requester (see new_requester), logged in."""
    return login(new_requester(app))


@contextmanager
def counted_statements(app):
    """Every SQL statement the database is sent inside the block."""
    from app.extensions import db

    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def age_shared_figures(key: str, seconds: int) -> None:
    """As when the shared figures under `key` (app.shared_figures) were worked out `seconds`
    earlier: they are aged, not the suite's clock moved. Needs an app context."""
    from app.extensions import cache

    figures, worked_out_at = cache.get(key)
    cache.set(key, (figures, worked_out_at - timedelta(seconds=seconds)), timeout=3600)


def api_token(client, username: str, password: str = DEMO_PASSWORD) -> str:
    """A demo user's JWT from the API's login."""
    response = client.post("/api/v1/security/login", json={
        "username": username, "password": password, "provider": "db", "refresh": True})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


class ApiUser:
    """A test client that sends a demo user's JWT with every call."""

    def __init__(self, client, token: str):
        self.client = client
        self.token = token

    def _call(self, method: str, url: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return getattr(self.client, method)(url, headers=headers, **kwargs)

    def get(self, url, **kwargs):
        return self._call("get", url, **kwargs)

    def post(self, url, **kwargs):
        return self._call("post", url, **kwargs)

    def put(self, url, **kwargs):
        return self._call("put", url, **kwargs)

    def delete(self, url, **kwargs):
        return self._call("delete", url, **kwargs)


@pytest.fixture(scope="module")
def api_tokens(app):
    """api_tokens("head") -> head's JWT, fetched once per module."""
    cache: dict[str, str] = {}

    def token(username: str) -> str:
        if username not in cache:
            cache[username] = api_token(app.test_client(), username)
        return cache[username]

    return token
