"""Group requests through the API: the group service's reach, limits and refusals, with JWTs.

Everything the API does is committed, so each test files for officers of its own and counts only
rows it made.
"""
import base64

import pytest
from sqlalchemy import func, select

from app.models import AccessRequest, DataSource, DutyLine, Officer, RequestGroup, Unit, User
from app.services import group_requests as groups
from tests.conftest import DEMO_PASSWORD, ApiUser
from tests.factories import PDF, make_head, make_login, make_officer, make_unit
from tests.test_linkage_rules import lab  # noqa: F401 (the fixture: a source with fields and questions of its own)

BASE = "/api/v1/group-requests"
DOCUMENTS = [{"kind": kind, "filename": f"{kind}.pdf", "content_base64": base64.b64encode(PDF).decode()}
             for kind in ("memo", "id_card_copy")]


@pytest.fixture()
def people(app):
    """Two new investigators of the demo head's station, one of a new station of the same command
    (KKN) with its own head, one of the other demo command; committed."""
    from app.extensions import db

    with app.app_context():
        head = db.session.scalar(select(Officer).join(User, Officer.user_id == User.id).where(User.username == "head"))
        investigation = db.session.scalar(select(DutyLine).where(DutyLine.code == "investigation"))
        command = db.session.scalar(select(Unit).where(Unit.code == "KKN"))
        station = make_unit(db.session, parent=command)
        other_head = make_head(db.session, station)
        make_login(db.session, other_head)  # a head certifies with a login of their own
        made = {"a1": make_officer(db.session, head.home_unit, duty_line=investigation),
                "a2": make_officer(db.session, head.home_unit, duty_line=investigation),
                "b1": make_officer(db.session, station, duty_line=investigation)}
        other_command = db.session.scalar(select(Unit).where(Unit.code == "MPD1"))  # commandtech2's
        far_station = make_unit(db.session, parent=other_command)
        make_login(db.session, make_head(db.session, far_station))
        made["stranger"] = make_officer(db.session, far_station, duty_line=investigation)
        plain = make_officer(db.session, head.home_unit, duty_line=investigation)
        plain_login = make_login(db.session, plain, password=DEMO_PASSWORD).username
        ids = {name: officer.id for name, officer in made.items()}
        ids["names"] = {name: officer.first_name_th for name, officer in made.items()}
        ids["head_b"] = other_head.id
        ids["plain_login"] = plain_login
        ids["vehicles"] = db.session.scalar(select(DataSource.id).where(DataSource.code == "vehicles"))
        db.session.commit()
    return ids


@pytest.fixture()
def api(app, api_tokens):
    return lambda username: ApiUser(app.test_client(), api_tokens(username))


def _body(people, *names, **extra) -> dict:
    body = {"kind": "external_search", "officer_ids": [people[n] for n in names],
            "contact_email": "desk@police.example", "contact_mobile": "081-234-5678",
            "duty_performed": "สืบสวนคดียาเสพติด", "pledge_accepted": True,
            "sources": [{"data_source_id": people["vehicles"]}], "attachments": DOCUMENTS}
    body.update(extra)
    return body


def _counts(app) -> tuple[int, int]:
    from app.extensions import db

    with app.app_context():
        return (db.session.scalar(select(func.count(RequestGroup.id))),
                db.session.scalar(select(func.count(AccessRequest.id))))


def test_command_tech_files_a_group_each_line_to_its_own_head_and_reads_it_back(app, api, people):
    tech = api("commandtech")
    response = tech.post(f"{BASE}/?_l_=en", json=_body(people, "a1", "b1"))
    assert response.status_code == 201, response.get_json()["lines"]
    group = response.get_json()
    assert group["kind"] == "external_search" and group["number"]
    lines = {line["requester"]["id"]: line for line in group["lines"]}
    assert set(lines) == {people["a1"], people["b1"]}
    assert all(line["state"] == "submitted" for line in lines.values())
    assert lines[people["b1"]]["certifying_head"]["id"] == people["head_b"]
    assert lines[people["a1"]]["certifying_head"]["id"] != people["head_b"]
    assert group["tally"] == {"submitted": 2}

    shown = tech.get(f"{BASE}/{group['id']}")
    assert shown.status_code == 200 and len(shown.get_json()["lines"]) == 2
    assert group["id"] in {row["id"] for row in tech.get(f"{BASE}/").get_json()["result"]}

    # The demo head sees the group by the line they certify, and only that line.
    head_view = api("head").get(f"{BASE}/{group['id']}").get_json()
    assert [line["requester"]["id"] for line in head_view["lines"]] == [people["a1"]]

    # Another command's staff: neither the group, nor its list row, nor an id past any row.
    other = api("commandtech2")
    for pk in (group["id"], 2**31 - 1, 2**31 + 5):
        assert other.get(f"{BASE}/{pk}").status_code == 404, pk
    assert group["id"] not in {row["id"] for row in other.get(f"{BASE}/").get_json()["result"]}


def test_a_head_files_only_for_the_officers_they_head_and_certifies_them_by_filing(app, api, people):
    head = api("head")
    before = _counts(app)
    refused = head.post(f"{BASE}/?_l_=en", json=_body(people, "a1", "b1", attest=True))
    assert refused.status_code == 400
    assert refused.get_json()["field"] == "officer_ids"
    assert _counts(app) == before

    without_attest = head.post(f"{BASE}/?_l_=en", json=_body(people, "a1"))
    assert without_attest.status_code == 400 and without_attest.get_json()["field"] == "attest"
    assert _counts(app) == before

    filed = head.post(f"{BASE}/?_l_=en", json=_body(people, "a1", "a2", attest=True))
    assert filed.status_code == 201, filed.get_json()
    # Certified by filing: each line has gone past the head's stage.
    assert {line["current_stage"]["actor"] for line in filed.get_json()["lines"]} == {"central_it"}


def test_an_officer_out_of_scope_or_unknown_is_refused_alike_and_nothing_is_kept(app, api, people):
    tech = api("commandtech")
    before = _counts(app)
    answers = []
    for officer_ids in ([people["a1"], people["stranger"]], [people["a1"], 2**31 - 1]):
        response = tech.post(f"{BASE}/?_l_=en", json=_body(people, officer_ids=officer_ids))
        assert response.status_code == 400
        answers.append(response.get_json())
    assert answers[0] == answers[1] and answers[0]["field"] == "officer_ids"
    assert "not of your unit or command" in answers[0]["message"]
    # The other command's staff may file for their own officer, never for ours.
    other = api("commandtech2")
    response = other.post(f"{BASE}/?_l_=en", json=_body(people, "a1"))
    assert response.status_code == 400 and response.get_json()["field"] == "officer_ids"
    assert other.get(f"{BASE}/officers?q={people['names']['a1']}").get_json()["result"] == []
    assert _counts(app) == before
    theirs = other.post(f"{BASE}/?_l_=en", json=_body(people, "stranger"))
    assert theirs.status_code == 201, theirs.get_json()
    assert tech.get(f"{BASE}/{theirs.get_json()['id']}").status_code == 404


def test_an_officer_who_heads_nobody_may_not_file_nor_search(app, api, people):
    plain = api(people["plain_login"])
    before = _counts(app)
    response = plain.post(f"{BASE}/?_l_=en", json=_body(people, "a1"))
    assert response.status_code == 403
    assert plain.get(f"{BASE}/officers?q={people['names']['a1']}").status_code == 403
    assert plain.get(f"{BASE}/").get_json()["result"] == []
    assert _counts(app) == before


def test_a_failing_line_is_named_at_its_officer_and_refuses_the_whole_group(app, api, people):
    from app.extensions import db

    with app.app_context():
        db.session.get(Officer, people["a2"]).status = "retired"
        db.session.commit()
    before = _counts(app)
    response = api("commandtech").post(f"{BASE}/?_l_=en", json=_body(people, "a1", "a2"))
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["field"] == "officer_ids"
    assert f"officer_ids.{people['a2']}" in body["errors"]
    assert f"officer_ids.{people['a1']}" not in body["errors"]
    assert set(body["lines"]) == {str(people["a2"])}
    assert _counts(app) == before


@pytest.mark.parametrize("change, field", [
    ({"kind": "account"}, "kind"),
    ({"officer_ids": []}, "officer_ids"),
    ({"officer_ids": list(range(1, groups.MAX_OFFICERS + 2))}, "officer_ids"),
    ({"contact_email": "not-an-address"}, "contact_email"),
    ({"pledge_accepted": False}, "pledge_accepted"),
    ({"sources": [{"data_source_id": "x"}]}, "sources"),
    ({"officer_ids": [2**31 + 1]}, "officer_ids"),
])
def test_bad_input_is_refused_at_its_field(app, api, people, change, field):
    before = _counts(app)
    response = api("commandtech").post(f"{BASE}/?_l_=en", json={**_body(people, "a1"), **change})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["field"] == field, response.get_json()
    assert _counts(app) == before


def test_the_search_finds_by_name_within_reach_and_never_by_a_part_of_a_national_id(app, api, people):
    from app.extensions import db

    tech = api("commandtech")
    found = tech.get(f"{BASE}/officers?q={people['names']['b1']}")
    assert found.status_code == 200
    assert people["b1"] in {o["id"] for o in found.get_json()["result"]}
    assert people["stranger"] not in {o["id"] for o in tech.get(
        f"{BASE}/officers?q={people['names']['stranger']}").get_json()["result"]}
    with app.app_context():
        national_id = db.session.get(Officer, people["b1"]).national_id
    assert [o["id"] for o in tech.get(f"{BASE}/officers?q={national_id}").get_json()["result"]] == [people["b1"]]
    assert tech.get(f"{BASE}/officers?q={national_id[:9]}").get_json()["result"] == []
    assert all("national_id" not in o for o in found.get_json()["result"])
    assert tech.get(f"{BASE}/officers").status_code == 400


def test_the_groups_fields_and_answers_are_judged_as_one_requests_and_kept_on_every_line(app, api, people, lab):  # noqa: F811
    sid, case = lab["source"], lab["case"]
    tech = api("commandtech")
    before = _counts(app)

    def body(**source):
        return _body(people, "a1", "b1", sources=[{"data_source_id": sid, "field_ids": [lab["fields"][0]], **source}])

    unanswered = tech.post(f"{BASE}/?_l_=en", json=body())
    assert unanswered.status_code == 400, unanswered.get_json()
    assert unanswered.get_json()["field"] == f"sources[{sid}].answers[{case}]"
    assert "Test case number" in unanswered.get_json()["errors"][f"sources[{sid}].answers[{case}]"]
    outside = tech.post(f"{BASE}/?_l_=en", json=body(field_ids=[lab["fields"][0], lab["fields"][2]],
                                                     answers=[{"question_id": case, "value": "คดี 8/2569"}]))
    assert outside.status_code == 400 and outside.get_json()["field"] == f"sources[{sid}].field_ids"
    assert "Photo" in outside.get_json()["errors"][f"sources[{sid}].field_ids"]
    assert _counts(app) == before

    filed = tech.post(f"{BASE}/?_l_=en", json=body(answers=[{"question_id": case, "value": "คดี 8/2569"}]))
    assert filed.status_code == 201, filed.get_json()
    for line in filed.get_json()["lines"]:
        (item,) = tech.get(f"/api/v1/requests/{line['id']}").get_json()["items"]
        assert [f["id"] for f in item["fields"]] == [lab["fields"][0]]
        assert [(a["question_id"], a["value"]) for a in item["answers"]] == [(case, "คดี 8/2569")]
