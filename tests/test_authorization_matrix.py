"""The authorization matrix, kept as data: every route × every role (× data scope for records).

Every rule of `app.url_map` must be either protected by a permission (its view's resource and
read/write/delete, which the roles of app/security/roles.py grant or not) or listed in PUBLIC
with the reason it needs no login; a new endpoint cannot ship unprotected. For each route and
each demo login the answer must be the expected one: refused (403, or 401 on the API) without
the permission, never refused and never a 500 with it, and a login page (302) or 401 for anonymous
users. Records are then read across commands: each role sees exactly the rows SCOPE says.
"""
import re

import pytest
from sqlalchemy import select

from app.models import AccessRequest, Officer, Unit, User
from app.security.roles import ROLES
from tests.conftest import api_token

USERS = ["officer", "commandtech", "personnel", "commandtech2", "centralit", "auditor", "admin"]
ROLE_OF = {"officer": "Officer", "head": "Officer", "commandtech": "CommandTech", "personnel": "Personnel",
           "commandtech2": "CommandTech", "centralit": "CentralIT", "auditor": "Auditor", "admin": "Admin"}

# Endpoints that answer without a permission, and why.
PUBLIC = {
    "static": "static files",
    "appbuilder.static": "Flask-AppBuilder's static files",
    "AuthDBView.login": "the login page",
    "AuthDBView.logout": "logging out",
    "LocaleView.index": "switching language",
    "UtilView.back": "FAB's back link",
    "HomeView.index": "the landing page (shows a login button to anonymous users)",
    "LookupView.lookup": "checks can_read on the looked-up resource itself (test_security)",
    "SecurityApi.login": "the API's JWT login",
    "SecurityApi.refresh": "needs a refresh token",
    "health.status": "the load balancer's check: database and Redis up or down, no personal data",
}
# Flask-AppBuilder's own security screens check each action's permission inside the handler.
FAB_SECURITY_ACTIONS = re.compile(
    r"^(UserDBModelView|UserGroupModelView|RoleModelView|PermissionModelView|ViewMenuModelView|"
    r"PermissionViewModelView)\.(action|action_post)$")
NOT_AS_LOGGED_IN = {"AuthDBView.logout", "AuthDBView.login"}  # would end the session under test


@pytest.fixture(scope="module")
def clients(app):
    """Per demo login: a logged-in test client, its CSRF token, a JWT, and the permissions held."""
    from tests.conftest import Browser

    made = {}
    for username in USERS:
        browser = Browser(app.test_client())
        assert browser.login(username).status_code == 302
        token = api_token(app.test_client(), username)
        csrf = browser.csrf_token("/requests/new/external_search")
        with app.app_context():
            role = app.appbuilder.sm.find_role(ROLE_OF[username])
            held = {(pv.permission.name, pv.view_menu.name) for pv in role.permissions}
        made[username] = (browser, csrf, token, held)
    return made


@pytest.fixture(scope="module")
def samples(app):
    return _sample_ids(app)


def _routes(app):
    return sorted((r for r in app.url_map.iter_rules()), key=lambda r: (r.rule, r.endpoint))


def _view_method(app, endpoint):
    name, _, method = endpoint.partition(".")
    for view in app.appbuilder.baseviews:
        if type(view).__name__ == name:
            return view, method
    return None, method


def _required(app, endpoint):
    """(permission, resource) the endpoint is protected by, or None when it is not protected."""
    view, method = _view_method(app, endpoint)
    if view is None:
        return None
    function = getattr(view, method, None)
    permission = getattr(function, "_permission_name", None)
    if permission is None:
        return None
    permission = view.method_permission_name.get(method, permission)
    return f"can_{permission}" if not permission.startswith("can_") else permission, view.class_permission_name


def test_every_route_is_protected_or_listed_as_public(app):
    unprotected = [f"{r.rule} ({r.endpoint})" for r in _routes(app)
                   if r.endpoint not in PUBLIC and not FAB_SECURITY_ACTIONS.match(r.endpoint)
                   and _required(app, r.endpoint) is None]
    assert unprotected == [], "routes with no permission check: protect them or list them in PUBLIC"


def _sample_ids(app):
    """One existing row id per model, taken from ภ.จว.ขอนแก่น (the demo command)."""
    from app.extensions import db

    with app.app_context():
        officer = db.session.scalar(select(Officer).join(User, Officer.user_id == User.id).where(User.username == "officer"))
        request_id = db.session.scalar(select(AccessRequest.id).where(AccessRequest.requester_id == officer.id).limit(1))
        return {"officer_request": request_id}


def _url(app, rule, samples):
    view, _method = _view_method(app, rule.endpoint)
    values = {}
    for argument in rule.arguments:
        if argument in ("pk", "item_id", "attachment_id", "id", "letter_id"):
            values[argument] = 999999 if "delete" in rule.endpoint else _pk_for(app, view, samples)
        elif argument == "kind":
            values[argument] = "external_search"
        elif argument == "name":
            values[argument] = "no_such_action"
        elif argument == "group_by":
            values[argument] = "0"
        else:
            values[argument] = "x"
    url = rule.rule
    for key, value in values.items():
        url = re.sub(rf"<(?:[a-z]+:)?{key}>", str(value), url)
    if rule.endpoint.endswith(".list"):
        url += f"?psize_{rule.endpoint.split('.')[0]}=1"  # one row is enough to judge the answer
    return url


def _pk_for(app, view, samples):
    from app.extensions import db

    datamodel = getattr(view, "datamodel", None)
    if datamodel is None or not hasattr(datamodel, "obj"):
        return samples["officer_request"]
    with app.app_context():
        pk = db.session.scalar(select(datamodel.obj.id).order_by(datamodel.obj.id).limit(1))
    return pk or 1


def _refused_by_permission(response, is_api: bool) -> bool:
    """FAB's own refusal, told apart from a rule of the service refusing this user this record."""
    if not is_api:
        return response.status_code == 403
    if response.status_code == 401:
        return True
    return response.status_code == 403 and (response.get_json(silent=True) or {}).get("message") == "Forbidden"


def _call(client, method, url, token=None, csrf=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "GET":
        return client.get(url, headers=headers)
    if url.startswith("/api/"):
        return client.open(url, method=method, json={}, headers=headers)
    return client.open(url, method=method, data={"csrf_token": csrf} if csrf else {}, headers=headers)


def pytest_generate_tests(metafunc):
    if "route_key" in metafunc.fixturenames:
        from tests.conftest import build_app

        # Route names only: building an app does not touch a database.
        app = build_app("sqlite://")
        keys = [f"{r.endpoint} {r.rule} {m}" for r in _routes(app)
                for m in sorted(r.methods - {"HEAD", "OPTIONS"}) if r.endpoint not in ("static", "appbuilder.static")]
        metafunc.parametrize("route_key", keys)


@pytest.mark.skipif(bool(__import__("os").environ.get("SITTHI_TEST_POSTGRES")),
                    reason="permissions do not depend on the database; the scope tests run on both")
def test_each_role_gets_what_its_permissions_say(app, clients, samples, route_key):
    endpoint, rule_text, method = route_key.split(" ")
    rule = next(r for r in _routes(app) if r.endpoint == endpoint and r.rule == rule_text)
    url = _url(app, rule, samples)
    required = _required(app, endpoint)
    is_api = rule_text.startswith("/api/")

    anonymous = _call(app.test_client(), method, url)
    assert anonymous.status_code != 500
    if required is not None and endpoint not in PUBLIC:
        if is_api:
            assert anonymous.status_code == 401, url
        elif method == "GET":
            assert anonymous.status_code == 302 and "/login/" in anonymous.headers["Location"], url
        else:
            assert anonymous.status_code in (302, 400), url  # login redirect, or CSRF refusal first

    if endpoint in NOT_AS_LOGGED_IN:
        return
    for username in USERS:
        browser, csrf, token, held = clients[username]
        response = _call(browser.client, method, url, token=token if is_api else None, csrf=csrf)
        assert response.status_code != 500, (username, method, url)
        if required is None:
            continue
        allowed = required in held
        assert _refused_by_permission(response, is_api) != allowed, (
            username, method, url, response.status_code, required)


# -- records across commands ----------------------------------------------------------------------
# Which officers' records each role reads on the officer screen: own, same unit (สภ.เมืองขอนแก่น),
# same command (another station of ภ.จว.ขอนแก่น), other command (a station of บก.น.1).
SCOPE = {
    #               own    same unit  same command  other command
    "commandtech":  (True,  True,      True,         False),
    "personnel":    (True,  True,      True,         False),
    "commandtech2": (True,  False,     False,        True),
    "centralit":    (True,  True,      True,         True),
    "auditor":      (True,  True,      True,         True),
    "admin":        (True,  True,      True,         True),
}


@pytest.fixture(scope="module")
def people(app):
    """An officer in each scope, with a grant and a submitted request each (committed)."""
    from app.extensions import db
    from tests.factories import make_grant, make_officer, make_request, make_unit

    with app.app_context():
        units = {u.code: u for u in db.session.scalars(select(Unit).where(Unit.code.in_(("KKN", "KKN-MUEANG", "MPD1"))))}
        same_unit = make_officer(db.session, units["KKN-MUEANG"])
        same_command = make_officer(db.session, make_unit(db.session, parent=units["KKN"]))
        other_command = make_officer(db.session, make_unit(db.session, parent=units["MPD1"]))
        rows = {}
        for name, officer in (("same unit", same_unit), ("same command", same_command),
                              ("other command", other_command)):
            rows[name] = (officer.id, make_grant(db.session, officer).id, make_request(db.session, officer).id)
        db.session.commit()
        return rows


@pytest.mark.parametrize("username", sorted(SCOPE))
def test_each_role_reads_exactly_its_scope(app, login, people, username):
    from app.extensions import db

    user = login(username)
    with app.app_context():
        me = db.session.scalar(select(Officer.id).join(User, Officer.user_id == User.id).where(User.username == username))
    expected = dict(zip(("own", "same unit", "same command", "other command"), SCOPE[username], strict=True))
    targets = {"own": (me, None, None), **people}
    for scope, (officer_id, grant_id, request_id) in targets.items():
        sees = expected[scope]
        status = user.get(f"/officerview/show/{officer_id}").status_code
        assert (status == 200) == sees, (username, scope, "officer", status)
        if grant_id:
            status = user.get(f"/grantview/show/{grant_id}").status_code
            if username == "personnel":
                assert status == 403  # grants are not personnel staff's screen at all
            else:
                assert (status == 200) == sees, (username, scope, "grant", status)
            status = user.get(f"/requests/show/{request_id}").status_code
            assert (status == 200) == sees, (username, scope, "request", status)
            listing = user.get(f"/officerview/list/?_flt_0_national_id={_nid(app, officer_id)}").get_data(as_text=True)
            assert (f"/officerview/show/{officer_id}" in listing) == sees, (username, scope, "list")


def _nid(app, officer_id):
    from app.extensions import db

    with app.app_context():
        return db.session.get(Officer, officer_id).national_id


def test_the_matrix_covers_every_role(app):
    assert set(ROLE_OF.values()) == set(ROLES) | {"Admin"}
