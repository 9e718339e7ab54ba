"""Group requests (แบบกลุ่ม): one filing for many officers, each officer's line decided alone."""
import io
import re
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select

from app.errors import NotAllowed, NotFound, ValidationFailed
from app.models import (
    AccessRequest,
    AuditEvent,
    DataSource,
    Decision,
    DutyLine,
    Grant,
    Notification,
    RequestGroup,
)
from app.security.scope import actor_for
from app.services import access_requests as service
from app.services import group_requests as groups
from app.services.clock import Clock
from app.services.memo import recompose_sara_am
from tests.factories import SEARCH_DOCUMENTS, decide, make_head, make_login, make_officer, make_unit
from tests.test_linkage_rules import lab  # noqa: F401 (the fixture: a source with fields and questions of its own)

TODAY = date(2026, 11, 23)  # a Monday
CLOCK = Clock.on(TODAY)


class World:
    """One command with two stations, each with its head and investigators; another command."""

    def __init__(self, session):
        self.session = session
        investigation = session.scalar(select(DutyLine).where(DutyLine.code == "investigation"))
        self.command = make_unit(session, kind="division", admin_scope=True)
        self.station_a = make_unit(session, parent=self.command)
        self.station_b = make_unit(session, parent=self.command)
        self.head_a = make_head(session, self.station_a)
        self.head_b = make_head(session, self.station_b)
        self.users = {}
        for name, officer in (("head_a", self.head_a), ("head_b", self.head_b)):
            self.users[name] = make_login(session, officer)
        self.a = [make_officer(session, self.station_a, duty_line=investigation) for _ in range(3)]
        self.b = [make_officer(session, self.station_b, duty_line=investigation) for _ in range(2)]
        self.tech = make_officer(session, self.command)
        self.users["tech"] = make_login(session, self.tech, "CommandTech")
        self.personnel = make_officer(session, self.command)
        self.users["personnel"] = make_login(session, self.personnel, "Personnel")
        self.plain = make_officer(session, self.station_a, duty_line=investigation)
        self.users["plain"] = make_login(session, self.plain)
        self.other_command = make_unit(session, kind="division", admin_scope=True)
        self.other_station = make_unit(session, parent=self.other_command)
        self.stranger = make_officer(session, self.other_station, duty_line=investigation)
        self.other_tech = make_officer(session, self.other_command)
        self.users["other_tech"] = make_login(session, self.other_tech, "CommandTech")
        self.central = make_officer(session, make_unit(session))
        self.users["central"] = make_login(session, self.central, "CentralIT")

    def actor(self, name):
        return actor_for(self.session, self.users[name])

    def source(self, code):
        return self.session.scalar(select(DataSource).where(DataSource.code == code))

    def data(self, officers, sources=("vehicles", "company_registry"), **fields):
        values = dict(kind="external_search", officer_ids=tuple(o.id for o in officers),
                      contact_email="desk@police.example", contact_mobile="0812345678",
                      duty_performed="สืบสวนคดีอาญา", pledge_accepted=True, attest=True,
                      sources=tuple(service.SourceChoice(self.source(code).id) if isinstance(code, str) else code
                                    for code in sources))  # a code, or a SourceChoice with fields and answers
        values.update(fields)
        return groups.GroupData(**values)

    def file(self, who, officers, uploads=SEARCH_DOCUMENTS, **fields):
        return groups.file_group(self.session, self.actor(who), self.data(officers, **fields), CLOCK,
                                 uploads=uploads)


@pytest.fixture()
def world(db_session):
    return World(db_session)


def test_command_tech_files_for_officers_of_two_stations_each_line_to_its_own_head(world):
    outcome = world.file("tech", [world.a[0], world.a[1], world.b[0]])
    group = outcome.group
    lines = {line.requester_id: line for line in group.lines}
    assert len(lines) == 3
    for officer in (world.a[0], world.a[1]):
        assert lines[officer.id].certifying_head_id == world.head_a.id
    assert lines[world.b[0].id].certifying_head_id == world.head_b.id
    for line in lines.values():
        assert line.state == "submitted" and line.current_stage.actor == "certifying_head"
        assert line.number and line.number != group.number
        assert line.created_by_id == world.users["tech"].id
        assert {i.data_source.code for i in line.items} == {"vehicles", "company_registry"}
        assert {a.kind for a in world.session.scalars(select(service.Attachment).where(
            service.Attachment.request_id == line.id))} == {"memo", "id_card_copy"}
    # Each officer is told of their own line; each head is asked about the lines they certify.
    for officer in (world.a[0], world.a[1], world.b[0]):
        mails = world.session.scalars(select(Notification).where(
            Notification.request_id == lines[officer.id].id, Notification.recipient_user_id.is_(None),
            Notification.recipient_email == officer.email)).all()
        assert mails, officer
    head_b_mails = world.session.scalar(select(func.count(Notification.id)).where(
        Notification.recipient_user_id == world.users["head_b"].id))
    assert head_b_mails == 1
    assert world.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "RequestGroup.create", AuditEvent.object_id == group.id)) == 1

    # Each head certifies their own lines, and only those.
    b_line = lines[world.b[0].id]
    with pytest.raises(NotFound):  # not even seen by the other station's head
        decide(world.session, world.actor("head_a"), b_line.id, "approve", CLOCK)
    decide(world.session, world.actor("head_b"), b_line.id, "approve", CLOCK)
    assert b_line.current_stage.actor == "central_it"
    # The filer decides none of the lines they filed.
    assert service.stage_transitions(world.session, world.actor("tech"), lines[world.a[0].id]) == []


def test_a_head_files_for_their_own_officers_and_certifies_them_by_filing(world):
    outcome = world.file("head_a", world.a[:2])
    for line in outcome.group.lines:
        assert line.certifying_head_id == world.head_a.id
        assert line.current_stage.actor == "central_it"
        certified = service.head_certification(world.session, line)
        assert certified is not None and certified.actor_id == world.users["head_a"].id


def test_a_head_certifying_by_filing_confirms_the_attestation(world):
    with pytest.raises(groups.GroupRefused) as refused:
        world.file("head_a", world.a[:1], attest=False)
    assert "attest" in refused.value.outcome.problems


def test_a_head_files_only_for_officers_of_their_unit(world):
    with pytest.raises(ValidationFailed) as refused:
        world.file("head_a", [world.a[0], world.b[0]])
    assert refused.value.field == "officers"
    assert world.session.scalar(select(func.count(RequestGroup.id)).where(
        RequestGroup.filed_by_id == world.users["head_a"].id)) == 0


@pytest.mark.parametrize("who", ["tech", "personnel"])
def test_command_staff_cannot_file_for_another_commands_officer(world, who):
    with pytest.raises(ValidationFailed) as refused:
        world.file(who, [world.a[0], world.stranger])
    assert refused.value.field == "officers"
    assert refused.value.message == groups.MSG_OUT_OF_REACH


def test_an_id_no_officer_has_is_refused_like_one_out_of_reach(world):
    data = replace(world.data([world.a[0]]), officer_ids=(world.a[0].id, 2**31 - 1))
    with pytest.raises(ValidationFailed) as refused:
        groups.file_group(world.session, world.actor("tech"), data, CLOCK)
    assert refused.value.message == groups.MSG_OUT_OF_REACH


def test_an_officer_who_heads_nothing_cannot_file(world):
    with pytest.raises(NotAllowed):
        world.file("plain", world.a[:1])
    assert not groups.may_file(world.session, world.actor("plain"))
    assert groups.find_officers(world.session, world.actor("plain"), world.a[0].first_name_th) == []


def test_the_search_finds_only_officers_in_reach(world):
    found = groups.find_officers(world.session, world.actor("head_a"), "ทดสอบ", limit=500)
    ids = {o.id for o in found}
    assert {o.id for o in world.a} <= ids
    assert world.b[0].id not in ids and world.stranger.id not in ids and world.head_a.id not in ids
    tech_found = {o.id for o in groups.find_officers(world.session, world.actor("tech"), "ทดสอบ", limit=500)}
    assert world.b[0].id in tech_found and world.stranger.id not in tech_found


def test_at_most_fifty_officers(world):
    many = [make_officer(world.session, world.station_a, duty_line=world.a[0].duty_line)
            for _ in range(groups.MAX_OFFICERS + 1)]
    with pytest.raises(ValidationFailed) as refused:
        world.file("tech", many)
    assert refused.value.field == "officers" and refused.value.params == {"limit": 50}
    outcome = world.file("tech", many[:groups.MAX_OFFICERS], sources=("vehicles",))
    assert len(outcome.group.lines) == 50


def test_each_line_is_judged_alone_and_a_failing_line_refuses_the_whole_filing(world):
    world.a[1].status = "retired"
    world.session.flush()
    before = world.session.scalar(select(func.count(AccessRequest.id)))
    with pytest.raises(groups.GroupRefused) as refused, world.session.begin_nested():
        world.file("tech", [world.a[0], world.a[1], world.b[0]])
    outcome = refused.value.outcome
    failing = {line.officer.id: line for line in outcome.failing_lines}
    assert set(failing) == {world.a[1].id}
    assert [c.code for c in failing[world.a[1].id].failures] == ["officer_active"]
    assert all(not line.failures for line in outcome.lines if line.officer.id != world.a[1].id)
    assert outcome.problems == {}
    assert world.session.scalar(select(func.count(AccessRequest.id))) == before  # nothing half-written

    # The filer drops that line and files the rest.
    kept = world.file("tech", [world.a[0], world.b[0]])
    assert {line.requester_id for line in kept.group.lines} == {world.a[0].id, world.b[0].id}


def test_a_missing_document_is_said_once_at_its_field_not_at_every_line(world):
    outcome = groups.file_group(world.session, world.actor("tech"), world.data(world.a[:2]), CLOCK, send=False)
    assert set(outcome.problems) == {"upload_memo", "upload_id_card_copy"}
    assert len(outcome.problems["upload_memo"]) == 1
    assert not outcome.failing_lines


def test_a_right_already_held_fails_that_officers_line_only(world):
    from tests.factories import make_grant

    make_grant(world.session, world.b[0], "vehicles")
    outcome = groups.file_group(world.session, world.actor("tech"), world.data([world.a[0], world.b[0]]),
                                CLOCK, uploads=SEARCH_DOCUMENTS, send=False)
    failing = {line.officer.id: [c.code for c in line.failures] for line in outcome.failing_lines}
    assert failing == {world.b[0].id: ["duplicate"]}


def test_civil_registration_asks_for_each_officers_own_rank_group(world):
    senior = make_officer(world.session, world.station_a, rank_abbr="พ.ต.ท.",
                          duty_line=world.a[0].duty_line)
    junior = make_officer(world.session, world.station_a, rank_abbr="ด.ต.", duty_line=world.a[0].duty_line)
    outcome = world.file("tech", [senior, junior], sources=("civil_registration",))
    groups_asked = {line.requester_id: line.items[0].rank_group.number for line in outcome.group.lines}
    assert groups_asked == {senior.id: 2, junior.id: 3}


def test_lines_are_decided_alone_one_granted_one_rejected(world):
    outcome = world.file("tech", [world.a[0], world.b[0]], sources=("vehicles",))
    lines = {line.requester_id: line for line in outcome.group.lines}
    granted, refused = lines[world.a[0].id], lines[world.b[0].id]
    decide(world.session, world.actor("head_a"), granted.id, "approve", CLOCK)
    decide(world.session, world.actor("head_b"), refused.id, "approve", CLOCK)
    decide(world.session, world.actor("central"), granted.id, "approve", CLOCK)
    decide(world.session, world.actor("central"), refused.id, "reject", CLOCK, comment="ไม่จำเป็นต่องาน")
    assert granted.state == "completed" and refused.state == "rejected"
    grants = world.session.scalars(select(Grant).where(Grant.request_id.in_([granted.id, refused.id]))).all()
    assert [(g.officer_id, g.state) for g in grants] == [(world.a[0].id, "active")]
    assert groups.tally(outcome.group.lines) == {"completed": 1, "rejected": 1}


def test_another_commands_staff_see_neither_the_group_nor_its_lines(world):
    group = world.file("tech", [world.a[0], world.b[0]]).group
    for who in ("other_tech",):
        with pytest.raises(NotFound):
            groups.load_group(world.session, world.actor(who), group.id)
        for line in group.lines:
            with pytest.raises(NotFound):
                service.load_request(world.session, world.actor(who), line.id)
        assert all(g.id != group.id for g, _ in groups.groups_of(world.session, world.actor(who)))
    # A head sees the group and only the lines they certify; the command's staff see them all.
    head_b = world.actor("head_b")
    assert groups.load_group(world.session, head_b, group.id) == group
    assert [line.requester_id for line in groups.visible_lines(world.session, head_b, group)] == [world.b[0].id]
    assert len(groups.visible_lines(world.session, world.actor("personnel"), group)) == 2
    with pytest.raises(NotFound):
        groups.load_group(world.session, world.actor("plain"), 2**31 - 1)


def test_the_memo_lists_every_officer(world):
    from pypdf import PdfReader

    from app.services.memo import render_group_memo

    group = world.file("tech", [world.a[0], world.a[1], world.b[0]]).group
    pdf = render_group_memo(group, group.lines, TODAY)
    text = recompose_sara_am("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
    flat = text.replace("\n", "").replace(" ", "")
    assert group.number in text
    for line in group.lines:
        officer = line.requester
        assert officer.first_name_th in flat, officer
        assert line.number in flat
    assert "ยานพาหนะ" in flat and "จดทะเบียนบริษัท" in flat
    assert "3 นาย" in text


def test_decisions_on_lines_are_the_usual_decisions(world):
    outcome = world.file("head_a", world.a[:1], sources=("vehicles",))
    line = outcome.group.lines[0]
    transitions = [d.transition for d in world.session.scalars(
        select(Decision).where(Decision.request_id == line.id).order_by(Decision.id))]
    assert transitions == ["submit", "approve"]
    assert world.session.scalar(select(func.count(AccessRequest.id)).where(AccessRequest.group_id == outcome.group.id)) == 1


# -- the screens ---------------------------------------------------------------------------------
@pytest.fixture()
def two_stations(app):
    """Two new investigators of the demo head's station and one of a new station of the same
    command with its own head (a login), committed: what the screens file for."""
    from app.extensions import db
    from app.models import Officer, Unit, User

    with app.app_context():
        head = db.session.scalar(select(Officer).join(User, Officer.user_id == User.id).where(User.username == "head"))
        investigation = db.session.scalar(select(DutyLine).where(DutyLine.code == "investigation"))
        command = db.session.scalar(select(Unit).where(Unit.code == "KKN"))
        station = make_unit(db.session, parent=command)
        other_head = make_head(db.session, station)
        make_login(db.session, other_head)
        people = {"a1": make_officer(db.session, head.home_unit, duty_line=investigation),
                  "a2": make_officer(db.session, head.home_unit, duty_line=investigation),
                  "b1": make_officer(db.session, station, duty_line=investigation)}
        ids = {name: officer.id for name, officer in people.items()}
        names = {name: officer.first_name_th for name, officer in people.items()}
        ids["other_head"] = other_head.id
        db.session.commit()
    return ids, names


def _form(ids, *names, **extra):
    data = {"officer": [ids[n] for n in names], "contact_email": "desk@police.example",
            "contact_mobile": "0812345678", "duty_performed": "สืบสวนคดียาเสพติด", "pledge_accepted": "y",
            "source": [], **extra}
    return data


def _vehicles(app):
    from app.extensions import db

    with app.app_context():
        return db.session.scalar(select(DataSource.id).where(DataSource.code == "vehicles"))


def test_command_tech_finds_checks_and_files_a_group_on_the_screen(app, login, two_stations):
    from tests.factories import PDF

    ids, names = two_stations
    tech = login("commandtech")
    url = "/grouprequests/new/external_search"
    assert tech.get(url).status_code == 200
    # The search finds officers of the command, by name.
    found = tech.submit(url, {"q": names["b1"], "find": "1"}).get_data(as_text=True)
    assert f'id="add-officer-{ids["b1"]}"' in found
    # Checking shows every line with its head, and so does printing the memo to sign; neither
    # keeps anything.
    from app.extensions import db

    with app.app_context():
        before = db.session.scalar(select(func.count(AccessRequest.id)))
    draft = tech.submit(url, _form(ids, "a1", "b1", source=[_vehicles(app)], print_draft="1"))
    assert draft.status_code == 200 and draft.mimetype == "application/pdf"
    data = _form(ids, "a1", "b1", source=[_vehicles(app)], check="1")
    checked = tech.submit(url, data)
    page = checked.get_data(as_text=True)
    assert checked.status_code == 200, page
    with app.app_context():
        assert db.session.scalar(select(func.count(AccessRequest.id))) == before
    assert f'id="officer-line-{ids["a1"]}"' in page and f'id="officer-line-{ids["b1"]}"' in page
    assert page.count("sitthi-line-ok") == 2  # both officers pass; the group's documents are missing
    assert re.search(r'id="upload_memo"[^>]*>\s*<span class="help-block sitthi-error">', page)
    # Filing with the group's documents sends each line to its own head.
    data = _form(ids, "a1", "b1", source=[_vehicles(app)], file="1",
                 upload_memo=(io.BytesIO(PDF), "group-memo.pdf"), upload_id_card_copy=(io.BytesIO(PDF), "ids.pdf"))
    data["csrf_token"] = tech.csrf_token(url)
    filed = tech.client.post(url, data=data, content_type="multipart/form-data")
    assert filed.status_code == 302, filed.get_data(as_text=True)
    group_url = filed.headers["Location"]
    assert "/grouprequests/show/" in group_url
    shown = tech.get(group_url).get_data(as_text=True)
    assert shown.count('data-state="submitted"') == 2
    memo = tech.get(group_url.replace("/show/", "/memo/"))
    assert memo.status_code == 200 and memo.mimetype == "application/pdf"

    # Another command's technology staff: the group, its memo and its lines are not there.
    other = login("commandtech2")
    group_id = int(group_url.rsplit("/", 1)[1])
    for path in (f"/grouprequests/show/{group_id}", f"/grouprequests/memo/{group_id}", f"/grouprequests/show/{group_id + 1}",
                 f"/grouprequests/show/{2**31 - 1}"):
        assert other.get(path).status_code == 404, path
    assert f"/grouprequests/show/{group_id}" not in other.get("/grouprequests/").get_data(as_text=True)
    with app.app_context():
        lines = db.session.scalars(select(AccessRequest.id).where(AccessRequest.group_id == group_id)).all()
    for line_id in lines:
        assert other.get(f"/requests/show/{line_id}").status_code == 404

    # Whoever holds the printed memo checks it by its code: the group and each line as it stands.
    from app.documents import document_secret
    from app.services.verification import group_code

    with app.app_context():
        code = group_code(document_secret(), group_id)
    checked = login("auditor").get(f"/verify/{code}")
    assert checked.status_code == 200 and checked.get_data(as_text=True).count("data-line=") == 2


def test_an_officer_cannot_file_and_a_head_cannot_reach_another_station(app, login, two_stations):
    ids, _names = two_stations
    officer = login("officer")
    page = officer.get("/grouprequests/new/external_search", follow_redirects=True).get_data(as_text=True)
    assert 'id="group-not-filer"' in page
    data = _form(ids, "a1", check="1", csrf_token=officer.csrf_token("/requests/new/external_search"))
    refused = officer.post("/grouprequests/new/external_search", data=data, follow_redirects=True)
    assert 'id="group-not-filer"' in refused.get_data(as_text=True)

    head = login("head")
    answer = head.submit("/grouprequests/new/external_search", _form(ids, "a1", "b1", source=[_vehicles(app)], check="1"))
    assert answer.status_code == 400
    body = answer.get_data(as_text=True)
    with app.test_request_context():
        from flask_babel import gettext

        assert gettext(groups.MSG_OUT_OF_REACH) in body.replace("&#39;", "'")


def test_each_line_carries_the_officers_own_contact_or_else_the_groups(world):
    world.a[1].mobile, world.a[1].email = "02-123-456", None  # a landline and no e-mail in the record
    world.session.flush()
    lines = {line.requester_id: line for line in world.file("tech", world.a[:2]).group.lines}
    assert (lines[world.a[0].id].contact_email, lines[world.a[0].id].contact_mobile) == (world.a[0].email, "0810000000")
    assert (lines[world.a[1].id].contact_email, lines[world.a[1].id].contact_mobile) == (
        "desk@police.example", "0812345678")


def test_the_group_page_reads_the_same_number_of_statements_for_2_lines_or_8(app, login):
    """Each line's officer, head, unit, stage and items come with the page, not one line at a time."""
    from app.extensions import db
    from app.models import Officer, Unit, User
    from tests.conftest import TEST_TODAY, counted_statements

    with app.app_context():
        investigation = db.session.scalar(select(DutyLine).where(DutyLine.code == "investigation"))
        # A station of its own, with its own head: the demo head's inbox is left as the journeys expect it.
        station = make_unit(db.session, parent=db.session.scalar(select(Unit).where(Unit.code == "KKN")))
        make_login(db.session, make_head(db.session, station))
        tech = actor_for(db.session, db.session.scalar(select(User).where(User.username == "commandtech")))
        made = []
        for size in (2, 8):
            officers = [make_officer(db.session, station, duty_line=investigation) for _ in range(size)]
            data = groups.GroupData(kind="external_search", officer_ids=tuple(o.id for o in officers),
                                    contact_email="desk@police.example", contact_mobile="0812345678",
                                    duty_performed="สืบสวน", pledge_accepted=True,
                                    sources=(service.SourceChoice(db.session.scalar(
                                        select(DataSource.id).where(DataSource.code == "prisoners"))),))
            made.append(groups.file_group(db.session, tech, data, Clock.on(TEST_TODAY),
                                          uploads=SEARCH_DOCUMENTS).group.id)
        db.session.commit()
        assert db.session.scalar(select(func.count(Officer.id)).where(Officer.home_unit_id == station.id)) == 11
    browser = login("commandtech")
    counts = []
    for group_id in made:
        browser.get(f"/grouprequests/show/{group_id}")  # warm: the menu and rights are cached per process
        with counted_statements(app) as statements:
            assert browser.get(f"/grouprequests/show/{group_id}").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_the_group_memos_code_names_the_group_and_a_changed_digit_names_nothing(world):
    from app.services import verification

    secret = b"test-secret"
    group = world.file("tech", [world.a[0], world.b[0]]).group
    code = verification.group_code(secret, group.id)
    checked = verification.check(world.session, secret, code)
    assert isinstance(checked, verification.CheckedGroup) and checked.group == group
    assert [line.requester_id for line in checked.lines] == [world.a[0].id, world.b[0].id]
    forged = code.replace(f"R-{group.id}-", f"R-{group.id + 1}-")
    assert verification.check(world.session, secret, forged) is None


def test_each_heads_inbox_holds_exactly_the_lines_they_certify(world):
    from app.services import inboxes

    group = world.file("tech", [world.a[0], world.a[1], world.b[0]]).group
    ids = {line.requester_id: line.id for line in group.lines}
    for head, officers in (("head_a", world.a[:2]), ("head_b", world.b[:1])):
        waiting = world.session.scalars(select(AccessRequest.id).where(
            AccessRequest.group_id == group.id, inboxes.to_certify(world.session, world.actor(head)))).all()
        assert sorted(waiting) == sorted(ids[o.id] for o in officers), head
    central = world.session.scalars(select(AccessRequest.id).where(
        AccessRequest.group_id == group.id, inboxes.to_verify(world.session, world.actor("central")))).all()
    assert central == []  # nothing reaches Central IT before its head certified it


# -- Linkage Center rules: the group's data fields and justification answers ----------------------
def _ask_group(world, source_code, label="เลขคดี"):
    from app.models import JustificationQuestion

    question = JustificationQuestion(data_source=world.source(source_code), label_th=label, label_en="Case number",
                                     required=True, answer_kind="text", max_length=30, position=1)
    world.session.add(question)
    world.session.flush()
    return question


def _field_ids(world, source_code, *codes):
    from app.models import DataField

    return tuple(world.session.scalar(select(DataField.id).join(DataSource).where(
        DataSource.code == source_code, DataField.code == code)) for code in codes)


def test_a_required_question_unanswered_refuses_the_group_at_its_field_and_keeps_nothing(world):
    from app.services import linkage

    case = _ask_group(world, "vehicles")
    vehicles = world.source("vehicles").id
    before = world.session.scalar(select(func.count(AccessRequest.id)))
    with pytest.raises(groups.GroupRefused) as refused, world.session.begin_nested():
        world.file("tech", [world.a[0], world.b[0]], sources=("vehicles",))
    field = linkage.answer_field(vehicles, case.id)
    assert refused.value.outcome.problems[field] == [
        (linkage.MSG_ANSWER_REQUIRED, {"question": "เลขคดี", "source": "ยานพาหนะ"})]
    assert not refused.value.outcome.failing_lines  # the group's to answer, said once at its field
    assert world.session.scalar(select(func.count(AccessRequest.id))) == before


def test_the_groups_fields_and_answers_go_on_every_line_and_stay_on_the_grant(world):
    case = _ask_group(world, "vehicles")
    plate_owner = _field_ids(world, "vehicles", "plate", "owner")
    choice = service.SourceChoice(world.source("vehicles").id, field_ids=plate_owner,
                                  answers=((case.id, " คดีอาญาที่ 45/2569 "),))
    outcome = world.file("tech", [world.a[0], world.b[0]], sources=(choice,))
    for line in outcome.group.lines:
        (item,) = line.items
        assert {f.id for f in item.fields} == set(plate_owner)
        assert {a.question_id: a.value for a in item.answers} == {case.id: "คดีอาญาที่ 45/2569"}
        assert line.state == "submitted"
    line = next(line for line in outcome.group.lines if line.requester_id == world.a[0].id)
    decide(world.session, world.actor("head_a"), line.id, "approve", CLOCK)
    decide(world.session, world.actor("central"), line.id, "approve", CLOCK)
    grant = world.session.scalar(select(Grant).where(Grant.request_id == line.id))
    assert {f.id for f in grant.request_item.fields} == set(plate_owner)
    assert {a.label_th: a.value for a in grant.request_item.answers} == {"เลขคดี": "คดีอาญาที่ 45/2569"}


def test_a_field_outside_the_agreement_refuses_the_group_at_its_field_even_when_only_checked(world):
    from app.services import linkage

    civil = world.source("civil_registration").id
    choice = service.SourceChoice(civil, field_ids=_field_ids(world, "civil_registration", "full_name", "moves"))
    before = world.session.scalar(select(func.count(AccessRequest.id)))
    for send in (True, False):
        with pytest.raises(groups.GroupRefused) as refused, world.session.begin_nested():
            groups.file_group(world.session, world.actor("tech"), world.data([world.a[0]], sources=(choice,)),
                              CLOCK, uploads=SEARCH_DOCUMENTS, send=send)
        ((message, params),) = refused.value.outcome.problems[linkage.fields_field(civil)]
        assert message == linkage.MSG_FIELDS_NOT_ALLOWED and params["fields"] == "ประวัติการย้ายที่อยู่"
    assert world.session.scalar(select(func.count(AccessRequest.id))) == before


def test_the_group_form_asks_each_sources_fields_and_questions_once_for_the_group(app, login, two_stations,
                                                                                   lab):  # noqa: F811
    from app.extensions import db
    from tests.factories import PDF

    ids, _names = two_stations
    sid, case = lab["source"], lab["case"]
    tech = login("commandtech")
    url = "/grouprequests/new/external_search"
    page = tech.get(url).get_data(as_text=True)
    assert f'name="answer_{sid}_{case}"' in page and "เลขคดีทดสอบ" in page
    name_box, photo_box = (re.search(rf'<input[^>]*value="{i}"[^>]*id="field-health_insurance-{c}"[^>]*>', page,
                                     re.S).group(0)
                           for i, c in ((lab["fields"][0], "scheme"), (lab["fields"][2], "lab_photo")))
    assert "checked" in name_box and "disabled" not in name_box
    assert "disabled" in photo_box and "ไม่อยู่ในข้อตกลง" in page

    def file(**extra):
        # Only the new station's officer: a line left waiting in the demo head's inbox would push
        # the journeys' requests off its first page.
        data = _form(ids, "b1", source=[sid], file="1", **{f"fields_shown_{sid}": "1",
                     f"field_{sid}": [str(lab["fields"][0])]},
                     upload_memo=(io.BytesIO(PDF), "group-memo.pdf"), upload_id_card_copy=(io.BytesIO(PDF), "ids.pdf"))
        data.update(extra)
        data["csrf_token"] = tech.csrf_token(url)
        return tech.client.post(url, data=data, content_type="multipart/form-data")

    with app.app_context():
        before = db.session.scalar(select(func.count(AccessRequest.id)))
    unanswered = file()
    assert unanswered.status_code == 400
    shown = unanswered.get_data(as_text=True)
    assert re.search(rf'has-error">\s*<label class="control-label" for="answer_{sid}_{case}"', shown)
    assert "กรุณาตอบ “เลขคดีทดสอบ” ของสิทธิหลักประกันสุขภาพ" in shown
    outside = file(**{f"field_{sid}": [str(lab["fields"][0]), str(lab["fields"][2])],
                      f"answer_{sid}_{case}": "คดี 7/2569"})
    assert outside.status_code == 400
    assert "ไม่อนุญาตรายการข้อมูลต่อไปนี้ของสิทธิหลักประกันสุขภาพ: ภาพถ่ายผู้มีสิทธิ" in outside.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(AccessRequest.id))) == before

    filed = file(**{f"answer_{sid}_{case}": "คดี 7/2569"})
    assert filed.status_code == 302, filed.get_data(as_text=True)[-3000:]
    group_id = int(filed.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        lines = db.session.scalars(select(AccessRequest).where(AccessRequest.group_id == group_id)).all()
        assert {line.requester_id for line in lines} == {ids["b1"]}
        for line in lines:
            (item,) = line.items
            assert [f.id for f in item.fields] == [lab["fields"][0]]
            assert [(a.question_id, a.value) for a in item.answers] == [(case, "คดี 7/2569")]
