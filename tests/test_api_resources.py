"""REST resources for officers, units, grants and the audit trail: the screens' scope, with JWTs.

Each reader sees through the API exactly the rows the scope rule gives them: their command's
subtree (commandtech and personnel in Khon Kaen, commandtech2 in บก.น.1) or the whole country
(centralit, auditor). The expected rows are worked out here from the unit tree directly, not
through app.security.scope, so the test does not grade the rule with itself.

Other test modules add officers and grants too, so every expectation is read from the database at
the moment it is checked; rows this module adds are committed and left in place.
"""
import json
import re

import pytest
from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import AuditEvent, DutyLine, Grant, Officer, Rank, Unit
from app.services import audit
from tests.conftest import DEMO_PASSWORD, ApiUser, counted_statements
from tests.factories import make_grant, make_officer, new_national_id

API = "/api/v1"
RESOURCES = ("officers", "units", "grants", "audit-events")
AUDIT_MARK = "ApiResourcesTest"  # object_type of the audit events this module writes itself


@pytest.fixture()
def api(app, api_tokens, world):
    """api("personnel") -> an ApiUser holding personnel's JWT (after the module's rows exist)."""

    def _api(username: str) -> ApiUser:
        return ApiUser(app.test_client(), api_tokens(username))

    return _api


def _subtree(session, code: str) -> set[int]:
    """The ids of a unit and everything below it, walked in Python from parent_id."""
    children: dict[int | None, list[int]] = {}
    for unit_id, parent_id in session.execute(select(Unit.id, Unit.parent_id)):
        children.setdefault(parent_id, []).append(unit_id)
    root = session.scalar(select(Unit.id).where(Unit.code == code))
    found, todo = set(), [root]
    while todo:
        unit_id = todo.pop()
        found.add(unit_id)
        todo.extend(children.get(unit_id, []))
    return found


@pytest.fixture(scope="module")
def world(app):
    """Rows on both sides of the line between Khon Kaen (KKN) and บก.น.1 (MPD1), committed.

    Also a Personnel login of บก.น.1 (personnel_mpd1): a writer whom the KKN rows are not for.
    """
    with app.app_context():
        session = db.session
        units = {u.code: u for u in session.scalars(select(Unit).where(
            Unit.code.in_(["KKN", "KKN-MUEANG", "MPD1", "MPD1-01", "MPD1-02"])))}
        kkn_officer = make_officer(session, units["KKN-MUEANG"])
        mpd1_officer = make_officer(session, units["MPD1-01"])
        # Home in บก.น.1, assigned for now to a Khon Kaen station: both commands see them.
        assigned = make_officer(session, units["MPD1-02"], acting_unit=units["KKN-MUEANG"])
        # Home in Khon Kaen, assigned to บก.น.1: Khon Kaen's personnel still keep the record.
        lent = make_officer(session, units["KKN-MUEANG"], acting_unit=units["MPD1-01"])
        kkn_grant = make_grant(session, kkn_officer)
        mpd1_grant = make_grant(session, mpd1_officer)
        for unit in (units["KKN-MUEANG"], units["MPD1-01"]):
            audit.record(session, "api_resources.test", object_type=AUDIT_MARK, object_id=unit.id,
                         unit_id=unit.id, summary=unit.code)
        sm = app.appbuilder.sm
        user = sm.find_user(username="personnel_mpd1") or sm.add_user(
            "personnel_mpd1", "บุคคล", "นครบาล", "personnel_mpd1@sitthi.example",
            sm.find_role("Personnel"), password=DEMO_PASSWORD)
        if session.scalar(select(Officer.id).where(Officer.user_id == user.id)) is None:
            make_officer(session, units["MPD1"], user=user)
        session.commit()
        return {
            "unit": {code: unit.id for code, unit in units.items()},
            "rank": kkn_officer.rank_id,
            "kkn_officer": kkn_officer.id, "mpd1_officer": mpd1_officer.id,
            "assigned": assigned.id, "lent": lent.id,
            "kkn_grant": kkn_grant.id, "mpd1_grant": mpd1_grant.id,
        }


def _rows(user: ApiUser, resource: str, q: str = "") -> list[dict]:
    """Every row of a list, a page of 100 at a time; the pages add up to `count`."""
    rows, page = [], 0
    while True:
        response = user.get(f"{API}/{resource}/?q=(page:{page},page_size:100{q})")
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        rows += body["result"]
        if len(body["result"]) < 100:
            assert len(rows) == body["count"], resource
            return rows
        page += 1


def _officers_in(session, command: str | None) -> set[int]:
    query = select(Officer.id)
    if command is not None:
        within = _subtree(session, command)
        query = query.where(or_(Officer.home_unit_id.in_(within), Officer.acting_unit_id.in_(within)))
    return set(session.scalars(query))


def _expected(app, resource: str, scope: str) -> set[int]:
    """The ids a reader of `scope` ("KKN", "MPD1" or "all") should get, from the unit tree."""
    command = None if scope == "all" else scope
    with app.app_context():
        session = db.session
        if resource == "officers":
            return _officers_in(session, command)
        if resource == "units":
            return set(session.scalars(select(Unit.id)))
        if resource == "grants":
            officers = _officers_in(session, command)
            return {g for g, o in session.execute(select(Grant.id, Grant.officer_id)) if o in officers}
        assert scope == "all"
        return set(session.scalars(select(AuditEvent.id).where(AuditEvent.object_type == AUDIT_MARK)))


def _officer_row(app, pk: int) -> tuple:
    with app.app_context():
        officer = db.session.get(Officer, pk)
        return (officer.home_unit_id, officer.acting_unit_id, officer.mobile, officer.national_id,
                officer.version)


def _officer_body(world, unit: str = "KKN-MUEANG", **fields) -> dict:
    body = {"national_id": new_national_id(), "rank": world["rank"], "first_name_th": "สมชาย",
            "last_name_th": "ใจดี", "status": "active", "home_unit": world["unit"][unit],
            "position_title": "ผบ.หมู่", "mobile": "0811111111"}
    body.update(fields)
    return body


def _count_with_national_id(app, value: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Officer.id)).where(Officer.national_id == value))


# -- who reads what -------------------------------------------------------------------------------
READERS = {
    # user: {resource: scope of the rows they get, or 403}
    "commandtech": {"officers": "KKN", "units": "all", "grants": "KKN", "audit-events": 403},
    "commandtech2": {"officers": "MPD1", "units": "all", "grants": "MPD1", "audit-events": 403},
    "personnel": {"officers": "KKN", "units": "all", "grants": 403, "audit-events": 403},
    "centralit": {"officers": "all", "units": "all", "grants": "all", "audit-events": 403},
    "auditor": {"officers": "all", "units": "all", "grants": "all", "audit-events": "all"},
    "officer": {"officers": 403, "units": 403, "grants": 403, "audit-events": 403},
}
MATRIX = [(user, resource, scope) for user, scopes in READERS.items() for resource, scope in scopes.items()]


@pytest.mark.parametrize("username, resource, scope", MATRIX, ids=[f"{u}-{r}" for u, r, _ in MATRIX])
def test_each_reader_lists_exactly_their_scope(app, api, world, username, resource, scope):
    user = api(username)
    if scope == 403:
        assert user.get(f"{API}/{resource}/").status_code == 403
        assert user.get(f"{API}/{resource}/1").status_code == 403
        return
    q = f",filters:!((col:object_type,opr:eq,value:{AUDIT_MARK}))" if resource == "audit-events" else ""
    listed = {row["id"] for row in _rows(user, resource, q)}
    assert listed == _expected(app, resource, scope)


def test_the_line_between_commands(api, world):
    """The rows made for this test land on the right side, the assigned officer on both."""
    kkn = {row["id"] for row in _rows(api("commandtech"), "officers")}
    mpd1 = {row["id"] for row in _rows(api("commandtech2"), "officers")}
    assert {world["kkn_officer"], world["assigned"], world["lent"]} <= kkn
    assert world["mpd1_officer"] not in kkn
    assert {world["mpd1_officer"], world["assigned"], world["lent"]} <= mpd1
    assert world["kkn_officer"] not in mpd1
    grants = {row["id"] for row in _rows(api("commandtech2"), "grants")}
    assert world["mpd1_grant"] in grants and world["kkn_grant"] not in grants


def test_lists_mask_the_national_id_and_one_record_shows_it(app, api, world):
    reader = api("commandtech")
    pk = world["kkn_officer"]
    full = _officer_row(app, pk)[3]
    row = next(r for r in _rows(reader, "officers") if r["id"] == pk)
    assert "national_id" not in row
    assert row["national_id_masked"] == f"{full[0]}-{full[1:5]}-xxxxx-xx-{full[12]}"
    assert full not in json.dumps(reader.get(f"{API}/officers/?q=(page_size:100)").get_json())
    # Asking for the column by name does not unmask it.
    asked = reader.get(f"{API}/officers/?q=(columns:!(id,national_id),page_size:100)").get_json()
    assert all("national_id" not in r for r in asked["result"])
    one = reader.get(f"{API}/officers/{pk}").get_json()["result"]
    assert one["national_id"] == full
    assert one["home_unit"] == {"id": world["unit"]["KKN-MUEANG"], "code": "KKN-MUEANG",
                                "abbr_th": "สภ.เมืองขอนแก่น"}


def test_relationships_are_shown_not_foreign_keys(api, world):
    grant = api("commandtech").get(f"{API}/grants/{world['kkn_grant']}").get_json()["result"]
    assert grant["officer"]["id"] == world["kkn_officer"]
    assert "officer_id" not in grant and "data_source_id" not in grant
    event = _rows(api("auditor"), "audit-events",
                  f",filters:!((col:object_type,opr:eq,value:{AUDIT_MARK}))")[0]
    assert set(event["unit"]) == {"id", "code", "abbr_th"} and "unit_id" not in event


def test_an_operator_means_one_filter_whatever_was_made_before(app, api, world):
    """FAB maps an API operator (`opr`) to the filter class that last used its name, process-wide:
    a date filter made after FAB's own took over `eq` on every column (`object_type eq X` found
    nothing). Each of Sitthi's filters names its own operator; dates are filtered by theirs."""
    from app.datamodel import DateOn, MomentOnDay, datamodel

    with app.app_context():
        for each in (DateOn("valid_from", datamodel(Grant)), MomentOnDay("occurred_at", datamodel(AuditEvent))):
            assert each.arg_name not in {"eq", "neq", "gt", "lt"}
    auditor = api("auditor")
    marked = _rows(auditor, "audit-events", f",filters:!((col:object_type,opr:eq,value:{AUDIT_MARK}))")
    assert {row["id"] for row in marked} == _expected(app, "audit-events", "all")
    day = marked[0]["occurred_at"][:10]
    on_the_day = _rows(auditor, "audit-events", f",filters:!((col:object_type,opr:eq,value:{AUDIT_MARK}),"
                                                f"(col:occurred_at,opr:day_eq,value:'{day}'))")
    assert {row["id"] for row in on_the_day} == {row["id"] for row in marked}
    assert auditor.get(f"{API}/audit-events/?q=(filters:!((col:occurred_at,opr:eq,value:'{day}')))").status_code == 400


def test_pages_hold_at_most_100(api, world):
    body = api("centralit").get(f"{API}/officers/?q=(page_size:500)").get_json()
    assert body["count"] > 100
    assert len(body["result"]) == 100
    assert len(api("centralit").get(f"{API}/officers/").get_json()["result"]) == 25


# -- another command's rows are not there -------------------------------------------------------
def test_another_commands_officer_is_not_found(app, api, world):
    pk = world["kkn_officer"]
    before = _officer_row(app, pk)
    missing = 2**31 - 1
    outsider = api("commandtech2")  # reads officers, writes none
    assert outsider.get(f"{API}/officers/{pk}").status_code == 404
    # The same answers as for an officer who does not exist: nothing tells the two apart.
    for method in ("get", "put", "delete"):
        there = outsider._call(method, f"{API}/officers/{pk}", json={"mobile": "0"})
        absent = outsider._call(method, f"{API}/officers/{missing}", json={"mobile": "0"})
        assert (there.status_code, there.get_json()) == (absent.status_code, absent.get_json()), method
    assert outsider.put(f"{API}/officers/{pk}", json={"mobile": "0"}).status_code == 403  # no Officer write
    assert outsider._call("delete", f"{API}/officers/{pk}").status_code == 405  # never deleted here
    assert outsider.get(f"{API}/grants/{world['kkn_grant']}").status_code == 404

    writer = api("personnel_mpd1")  # writes officers, but those of บก.น.1
    assert writer.get(f"{API}/officers/{pk}").status_code == 404
    response = writer.put(f"{API}/officers/{pk}?_l_=en", json={"mobile": "0899999999"})
    assert response.status_code == 404
    assert response.get_json()["message"] == writer.get(f"{API}/officers/{missing}?_l_=en").get_json()["message"]
    assert writer.put(f"{API}/officers/{pk}", json={"home_unit": world["unit"]["MPD1-01"]}).status_code == 404
    assert writer.put(f"{API}/officers/abc", json={}).status_code == 404
    assert writer.put(f"{API}/officers/99999999999999999999", json={}).status_code == 404
    assert writer.get(f"{API}/officers/99999999999999999999").status_code == 404
    assert _officer_row(app, pk) == before


# -- writing officers ----------------------------------------------------------------------------
def test_personnel_adds_an_officer_in_their_command(app, api, world):
    personnel = api("personnel")
    digits = new_national_id()
    body = _officer_body(world, national_id=f"{digits[0]}-{digits[1:5]}-{digits[5:10]}-{digits[10:12]}-{digits[12]}")
    response = personnel.post(f"{API}/officers/", json=body)
    assert response.status_code == 201, response.get_json()
    pk = response.get_json()["id"]
    record = personnel.get(f"{API}/officers/{pk}").get_json()["result"]
    assert record["national_id"] == digits  # typed with dashes, stored as 13 digits
    assert record["home_unit"]["code"] == "KKN-MUEANG"
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.object_type == "Officer", AuditEvent.object_id == pk).order_by(AuditEvent.id))
        assert event.action == "Officer.create"  # the first: the reading above comes after
        assert event.actor.username == "personnel"
        assert event.unit_id == world["unit"]["KKN-MUEANG"]


@pytest.mark.parametrize("placement", [
    {"home_unit": "MPD1-01"},
    {"home_unit": "KKN-MUEANG", "acting_unit": "MPD1-01"},
])
def test_an_officer_cannot_be_added_outside_the_command(app, api, world, placement):
    body = _officer_body(world, **{k: world["unit"][v] for k, v in placement.items()})
    response = api("personnel").post(f"{API}/officers/?_l_=en", json=body)
    assert response.status_code == 403
    assert "outside your command" in response.get_json()["message"]
    assert _count_with_national_id(app, body["national_id"]) == 0


def test_admin_adds_an_officer_anywhere(app, api, world):
    body = _officer_body(world, unit="MPD1-01")
    assert api("admin").post(f"{API}/officers/", json=body).status_code == 201
    assert _count_with_national_id(app, body["national_id"]) == 1


def test_readers_cannot_write(app, api, world):
    body = _officer_body(world)
    for username in ("commandtech", "centralit", "auditor", "officer"):
        assert api(username).post(f"{API}/officers/", json=body).status_code == 403, username
    assert _count_with_national_id(app, body["national_id"]) == 0
    for resource in ("units", "grants", "audit-events"):
        for method in ("post", "put", "delete"):
            url = f"{API}/{resource}/" if method == "post" else f"{API}/{resource}/1"
            assert api("admin")._call(method, url, json={}).status_code == 405, (resource, method)


@pytest.mark.parametrize("move", [{"home_unit": "MPD1-01"}, {"acting_unit": "MPD1-01"}])
def test_an_officer_cannot_be_moved_out_of_the_command(app, api, world, move):
    pk = world["kkn_officer"]
    before = _officer_row(app, pk)
    changes = {k: world["unit"][v] for k, v in move.items()}
    response = api("personnel").put(f"{API}/officers/{pk}?_l_=en", json={**changes, "mobile": "0822222222"})
    assert response.status_code == 403
    assert "outside your command" in response.get_json()["message"]
    assert _officer_row(app, pk) == before


def test_an_officer_lent_to_another_command_is_still_kept(app, api, world):
    """An acting unit elsewhere that the change leaves alone does not stop the home command."""
    pk = world["lent"]
    response = api("personnel").put(f"{API}/officers/{pk}", json={"mobile": "0833333333"})
    assert response.status_code == 200, response.get_json()
    home, acting, mobile, _nid, _version = _officer_row(app, pk)
    assert (home, acting, mobile) == (world["unit"]["KKN-MUEANG"], world["unit"]["MPD1-01"], "0833333333")
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.object_type == "Officer", AuditEvent.object_id == pk,
            AuditEvent.action == "Officer.update")).all()[-1]
        assert event.after == {"mobile": "0833333333"}


def test_a_change_within_the_command_is_saved(app, api, world):
    pk = world["kkn_officer"]
    version = api("personnel").get(f"{API}/officers/{pk}").get_json()["result"]["version"]
    response = api("personnel").put(f"{API}/officers/{pk}", json={
        "home_unit": world["unit"]["KKN"], "position_title": "รอง สว.", "version": version})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["result"]["home_unit"] == world["unit"]["KKN"]
    home, _acting, _mobile, _nid, new_version = _officer_row(app, pk)
    assert (home, new_version) == (world["unit"]["KKN"], version + 1)


def test_a_stale_version_changes_nothing(app, api, world):
    pk = world["kkn_officer"]
    before = _officer_row(app, pk)
    response = api("personnel").put(f"{API}/officers/{pk}", json={"mobile": "0844444444", "version": before[4] - 1})
    assert response.status_code == 409
    assert api("personnel").put(f"{API}/officers/{pk}", json={"version": "1"}).status_code == 400
    assert _officer_row(app, pk) == before


@pytest.mark.parametrize("value, message", [
    ("12345", "National ID must be exactly 13 digits."),
    ("0123456789012", "National ID cannot start with 0 or 9."),
    ("1234567890123", "the check digit does not match"),
])
def test_an_invalid_national_id_is_400_with_the_reason(app, api, world, value, message):
    personnel = api("personnel")
    response = personnel.post(f"{API}/officers/?_l_=en", json=_officer_body(world, national_id=value))
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == "national_id"
    assert message in body["errors"]["national_id"][0]
    assert _count_with_national_id(app, value) == 0

    pk = world["kkn_officer"]
    before = _officer_row(app, pk)
    response = personnel.put(f"{API}/officers/{pk}?_l_=en", json={"national_id": value})
    assert response.status_code == 400 and response.get_json()["field"] == "national_id"
    assert _officer_row(app, pk) == before


def test_the_reason_is_in_thai_by_default(api, world):
    body = api("personnel").post(f"{API}/officers/", json=_officer_body(world, national_id="12345")).get_json()
    assert body["errors"]["national_id"] == ["เลขประจำตัวประชาชนต้องเป็นตัวเลข 13 หลัก"]


def test_other_bad_input_is_400_and_a_known_national_id_409(app, api, world):
    personnel = api("personnel")
    response = personnel.post(f"{API}/officers/", json=_officer_body(world, status="missing", rank=999999))
    assert response.status_code == 400
    assert {"status", "rank"} <= set(response.get_json()["errors"])
    assert personnel.post(f"{API}/officers/", data="not json").status_code == 400
    taken = _officer_row(app, world["mpd1_officer"])[3]  # on file in another command
    response = personnel.post(f"{API}/officers/", json=_officer_body(world, national_id=taken))
    assert response.status_code == 409
    assert _count_with_national_id(app, taken) == 1


@pytest.mark.parametrize("field, value", [
    ("rank", 999999),
    ("home_unit", 999999),
    ("home_unit", "KKN"),
    ("rank", True),
    # marshmallow-sqlalchemy would have made a new duty line of this, with its say on eligibility.
    ("duty_line", {"id": 999999, "code": "made_up", "name_th": "ใหม่", "name_en": "Made up",
                   "external_search_eligible": True}),
])
def test_related_fields_take_the_id_of_a_row_on_file(app, api, world, field, value):
    def counts():
        with app.app_context():
            return [db.session.scalar(select(func.count()).select_from(m)) for m in (Unit, Rank, DutyLine)]

    before = counts()
    body = _officer_body(world, **{field: value})
    response = api("admin").post(f"{API}/officers/?_l_=en", json=body)  # nationwide: no unit is out of reach
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["field"] == field
    assert counts() == before
    assert _count_with_national_id(app, body["national_id"]) == 0
    pk = world["kkn_officer"]
    officer = _officer_row(app, pk)
    assert api("admin").put(f"{API}/officers/{pk}", json={field: value}).status_code == 400
    assert counts() == before and _officer_row(app, pk) == officer


# -- authentication, documentation, cost ---------------------------------------------------------
@pytest.mark.parametrize("resource", RESOURCES)
def test_no_token_is_401(app, login, resource):
    client = app.test_client()
    assert client.get(f"{API}/{resource}/").status_code == 401
    assert client.get(f"{API}/{resource}/1").status_code == 401
    response = client.get(f"{API}/{resource}/", headers={"Authorization": "Bearer not.a.jwt"})
    assert response.status_code == 401 and response.get_json()["message"]
    # A browser's session cookie is not an API credential.
    assert login("admin").client.get(f"{API}/{resource}/").status_code == 401
    if resource == "officers":
        assert client.post(f"{API}/officers/", json={}).status_code == 401
        assert client.put(f"{API}/officers/1", json={}).status_code == 401


def test_openapi_lists_the_resources(api):
    spec = api("admin").get(f"{API}/_openapi").get_json()
    paths = spec["paths"]
    expected = {
        f"{API}/officers/": {"get", "post"}, f"{API}/officers/{{pk}}": {"get", "put"},
        f"{API}/units/": {"get"}, f"{API}/units/{{pk}}": {"get"},
        f"{API}/grants/": {"get"}, f"{API}/grants/{{pk}}": {"get"},
        f"{API}/audit-events/": {"get"}, f"{API}/audit-events/{{pk}}": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert set(paths[path]) == methods, path  # read-only resources document no writes
    assert not any(p.endswith("/_info") for p in paths if re.match(rf"{API}/(officers|units|grants|audit-events)/", p))
    refs = set(re.findall(r"#/components/schemas/([\w.]+)", json.dumps({p: paths[p] for p in expected})))
    schemas = spec["components"]["schemas"]
    assert refs and refs <= set(schemas), refs - set(schemas)
    assert {"OfficersApi.post", "OfficersApi.put", "ApiError"} <= refs
    listed = schemas["OfficersApi.get_list"]["properties"]
    assert "national_id_masked" in listed and "national_id" not in listed
    assert {"400", "403", "409"} <= set(paths[f"{API}/officers/"]["post"]["responses"])


@pytest.mark.parametrize("resource", ["officers", "grants", "audit-events"])
def test_a_page_of_100_costs_the_same_statements_as_25(app, api, world, resource):
    reader = api("auditor")
    url = f"{API}/{resource}/?q=(page_size:{{}})"
    reader.get(url.format(25))  # warm-up
    counts = []
    for size in (25, 100):
        with counted_statements(app) as statements:
            response = reader.get(url.format(size))
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts

