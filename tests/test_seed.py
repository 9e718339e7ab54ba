"""Demo data: real reference data, ~300 valid officers, a login per role, idempotent."""
from sqlalchemy import func, select

from app.domain import national_id
from app.models import (
    AccessRequest,
    ApprovalChain,
    DataSource,
    DutyLine,
    Grant,
    Holiday,
    Officer,
    Rank,
    RankGroup,
    Unit,
    User,
)

COUNTED = [Unit, Officer, User, AccessRequest, Grant, Rank, RankGroup, DataSource, ApprovalChain,
           Holiday, DutyLine]


def _counts(db_session):
    return {model.__name__: db_session.scalar(select(func.count()).select_from(model)) for model in COUNTED}


def test_seed_demo_is_idempotent(app, db_session):
    before = _counts(db_session)
    result = app.test_cli_runner().invoke(args=["sitthi", "seed-demo"])
    assert result.exit_code == 0, result.output
    db_session.expire_all()
    assert _counts(db_session) == before


def test_if_empty_leaves_a_populated_database_alone(app):
    result = app.test_cli_runner().invoke(args=["sitthi", "seed-demo", "--if-empty"])
    assert "not loaded" in result.output


def test_reference_data_is_the_real_one(db_session):
    ranks = db_session.scalars(select(Rank).order_by(Rank.order)).all()
    assert [r.abbr_th for r in ranks][:3] == ["ส.ต.ต.", "ส.ต.ท.", "ส.ต.อ."]
    assert [r.abbr_th for r in ranks][-1] == "พล.ต.อ."
    groups = {r.abbr_th: r.rank_group.number for r in ranks}
    assert groups["พ.ต.อ."] == 1 and groups["พ.ต.ท."] == 2 and groups["ร.ต.ต."] == 2
    assert groups["ด.ต."] == 3
    sources = {s.code: s for s in db_session.scalars(select(DataSource))}
    assert len(sources) == 10
    assert sources["firearms"].is_open is False
    assert sources["civil_registration"].needs_rank_group
    assert sources["civil_registration"].needs_external_activation
    assert sources["civil_registration"].agency.code == "DOPA"
    eligible = set(db_session.scalars(select(DutyLine.code).where(DutyLine.external_search_eligible)))
    assert eligible == {"prevention", "investigation", "inquiry"}
    assert db_session.scalar(select(func.count(ApprovalChain.id))) == 7


def test_commands_have_their_real_provinces(db_session):
    region4 = db_session.scalar(select(Unit).where(Unit.abbr_th == "ภ.4"))
    provinces = db_session.scalars(select(Unit.province_th).where(Unit.parent_id == region4.id)).all()
    assert "ขอนแก่น" in provinces and "อุดรธานี" in provinces and len(provinces) == 12
    assert db_session.scalar(select(Unit).where(Unit.abbr_th == "สภ.หาดใหญ่")) is not None
    assert db_session.scalar(select(Unit).where(Unit.abbr_th == "ศทก.")) is not None
    scoped = db_session.scalar(select(Unit).where(Unit.abbr_th == "ภ.จว.ขอนแก่น"))
    assert scoped.is_admin_scope


def test_synthetic_officers_are_many_and_valid(db_session):
    ids = db_session.scalars(select(Officer.national_id)).all()
    assert len(ids) >= 300
    for nid in ids:
        assert national_id.validate(nid) == nid
    ranks_used = db_session.scalar(select(func.count(func.distinct(Officer.rank_id))))
    lines_used = db_session.scalar(select(func.count(func.distinct(Officer.duty_line_id))))
    assert ranks_used >= 10 and lines_used >= 5


def test_one_login_per_role_each_linked_to_an_officer(db_session):
    expected = {"admin": "Admin", "officer": "Officer", "head": "Officer",
                "commandtech": "CommandTech", "centralit": "CentralIT",
                "personnel": "Personnel", "auditor": "Auditor", "commandtech2": "CommandTech"}
    for username, role in expected.items():
        user = db_session.scalar(select(User).where(User.username == username))
        assert [r.name for r in user.roles] == [role]
        officer = db_session.scalar(select(Officer).where(Officer.user_id == user.id))
        assert officer is not None, username


def test_head_certifies_officers_requests_in_the_same_station(db_session):
    officer = db_session.scalar(select(Officer).join(User, Officer.user_id == User.id).where(User.username == "officer"))
    head = db_session.scalar(select(Officer).join(User, Officer.user_id == User.id).where(User.username == "head"))
    assert officer.home_unit_id == head.home_unit_id
    assert head.position_title.startswith("ผกก.")
    requests = db_session.scalars(select(AccessRequest).where(
        AccessRequest.requester_id == officer.id, AccessRequest.certifying_head_id.isnot(None))).all()
    assert len(requests) >= 3
    assert {r.certifying_head_id for r in requests} == {head.id}


def test_requests_in_several_states(db_session):
    states = set(db_session.scalars(select(AccessRequest.state)))
    assert {"draft", "submitted", "returned", "rejected", "completed", "cancelled"} <= states
