"""Hostile input: every form screen and API operation answers 4xx with a message, never a 500.

A fuzz of the screens and the REST API found 93 answers 500, from a few root causes. Each test
here replays one of them against every endpoint that can receive it, listed from the running app
(`app.url_map`, the FAB views and `/api/v1/_openapi`), so a new screen or operation is covered
without touching this file:

- a NUL byte (or another control character) in any text: form fields, search filters, picker
  queries, JSON bodies. PostgreSQL refuses NUL; SQLite stores it.
- ids no row can have (past 2^31−1, negative, not a number) in URL paths, selects, related fields,
  the rows of bulk actions and JSON. PostgreSQL refuses to compare an INTEGER with 99999999999.
- a `version` that is not a whole number.
- page numbers and sizes out of range, in list screens and in the API's `q`.
- free text longer than the field (or any field) holds.

Every answer must be below 500, carry a message (the JSON `message`, or an alert on the page or
on the page it redirects to) that is not a database error, and leave the database as it was.
Run it on PostgreSQL too (SITTHI_TEST_POSTGRES=...): that is where most of these were 500s.
"""
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode

import prison
import pytest
from sqlalchemy import func, select, text

from app.models import DataSource, Officer, RankGroup, RequestItem, Unit, User
from tests.conftest import DEMO_PASSWORD, TEST_TODAY, Browser, api_token, new_requester
from tests.factories import PDF

NUL = "ทดสอบ\x00x"
ESCAPE = "ทดสอบ\x1bx"
LONGER_THAN_A_FIELD = "ก" * 2001  # past every field's own limit, under the cap on any value
LONGER_THAN_ANY = "ก" * 100_001  # past the cap on any single value
HUGE = "99999999999"  # past 2^31−1: no INTEGER id or version can be this
NO_ROW = str(2**31 - 1)  # an id a row could have, that none has
NOT_IDS = (HUGE, "-1", "abc")
NOT_VERSIONS = ("abc", "1.5", "", HUGE, "-1")
NOT_PAGES = ("99999999999999999999", "-1", "abc")
NOT_PAGE_SIZES = ("0", "-1", "100000", "abc")

ALERT = re.compile(
    r'class="[^"]*\b(?:alert-danger|alert-warning|alert-info|sitthi-error)\b[^"]*"[^>]*>(.*?)</(?:div|span)>', re.S)
DATABASE_ERROR = re.compile(r"psycopg|sqlalchemy|sqlite3|Background on this error|\[SQL|NumericValueOutOfRange",
                            re.I)

# Who submits each screen: Admin may open every FAB screen; the rest are someone's own work.
USER_OF_VIEW = {
    "RequestDeskView": "officer", "MyRequestView": "officer", "MyGrantView": "officer",
    "GrantRenewalView": "officer", "MyDeputyView": "head", "ToCertifyView": "head",
    "ToVerifyView": "centralit", "AwaitingActivationView": "centralit",
    "DeactivationNoticeView": "centralit", "CommandGrantView": "commandtech",
    "AssignFunctionView": "commandtech", "AccountRequestView": "commandtech",
    "ExpiringGrantView": "commandtech",
    "ToReviewView": "commandtech", "ReviewCampaignView": "commandtech", "MyRecordView": "officer",
    "DataChangeRequestView": "personnel",
}
USERS = ("admin", "officer", "head", "centralit", "commandtech", "personnel")
# Forms that are not on their own URL: who submits them, the page that carries them, where they post.
FORM_PAGES = {
    "RequestDeskView.edit": ("officer", "/requests/edit/{draft}", "/requests/edit/{draft}"),
    "RequestDeskView.submit": ("officer", "/requests/show/{draft}", "/requests/submit/{draft}"),
    "RequestDeskView.cancel": ("officer", "/requests/show/{draft}", "/requests/cancel/{draft}"),
    "RequestDeskView.decide": ("head", "/requests/show/{waiting}", "/requests/decide/{waiting}"),
    "RequestDeskView.activate": ("centralit", "/requests/show/{completed}", "/requests/activate/{item}"),
    "GrantRenewalView.renew": ("officer", "/mygrantview/list/", "/grants/renew/{grant}"),
    "AssignFunctionView.assign": ("commandtech", "/assignfunction/", "/assignfunction/assign"),
    "MyRecordView.report": ("officer", "/myrecord/", "/myrecord/report"),
    "DataChangeRequestView.resolve": ("personnel", "/datachangerequestview/show/{data_change}",
                                      "/datachangerequestview/resolve/{data_change}"),
}
ANONYMOUS = {"AuthDBView.login"}  # a logged-in user is sent away before the form is read
# What a user types before the hostile part: a login that exists changes the trail when it fails.
TYPED = {"AuthDBView.login": {"username": ["nobody-hostile"], "password": ["x"]}}
NOT_FORMS = {"AuthDBView.logout", "LocaleView.index", "UtilView.back"}


# -- what the app offers ---------------------------------------------------------------------------
_listing_app = None


def _listing():
    """An app built only to list its routes and views (building one does not touch a database)."""
    global _listing_app
    if _listing_app is None:
        from tests.conftest import build_app

        _listing_app = build_app("sqlite://")
    return _listing_app


def _view(app, name):
    return next((v for v in app.appbuilder.baseviews if type(v).__name__ == name), None)


def _closed_to_everyone(app, rule) -> bool:
    """A route whose permission is never created (e.g. FAB's generic edit of a grant)."""
    name, _, method = rule.endpoint.partition(".")
    view = _view(app, name)
    function = getattr(view, method, None)
    permission = getattr(function, "_permission_name", None)
    if view is None or permission is None or not getattr(view, "base_permissions", None):
        return False
    permission = view.method_permission_name.get(method, permission)
    return f"can_{permission}" not in view.base_permissions


def _is_screen(rule) -> bool:
    return not rule.rule.startswith(("/api/", "/static/", "/swagger/")) and rule.endpoint not in NOT_FORMS


def _post_screens(app) -> list[str]:
    return sorted(r.endpoint for r in app.url_map.iter_rules()
                  if "POST" in r.methods and _is_screen(r) and not r.endpoint.endswith(".delete")
                  and not _closed_to_everyone(app, r))


def _action_screens(app) -> list[str]:
    return [e for e in _post_screens(app) if e.endswith(".action_post")]


def _list_screens(app) -> list[str]:
    return sorted(r.endpoint for r in app.url_map.iter_rules()
                  if r.endpoint.endswith(".list") and _is_screen(r) and not _closed_to_everyone(app, r))


def _get_routes(app) -> list[str]:
    return sorted(f"{r.endpoint} {r.rule}" for r in app.url_map.iter_rules()
                  if "GET" in r.methods and not r.rule.startswith(("/static/", "/swagger/"))
                  and r.endpoint != "AuthDBView.logout")


def _names_a_record(argument: str) -> bool:
    return argument == "pk" or argument.endswith("_id")


def _id_routes(app) -> list[str]:
    return sorted(f"{r.endpoint} {r.rule} {m}" for r in app.url_map.iter_rules()
                  if any(_names_a_record(a) for a in r.arguments) for m in sorted(r.methods - {"HEAD", "OPTIONS"}))


def _api_list_resources(app) -> list[str]:
    return sorted(type(v).__name__ for v in app.appbuilder.baseviews
                  if getattr(v, "resource_name", None) and hasattr(v, "search_columns") and v.search_columns)


def _openapi(app) -> dict:
    """The OpenAPI document, built as FAB's /api/v1/_openapi builds it (no login, no database)."""
    from flask_appbuilder.api import BaseApi

    with app.test_request_context():
        document = _view(app, "OpenApi")._create_api_spec("v1")
        for api in app.appbuilder.baseviews:
            if isinstance(api, BaseApi) and api.version == "v1":
                api.add_api_spec(document)
        return document.to_dict()


def _body_operations(app) -> list[str]:
    return [f"{method} {path}" for method, path, _schema in _operations(_openapi(app))]


def pytest_generate_tests(metafunc):
    app = None
    for name, lister in (("post_screen", _post_screens), ("action_screen", _action_screens),
                         ("list_screen", _list_screens),
                         ("get_route", _get_routes), ("id_route", _id_routes),
                         ("api_resource", _api_list_resources), ("operation", _body_operations)):
        if name in metafunc.fixturenames:
            app = app or _listing()
            metafunc.parametrize(name, lister(app))


# -- the database, before and after ------------------------------------------------------------
def _fingerprint(app) -> dict:
    """Rows per table and the sum of their versions: any add, delete or versioned change moves it.

    Reads recorded in the audit trail are left out: a refused form sends the user back to the page
    they were on, and showing it again is a read, not a change.
    """
    from app.extensions import db
    from app.services.audit import READ_ACTIONS

    reads = ", ".join(f"'{action}'" for action in READ_ACTIONS)
    with app.app_context():
        parts = []
        for table in db.metadata.sorted_tables:
            if table.name == "audit_event_officer":
                continue
            versions = "coalesce(sum(version), 0)" if "version" in table.c else "0"
            where = f" WHERE action NOT IN ({reads})" if table.name == "audit_event" else ""
            parts.append(f"SELECT '{table.name}', count(*), {versions} FROM \"{table.name}\"{where}")
        rows = db.session.execute(text(" UNION ALL ".join(parts))).all()
        db.session.rollback()
        return {name: (count, int(versions)) for name, count, versions in rows}


def _changed(before: dict, after: dict) -> dict:
    return {name: (before.get(name), value) for name, value in after.items() if before.get(name) != value}


# -- answers -------------------------------------------------------------------------------------
def _message(response, client) -> str:
    """What the user is told: the JSON message, or the alerts on the page (or the page it leads to)."""
    if response.is_json:
        return str((response.get_json(silent=True) or {}).get("message") or "")
    page = response.get_data(as_text=True)
    if 300 <= response.status_code < 400:  # flashed, shown on the next page
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    texts = [re.sub(r"<[^>]+>|&times;|×", " ", found).strip() for found in ALERT.findall(page)]
    return " ".join(t for t in texts if t)


def _assert_refused(response, client, what, statuses=None) -> str:
    assert response.status_code < 500, (what, response.status_code, response.get_data(as_text=True)[:300])
    if statuses is not None:
        assert response.status_code in statuses, (what, response.status_code)
    message = _message(response, client)
    assert message, (what, response.status_code, "no message")
    assert not DATABASE_ERROR.search(message), (what, message[:300])
    return message


# -- people and records ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def requester_login(app):
    """The "officer" of this module: a new one (tests.conftest.new_requester), so the rights and
    open requests other tests left the demo officer never make this module's requests duplicates."""
    return new_requester(app)


def _login_name(username, requester_login):
    return requester_login if username == "officer" else username


@pytest.fixture(scope="module")
def people(app, requester_login):
    """A logged-in browser per demo login, a JWT per login, and a browser nobody logged into."""
    browsers = {}
    for username in USERS:
        browser = Browser(app.test_client())
        assert browser.login(_login_name(username, requester_login)).status_code == 302
        browsers[username] = browser
    browsers[None] = Browser(app.test_client())
    tokens = {username: api_token(app.test_client(), _login_name(username, requester_login)) for username in USERS}
    return browsers, tokens


@pytest.fixture(scope="module")
def desk(app, requester_login):
    """Records the request desk's forms act on, made through the services and committed.

    A draft of `officer`'s, a request waiting for `head`, an item waiting for the agency's
    activation (Central IT records it), a grant `officer` may renew.
    """
    from app.extensions import db
    from app.formatting import office_clock
    from app.security.scope import actor_for
    from app.services import access_requests as service
    from app.services import data_changes
    from tests.factories import decide, make_grant

    with app.app_context(), app.test_request_context():
        session = db.session
        names = {"officer": requester_login, "head": "head", "centralit": "centralit"}
        users = {name: session.scalar(select(User).where(User.username == username))
                 for name, username in names.items()}
        officers = {name: session.scalar(select(Officer).where(Officer.user_id == user.id))
                    for name, user in users.items()}
        sources = {s.code: s.id for s in session.scalars(select(DataSource))}
        group = session.scalar(select(RankGroup.id).order_by(RankGroup.number).limit(1))
        clock = office_clock()

        def actor(name):
            return actor_for(session, users[name])

        def draft(*choices):
            data = service.RequestData(
                kind="external_search", contact_email="hostile@police.example", contact_mobile="0812345678",
                duty_performed="สืบสวน", pledge_accepted=True, certifying_head_id=officers["head"].id,
                sources=choices)
            uploads = (service.Upload("memo", "memo.pdf", PDF), service.Upload("id_card_copy", "id.pdf", PDF))
            return service.save_draft(session, actor("officer"), data, clock, uploads=uploads)

        mine = draft(service.SourceChoice(sources["vehicles"]))
        waiting = draft(service.SourceChoice(sources["vehicles"]))
        service.submit(session, actor("officer"), waiting.id, clock)
        completed = draft(service.SourceChoice(sources["civil_registration"], group))
        service.submit(session, actor("officer"), completed.id, clock)
        decide(session, actor("head"), completed.id, "approve", clock)
        decide(session, actor("centralit"), completed.id, "approve", clock,
               comment="กลุ่ม 1 สูงกว่ายศ: ผู้บังคับบัญชารับรองความจำเป็น")
        item = next(i for i in completed.items if service.awaits_agency(completed, i))
        grant = make_grant(session, officers["officer"], "aliens")
        data_change = data_changes.ask(session, actor("officer"), "rank", "ร.ต.อ.", "เลื่อนยศแล้ว", clock)
        session.commit()
        return {"draft": mine.id, "waiting": waiting.id, "completed": completed.id, "item": item.id,
                "grant": grant.id, "data_change": data_change.id, "officer": officers["officer"].id, "head": officers["head"].id,
                "sources": sources}


# -- forms as a browser sends them -------------------------------------------------------------------
@dataclass
class Form:
    action: str
    values: dict = field(default_factory=dict)  # name -> list of values, as a browser sends them
    texts: list = field(default_factory=list)  # free-text inputs and text areas
    ids: list = field(default_factory=list)  # selects and numbered checkboxes
    hidden: list = field(default_factory=list)
    numbers: list = field(default_factory=list)  # integer fields
    dates: list = field(default_factory=list)  # date inputs and FAB's date pickers (also in texts)
    clicked: bool = False
    harmless: dict = field(default_factory=dict)  # what makes a change that is let through change nothing


class _Forms(HTMLParser):
    """The POST forms of a page and the values a browser would send from them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", "")) if a.get("method", "get").lower() == "post" else None
            if self._form is not None:
                self.forms.append(self._form)
        if self._form is None or not a.get("name") and tag != "option":
            return
        name = a.get("name")
        if tag == "input":
            kind = a.get("type", "text").lower()
            value = a.get("value", "")
            if kind == "submit":
                self._click(name, value)
                return
            if kind in ("button", "image", "reset", "file") or name == "csrf_token":
                return
            if kind in ("checkbox", "radio"):
                if value.isdigit():
                    self._form.ids.append(name)
                if "checked" not in a:
                    return
            elif kind == "hidden":
                self._form.hidden.append(name)
            else:
                self._form.texts.append(name)
                if kind == "date" or a.get("data-format", "").startswith("yyyy-MM-dd"):
                    self._form.dates.append(name)
            self._form.values.setdefault(name, []).append(value)
        elif tag == "button" and a.get("type", "submit") == "submit":
            self._click(name, a.get("value", ""))
        elif tag == "textarea":
            self._textarea = [name, ""]
        elif tag == "select":
            self._select = {"name": name, "first": None, "chosen": [], "multiple": "multiple" in a}
            self._form.ids.append(name)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in a:
                self._select["chosen"].append(value)

    def _click(self, name, value):
        """A browser sends the button that was clicked: here, the form's first."""
        if not self._form.clicked:
            self._form.values[name] = [value]
            self._form.clicked = True

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            name, value = self._textarea
            self._form.values.setdefault(name, []).append(value)
            self._form.texts.append(name)
            self._textarea = None
        elif tag == "select" and self._select is not None and self._form is not None:
            chosen = self._select["chosen"] or ([] if self._select["multiple"] else [self._select["first"] or ""])
            self._form.values[self._select["name"]] = chosen
            self._select = None


@dataclass
class Screen:
    """One screen's form, ready to be submitted by the user it belongs to."""

    browser: Browser
    token: str
    form: Form

    def post(self, changes: dict, **kwargs):
        data = {**self.form.values, **changes, "csrf_token": self.token}
        return self.browser.client.post(self.form.action, data=data, **kwargs)


def _first_row(browser, list_url) -> str | None:
    page = browser.get(list_url).get_data(as_text=True)
    found = re.search(r'name="rowid" value="(\d+)"', page) or re.search(r"/show/(\d+)", page)
    return found.group(1) if found else None


def _url_for(app, endpoint, values=None) -> str:
    return app.url_map.bind("localhost").build(endpoint, values or {})


def _screen(app, people, desk, endpoint) -> Screen:
    """The form of a POST screen as its user's browser would submit it."""
    browsers, _tokens = people
    view_name, _, method = endpoint.partition(".")
    username = None if endpoint in ANONYMOUS else USER_OF_VIEW.get(view_name, "admin")
    if endpoint in FORM_PAGES:
        username = FORM_PAGES[endpoint][0]
    browser = browsers[username]
    rules = list(app.url_map.iter_rules())
    endpoints = {r.endpoint for r in rules}
    rule = next(r for r in rules if r.endpoint == endpoint and "POST" in r.methods)
    token = browser.csrf_token("/login/" if username is None else "/requests/new/external_search")
    list_url = _url_for(app, f"{view_name}.list") if f"{view_name}.list" in endpoints else None
    if endpoint in FORM_PAGES:
        page, action = (url.format(**desk) for url in FORM_PAGES[endpoint][1:])
    else:
        values = {}
        for argument in rule.arguments:
            if argument == "pk":
                values[argument] = (list_url and _first_row(browser, list_url)) or "1"
            else:
                values[argument] = {"kind": "external_search"}.get(argument, "x")
        action = _url_for(app, endpoint, values)
        if method == "action_post":
            return Screen(browser, token, _action_form(_view(app, view_name), browser, list_url, action))
        gettable = any(r.rule == rule.rule and "GET" in r.methods for r in rules)
        page = action if gettable else None
    form = None
    if page is not None:
        parser = _Forms()
        parser.feed(browser.get(page).get_data(as_text=True))
        exact = [f for f in parser.forms if f.action.split("?")[0] == action]
        form = next(iter(exact or [f for f in parser.forms if f.action == ""]), None)
        if form is not None:
            form.action = action
            form.values.update(TYPED.get(endpoint, {}))
            _find_numbers(form, getattr(_view(app, view_name), f"{method}_form", None))
    if form is None:  # no page shows this form to this user: only made-up fields can be tried
        form = Form(action)
    return Screen(browser, token, form)


@pytest.fixture(scope="module")
def screens(app, people, desk):
    """screens(endpoint) -> that screen's form, read once: the tests only post it, and every post
    is refused, so the page need not be read again for each hostile value."""
    read: dict[str, Screen] = {}

    def screen(endpoint: str) -> Screen:
        if endpoint not in read:
            read[endpoint] = _screen(app, people, desk, endpoint)
        return read[endpoint]

    return screen


def _find_numbers(form: Form, form_class) -> None:
    """A generated form's integer fields look like any text input: the view's form class says which."""
    from wtforms import IntegerField
    from wtforms.fields.core import UnboundField

    for name, unbound in vars(form_class or object).items():
        integer = isinstance(unbound, UnboundField) and issubclass(unbound.field_class, IntegerField)
        if integer and name in form.texts:
            form.texts.remove(name)
            form.numbers.append(name)


def _action_form(view, browser, list_url, action) -> Form:
    """A list's bulk-action form as sitthi.js sends it: the first row ticked, the first action
    chosen, and the fields above the list that go along (a comment, a reason, a date)."""
    page = browser.get(list_url).get_data(as_text=True)
    found = re.search(r'name="rowid" value="(\d+)"', page)
    extra = re.findall(r'data-bulk-field="(\w+)"', page) + (["comment"] if 'id="sitthi-bulk-comment"' in page else [])
    first_action = sorted(view.actions)[0] if view.actions else "none"
    values = {"action": [first_action], "rowid": [found.group(1) if found else NO_ROW]}
    values.update({name: [TEST_TODAY.isoformat() if name == "valid_until" else "ok"] for name in extra})
    # On a row that is not there, an action that does not read the field changed still changes nothing.
    return Form(action, values, texts=extra, ids=["rowid"], harmless={"rowid": [NO_ROW]})


def _fields(form: Form, kinds, made_up: bool = False) -> list[str]:
    """The form's fields of those kinds; with `made_up`, a field no handler reads when it has none."""
    names = list(dict.fromkeys(n for kind in kinds for n in getattr(form, kind)))
    return names or (["note"] if made_up else [])


# -- forms: one field at a time ---------------------------------------------------------------------
@pytest.mark.parametrize("bad", [NUL, ESCAPE], ids=["nul", "escape"])
def test_a_control_character_in_any_form_field_is_refused(app, screens, post_screen, bad):
    screen = screens(post_screen)
    before = _fingerprint(app)
    kinds = ("texts", "hidden", "ids", "numbers") if bad == NUL else ("texts",)
    fields = _fields(screen.form, kinds, made_up=True)
    for name in fields:
        response = screen.post({name: bad})
        _assert_refused(response, screen.browser.client, (post_screen, name), statuses={400})
    assert _changed(before, _fingerprint(app)) == {}


@pytest.mark.parametrize("long_text", [LONGER_THAN_A_FIELD, LONGER_THAN_ANY], ids=["2001", "100001"])
def test_text_longer_than_a_field_holds_is_refused(app, screens, post_screen, long_text):
    screen = screens(post_screen)
    fields = _fields(screen.form, ("texts",), made_up=long_text is LONGER_THAN_ANY)
    if not fields:
        pytest.skip("this form has no free-text field")
    before = _fingerprint(app)
    for name in fields:
        response = screen.post(_with_what_it_needs(screen, {**screen.form.harmless, name: long_text}, name))
        _assert_refused(response, screen.browser.client, (post_screen, name))
    assert _changed(before, _fingerprint(app)) == {}


_DATES_TRIED: set = set()


@pytest.mark.parametrize("year, said", [("2569", "2026"), ("0001", "1900")], ids=["buddhist-era", "year-1"])
def test_a_date_in_a_year_no_record_can_have_is_refused_at_its_field(app, screens, post_screen, year, said,
                                                                    figures):
    """Every date a screen takes, FAB's generated forms and hand-written ones alike: 2569 typed as a
    Gregorian year is named as Buddhist Era with the year to type; year 1 is out of range."""
    screen = screens(post_screen)
    if not screen.form.dates:
        pytest.skip("this form has no date field")
    before = _fingerprint(app)
    for name in screen.form.dates:
        response = screen.post({**screen.form.harmless, name: f"{year}-05-17"})
        message = _assert_refused(response, screen.browser.client, (post_screen, name))
        assert said in message, (post_screen, name, message)
        _DATES_TRIED.add((post_screen, name))
    assert _changed(before, _fingerprint(app)) == {}
    figures("screen date fields refused a Buddhist-Era year and year 1", len(_DATES_TRIED))


# A field read only with another: the rank group of a data source counts when the source is ticked,
# and so do its data fields and the answers to its justification questions (Linkage Center rules).
CHOSEN_WITH = ((re.compile(r"rank_group_(\d+)$"), "source"), (re.compile(r"field_(\d+)$"), "source"),
               (re.compile(r"answer_(\d+)_\d+$"), "source"))


def _with_what_it_needs(screen, changes: dict, name: str) -> dict:
    """The change, with the box ticked that makes the form read the changed field."""
    for pattern, other in CHOSEN_WITH:
        if pattern.match(name):
            changes[other] = [*screen.form.values.get(other, []), pattern.match(name).group(1)]
    return changes


def test_an_id_no_row_can_have_is_refused_in_selects_and_related_fields(app, screens, post_screen):
    screen = screens(post_screen)
    if not screen.form.ids + screen.form.numbers:
        pytest.skip("this form has no select, numbered box or integer field")
    before = _fingerprint(app)
    cases = [(name, bad) for name in screen.form.ids for bad in NOT_IDS]
    cases += [(name, bad) for name in screen.form.numbers for bad in (HUGE, str(-(2**40)), "abc")]
    for name, bad in cases:
        response = screen.post(_with_what_it_needs(screen, {**screen.form.harmless, name: bad}, name))
        _assert_refused(response, screen.browser.client, (post_screen, name, bad))
    assert _changed(before, _fingerprint(app)) == {}


def test_a_version_that_is_not_a_whole_number_is_refused(app, screens, post_screen):
    screen = screens(post_screen)
    if "version" not in screen.form.values:
        pytest.skip("this form carries no version")
    before = _fingerprint(app)
    for bad in NOT_VERSIONS:
        response = screen.post({"version": bad})
        _assert_refused(response, screen.browser.client, (post_screen, bad), statuses=range(400, 500))
    assert _changed(before, _fingerprint(app)) == {}


def test_every_version_carrying_form_of_the_desk_is_tried(app, screens):
    """The version test above would pass vacuously if no page showed a version: they do."""
    carrying = {e for e in FORM_PAGES if "version" in screens(e).form.values}
    assert carrying >= {"RequestDeskView.edit", "RequestDeskView.submit", "RequestDeskView.cancel",
                        "RequestDeskView.decide", "RequestDeskView.activate",
                        "DataChangeRequestView.resolve"}


def test_bulk_actions_refuse_rows_no_record_can_be_and_unknown_actions(app, screens, action_screen):
    screen = screens(action_screen)
    view = _view(app, action_screen.partition(".")[0])
    before = _fingerprint(app)
    for name in sorted(view.actions):
        for bad in NOT_IDS:
            response = screen.post({"action": name, "rowid": [screen.form.values["rowid"][0], bad]})
            _assert_refused(response, screen.browser.client, (action_screen, name, bad), statuses={400})
        response = screen.post({"action": name, "rowid": NO_ROW})  # a row no one has: nothing to do
        assert response.status_code < 500, (action_screen, name, "no such row")
    response = screen.post({"action": "no_such_action"})
    _assert_refused(response, screen.browser.client, (action_screen, "unknown action"), statuses={400, 404})
    assert _changed(before, _fingerprint(app)) == {}


def test_tabs_and_line_breaks_are_still_text(app, people, desk):
    from app.extensions import db
    from app.models import AccessRequest

    # Read afresh, not from `screens`: this post is accepted, so the draft's version moves on.
    screen = _screen(app, people, desk, "RequestDeskView.edit")
    text_with_breaks = "บรรทัดแรก\r\n\tบรรทัดที่สอง"
    response = screen.post({"duty_performed": text_with_breaks}, content_type="multipart/form-data")
    assert response.status_code == 302, _message(response, screen.browser.client)
    with app.app_context():
        assert db.session.get(AccessRequest, desk["draft"]).duty_performed == text_with_breaks


# -- the address: paths, pickers, filters, pages ----------------------------------------------------
def test_a_control_character_in_the_query_string_is_refused(app, people, desk, get_route):
    browsers, tokens = people
    endpoint, rule_text = get_route.split(" ")
    url = re.sub(r"<(?:[a-z]+:)?(\w+)>", lambda m: {"kind": "officer", "locale": "th", "version": "v1",
                                                    "group_by": "0"}.get(m.group(1), "1"), rule_text)
    browser = browsers["admin"]
    headers = {"Authorization": f"Bearer {tokens['admin']}"} if url.startswith("/api/") else {}
    for bad in (NUL, ESCAPE):
        response = browser.client.get(url, query_string={"q": bad}, headers=headers)
        _assert_refused(response, browser.client, (url, bad), statuses={400})


def _largest(column_type) -> int:
    """The largest number a column of this type holds (audit events have BIGINT ids)."""
    from sqlalchemy import BigInteger

    return 2**63 - 1 if isinstance(column_type, BigInteger) else 2**31 - 1


def _largest_id(model) -> int:
    return _largest(next(iter(model.__table__.primary_key.columns)).type)


def _search_values(datamodel, column) -> list[str]:
    """What no value of the column can be: NUL in text, impossible ids, integers past the column."""
    if datamodel.is_relation(column):
        return [str(_largest_id(datamodel.get_related_model(column)) + 1), "-1", "abc"]
    if datamodel.is_integer(column):
        return [str(_largest(datamodel.list_columns[column].type) + 1), "abc"]
    if datamodel.is_string(column) or datamodel.is_text(column):
        return [NUL]
    return []


def test_search_filters_refuse_values_no_column_holds(app, people, list_screen):
    browsers, _tokens = people
    view_name = list_screen.partition(".")[0]
    view = _view(app, view_name)
    browser = browsers[USER_OF_VIEW.get(view_name, "admin")]
    url = app.url_map.bind("localhost").build(list_screen)
    tried = 0
    for column in view.search_columns or []:
        for bad in _search_values(view.datamodel, column):
            response = browser.get(url, query_string={f"_flt_0_{column}": bad})
            _assert_refused(response, browser.client, (url, column, bad), statuses={400})
            tried += 1
        count = len(view.datamodel.filter_converter_class(view.datamodel).convert(column) or [])
        if count < 10:  # FAB reads one digit: a column with ten searches has them all in reach
            response = browser.get(url, query_string={f"_flt_{count}_{column}": "1"})  # one past the last
            _assert_refused(response, browser.client, (url, column, f"filter {count}"), statuses={400})
            tried += 1
    assert tried or not view.search_columns


def test_list_screens_refuse_pages_out_of_range(app, people, list_screen):
    browsers, _tokens = people
    view_name = list_screen.partition(".")[0]
    browser = browsers[USER_OF_VIEW.get(view_name, "admin")]
    url = app.url_map.bind("localhost").build(list_screen)
    for bad in NOT_PAGES:
        response = browser.get(url, query_string={f"page_{view_name}": bad})
        _assert_refused(response, browser.client, (url, "page", bad), statuses={400})
    for bad in NOT_PAGE_SIZES:
        response = browser.get(url, query_string={f"psize_{view_name}": bad})
        _assert_refused(response, browser.client, (url, "psize", bad), statuses={400})
    assert browser.get(url, query_string={f"page_{view_name}": "0", f"psize_{view_name}": "100"}).status_code == 200


def test_an_id_no_row_can_have_in_the_address_is_not_found(app, people, id_route):
    browsers, tokens = people
    endpoint, rule_text, method = id_route.split(" ")
    view = _view(app, endpoint.partition(".")[0])
    browser = browsers[USER_OF_VIEW.get(endpoint.partition(".")[0], "admin")]
    model = getattr(getattr(view, "datamodel", None), "obj", None)
    largest = _largest_id(model) if model is not None else 2**31 - 1
    token = browser.csrf_token("/requests/new/external_search")
    before = _fingerprint(app)
    for bad in (str(largest + 1), "0", "-1", "abc", str(2**64)):
        url = re.sub(r"<(?:[a-z]+:)?(\w+)>", lambda m, bad=bad: bad if _names_a_record(m.group(1)) else "x",
                     rule_text)
        if url.startswith("/api/"):
            headers = {"Authorization": f"Bearer {tokens['admin']}"}
            response = browser.client.open(url, method=method, json={}, headers=headers)
        elif method == "GET":
            response = browser.get(url)
        else:
            response = browser.client.open(url, method=method, data={"csrf_token": token, "version": "1"})
        # -1 and abc match no route of an <int:pk>, and may then match another method's route
        _assert_refused(response, browser.client, (method, url), statuses={404, 405})
    assert _changed(before, _fingerprint(app)) == {}


# -- the REST API ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spec(app, people):
    _browsers, tokens = people
    response = app.test_client().get("/api/v1/_openapi", headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert response.status_code == 200
    return response.get_json()


def _schema(spec, schema) -> dict:
    """The object schema of a request body, its $refs and allOf resolved."""
    if "$ref" in schema:
        return _schema(spec, spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
    if "allOf" in schema:
        merged = {"type": "object", "properties": {}}
        for part in schema["allOf"]:
            merged["properties"].update(_schema(spec, part).get("properties", {}))
        return merged
    return schema


def _operations(spec) -> list[tuple[str, str, dict]]:
    """(method, path, body schema) of every operation that takes a JSON body."""
    found = []
    for path, operations in sorted(spec["paths"].items()):
        for method, operation in sorted(operations.items()):
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is not None:
                found.append((method.upper(), path, _schema(spec, body)))
    return found


API_USER = {"/api/v1/requests/{pk}/decide": "head", "/api/v1/requests/items/{item_id}/activation": "centralit",
            "/api/v1/officers/": "personnel", "/api/v1/officers/{pk}": "personnel",
            "/api/v1/security/login": None, "/api/v1/imports/": "personnel",
            "/api/v1/grants/assign": "commandtech", "/api/v1/review-campaigns/": "commandtech",
            "/api/v1/reviews/items/{pk}/decide": "commandtech",
            "/api/v1/deactivation-notices/{pk}/confirm": "centralit"}
# Whose operations these are, by the start of their path (the rest: the officer's, or API_USER's).
API_USER_OF_PATHS = {"/api/v1/grants/": "commandtech"}


def _api_user(app, path: str) -> str | None:
    if path in API_USER:
        return API_USER[path]
    if _reference_api(app, path) is not None:
        return "admin"  # reference data: Admin writes it
    return next((user for start, user in API_USER_OF_PATHS.items() if path.startswith(start)), "officer")


def _reference_api(app, path: str):
    """The reference-data resource (app.api.reference) an operation's path belongs to, if one."""
    from app.api.reference import REFERENCE_APIS

    names = {api.__name__ for api in REFERENCE_APIS}
    return next((api for api in app.appbuilder.baseviews if type(api).__name__ in names
                 and path in (f"{api.route_base}/", f"{api.route_base}/{{pk}}")), None)


def _api_call(app, people, desk, method, path):
    """Who calls an operation, its URL, and a body it would accept (hostile tests change one field)."""
    from app.extensions import db
    from app.models import AccessRequest

    _browsers, tokens = people
    username = _api_user(app, path)
    with app.app_context():
        session = db.session
        draft, waiting = session.get(AccessRequest, desk["draft"]), session.get(AccessRequest, desk["waiting"])
        item = session.get(RequestItem, desk["item"])
        officer = session.get(Officer, desk["officer"])
        station = session.scalar(select(Unit.id).where(Unit.code == "KKN-MUEANG"))
        bodies = {
            ("POST", "/api/v1/requests/"): {
                "kind": "external_search", "contact_email": "hostile@police.example", "contact_mobile": "0812345678",
                "duty_performed": "สืบสวน", "pledge_accepted": True, "certifying_head_id": desk["head"],
                "sources": [{"data_source_id": desk["sources"]["vehicles"]}]},
            ("PUT", "/api/v1/requests/{pk}"): {"duty_performed": "สืบสวน", "contact_email": "h@police.example",
                                               "version": draft.version},
            ("POST", "/api/v1/requests/{pk}/submit"): {"version": draft.version},
            ("POST", "/api/v1/requests/{pk}/cancel"): {"version": draft.version, "comment": "ยกเลิก"},
            ("POST", "/api/v1/requests/{pk}/decide"): {"transition": "return", "comment": "แก้ไข",
                                                       "version": waiting.version},
            ("POST", "/api/v1/requests/items/{item_id}/activation"): {
                "activated": True, "agency_reference": "REF-1", "version": item.version},
            ("POST", "/api/v1/officers/"): {
                "national_id": _new_national_id(), "rank": officer.rank_id, "first_name_th": "ทดสอบ",
                "last_name_th": "ป้อนร้าย", "status": "active", "home_unit": station},
            ("PUT", "/api/v1/officers/{pk}"): {"first_name_th": officer.first_name_th, "version": officer.version},
            ("POST", "/api/v1/security/login"): {"username": "officer", "password": DEMO_PASSWORD,
                                                 "provider": "db", "refresh": True},
        }
        pk = {"/api/v1/requests/{pk}/decide": waiting.id, "/api/v1/officers/{pk}": officer.id}.get(path, draft.id)
        reference = _reference_api(app, path)
        if reference is not None:  # a row of its own table
            pk = session.scalar(select(func.min(reference.datamodel.obj.id)))
    url = path.replace("{pk}", str(pk)).replace("{item_id}", str(desk["item"]))
    headers = {"Authorization": f"Bearer {tokens[username]}"} if username else {}
    return url, headers, bodies.get((method, path))


def _new_national_id():
    from tests.factories import new_national_id

    return new_national_id()


def _generic_body(schema) -> dict:
    """A body from the schema alone, for an operation this file does not know yet."""
    sample = {"string": "x", "integer": 1, "number": 1, "boolean": False, "array": [], "object": {}}
    return {name: sample.get(prop.get("type"), "x") for name, prop in schema.get("properties", {}).items()}


def _fields_of(schema, kind) -> list[str]:
    """The body's fields a kind of bad value fits: text, ids (and lists of them), the version."""
    names = []
    for name, prop in sorted(schema.get("properties", {}).items()):
        prop_type = prop.get("type")
        item_type = prop.get("items", {}).get("type") if prop_type == "array" else None
        fits = {
            "text": prop_type == "string",
            "id": "integer" in (prop_type, item_type) and name != "version",
            "version": name == "version",
        }
        if fits[kind]:
            names.append(name)
    return names


def _each_field(app, people, desk, spec, operation, kind, values, statuses) -> int:
    """Send each bad value in each field of that kind, one at a time; returns how many were sent."""
    method, path = operation.split(" ")
    schema = next((s for m, p, s in _operations(spec) if (m, p) == (method, path)), None)
    assert schema is not None, f"{operation} is not in the served /api/v1/_openapi"
    if not _fields_of(schema, kind):
        pytest.skip(f"no {kind} field in this body")
    sent = 0
    for name in _fields_of(schema, kind):
        is_list = schema["properties"][name].get("type") == "array"
        for bad in values:
            url, headers, body = _api_call(app, people, desk, method, path)
            body = {**(body if body is not None else _generic_body(schema)), name: [bad] if is_list else bad}
            client = app.test_client()
            response = client.open(url, method=method, json=body, headers=headers)
            _assert_refused(response, client, (operation, name, str(bad)[:20]), statuses=statuses)
            assert "field" in response.get_json(), (operation, response.get_json())
            sent += 1
    return sent


@pytest.mark.parametrize("bad", [NUL, ESCAPE, "\ud800", LONGER_THAN_ANY], ids=["nul", "escape", "surrogate", "100001"])
def test_api_bodies_refuse_control_characters_and_text_too_long(app, people, desk, spec, operation, bad):
    before = _fingerprint(app)
    _each_field(app, people, desk, spec, operation, "text", [bad], {400})
    assert _changed(before, _fingerprint(app)) == {}


def test_api_bodies_refuse_ids_no_row_can_have(app, people, desk, spec, operation):
    before = _fingerprint(app)
    _each_field(app, people, desk, spec, operation, "id", [int(HUGE), -1, "abc", 1.5, 2**64], {400})
    assert _changed(before, _fingerprint(app)) == {}


def test_api_bodies_refuse_a_version_that_is_not_a_whole_number(app, people, desk, spec, operation):
    before = _fingerprint(app)
    _each_field(app, people, desk, spec, operation, "version", ["abc", "1", 1.5, True, [1]], {400})
    _each_field(app, people, desk, spec, operation, "version", [int(HUGE), -1, 2**64], {400, 409})
    assert _changed(before, _fingerprint(app)) == {}


def test_the_api_body_tests_reach_every_kind_of_field(app):
    """The tests above would pass vacuously on an empty document: it has each kind of field."""
    document = _openapi(app)
    for kind in ("text", "id", "version"):
        assert any(_fields_of(schema, kind) for _m, _p, schema in _operations(document)), kind


def test_api_refuses_a_nul_in_a_key_and_json_nested_too_deep(app, people, desk, operation):
    method, path = operation.split(" ")
    url, headers, _body = _api_call(app, people, desk, method, path)
    before = _fingerprint(app)
    client = app.test_client()
    for raw in (json.dumps({"x\x00": 1}), "[" * 50_000 + "]" * 50_000):
        response = client.open(url, method=method, data=raw, content_type="application/json", headers=headers)
        _assert_refused(response, client, (operation, raw[:10]), statuses={400})
    assert _changed(before, _fingerprint(app)) == {}


def test_api_lists_refuse_pages_out_of_range(app, people, api_resource):
    _browsers, tokens = people
    api = _view(app, api_resource)
    url = f"/api/v1/{api.resource_name}/"
    client = app.test_client()
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    for args in ({"page": 10**20}, {"page": -1}, {"page": 2**31}, {"page_size": -5, "page": 10**19}):
        response = client.get(url, query_string={"q": prison.dumps(args)}, headers=headers)
        _assert_refused(response, client, (url, args), statuses={400})
    ok = client.get(url, query_string={"q": prison.dumps({"page": 0, "page_size": 100})}, headers=headers)
    assert ok.status_code == 200


def test_the_requests_api_refuses_pages_out_of_range(app, people):
    _browsers, tokens = people
    client = app.test_client()
    headers = {"Authorization": f"Bearer {tokens['officer']}"}
    for url in ("/api/v1/requests/", "/api/v1/requests/inbox"):
        for args in ({"page": "99999999999999999999"}, {"page": "-1"}, {"page_size": "abc"}, {"page": "1e3"}):
            response = client.get(f"{url}?{urlencode(args)}", headers=headers)
            _assert_refused(response, client, (url, args), statuses={400})


def test_api_list_filters_refuse_values_no_column_holds(app, people, api_resource):
    _browsers, tokens = people
    api = _view(app, api_resource)
    url = f"/api/v1/{api.resource_name}/"
    client = app.test_client()
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    tried = 0
    for column in api.search_columns:
        operators = [f.arg_name for f in api._filters.get_search_filters().get(column, [])]
        for bad in _search_values(api.datamodel, column):
            value = int(bad) if bad.lstrip("-").isdigit() else bad  # rison carries numbers as numbers
            for operator in operators:
                q = prison.dumps({"filters": [{"col": column, "opr": operator, "value": value}]})
                response = client.get(url, query_string={"q": q}, headers=headers)
                _assert_refused(response, client, (url, column, operator, bad), statuses={400})
                tried += 1
    assert tried


# -- the rules themselves, and how a refusal reads -----------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    ("42", 42), (42, 42), ("๔๒", 42), (" 7 ", 7), (2**31 - 1, 2**31 - 1), (3.0, 3),
    (str(2**31), None), ("0", None), ("-1", None), ("abc", None), ("1.5", None), ("", None), (None, None),
    (True, None), (1.5, None), ("²", None), ("9" * 5000, None), ([1], None),
])
def test_an_id_is_a_whole_number_a_row_can_have(value, expected):
    from app.domain.inputs import as_id

    assert as_id(value) == expected


@pytest.mark.parametrize("value", ["abc", "", "1.5", "-1", HUGE, 1.5, True, [1]])
def test_a_version_that_is_not_a_whole_number_is_a_validation_error(value):
    from app.domain.inputs import expected_version
    from app.errors import ValidationFailed

    assert expected_version(None) is None and expected_version("3") == 3 and expected_version(0) == 0
    with pytest.raises(ValidationFailed):
        expected_version(value)


def test_a_refusal_speaks_the_readers_language(app, people):
    browsers, _tokens = people
    thai = browsers["officer"].get("/requests/new", query_string={"q": NUL})  # Thai is the default
    assert thai.status_code == 400 and "อักขระควบคุม" in _message(thai, browsers["officer"].client)
    english = app.test_client()
    english.get("/lang/en")
    response = english.get("/login/", query_string={"q": NUL})
    assert "control character" in _message(response, english)
    response = app.test_client().post("/api/v1/security/login?_l_=en", json={"username": NUL, "password": "x"})
    assert response.status_code == 400
    assert response.get_json() == {"message": response.get_json()["message"], "field": "username"}
    assert "control character" in response.get_json()["message"]


def test_digits_int_cannot_read_are_no_crash_in_searches(app, people):
    browsers, _tokens = people
    admin = browsers["admin"]
    for value in ("²", "๑๒", HUGE):  # digits to str.isdigit(), not all of them to int()
        assert admin.get("/officerview/list/", query_string={"_flt_0_national_id": value}).status_code == 200
    for value in ("²", HUGE):  # the grant picker searches by id
        response = admin.get("/lookup/grant", query_string={"q": value})
        assert response.status_code == 200 and response.get_json()["results"] == []


def test_a_made_up_choice_in_a_multiple_select_is_refused_not_dropped(app, people):
    """FAB's multiple select dropped a value that is not a choice: the rest was saved as if valid."""
    from app.extensions import db

    browsers, _tokens = people
    admin = browsers["admin"]
    with app.app_context():
        auditor = db.session.scalar(select(User).where(User.username == "auditor"))
        user_id, roles = auditor.id, sorted(r.id for r in auditor.roles)
    url = f"/users/edit/{user_id}"
    parser = _Forms()
    parser.feed(admin.get(url).get_data(as_text=True))
    form = next(f for f in parser.forms if f.action in ("", url))
    data = {**form.values, "roles": [str(r) for r in roles] + [HUGE], "csrf_token": admin.csrf_token(url)}
    response = admin.client.post(url, data=data)
    _assert_refused(response, admin.client, ("roles", HUGE), statuses={200})
    with app.app_context():
        assert sorted(r.id for r in db.session.get(User, user_id).roles) == roles


def test_a_value_the_database_refuses_is_told_without_its_sql(app, people):
    """A CHECK the form does not know (a stage's position is at least 1) said so in SQL."""
    from app.extensions import db
    from app.models import ApprovalStage

    browsers, _tokens = people
    admin = browsers["admin"]
    with app.app_context():
        stage = db.session.scalar(select(ApprovalStage).order_by(ApprovalStage.id).limit(1))
        stage_id, position = stage.id, stage.position
    url = f"/approvalstageview/edit/{stage_id}"
    parser = _Forms()
    parser.feed(admin.get(url).get_data(as_text=True))
    form = next(f for f in parser.forms if f.action in ("", url))
    before = _fingerprint(app)
    response = admin.client.post(url, data={**form.values, "position": "-1", "csrf_token": admin.csrf_token(url)})
    _assert_refused(response, admin.client, ("position", "-1"))
    assert _changed(before, _fingerprint(app)) == {}
    with app.app_context():
        assert db.session.get(ApprovalStage, stage_id).position == position
