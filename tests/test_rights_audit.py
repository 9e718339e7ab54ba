"""The rights audit of a command: every flag from real rows, who is listed, the counts, the filter,
and a fixed number of statements whatever the size of the command."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.models import DutyLine, PositionLevel, RankGroup, SystemFunction
from app.models.lifecycle import DutyOrder, SourceUsage
from app.services import reviews, rights_audit
from tests.conftest import counted_statements
from tests.factories import make_grant, make_login, make_officer, make_unit

TODAY = date(2026, 12, 2)


def codes(flags) -> set[str]:
    return {flag.code for flag in flags}


@pytest.fixture()
def command(db_session):
    """A command of its own (with a station), and another command beside it."""
    own = make_unit(db_session, kind="command", admin_scope=True)
    station = make_unit(db_session, parent=own)
    other = make_unit(db_session, kind="command", admin_scope=True)
    other_station = make_unit(db_session, parent=other)
    return {"command": own, "station": station, "other": other, "other_station": other_station}


def line(session, code):
    return session.scalar(select(DutyLine).where(DutyLine.code == code))


def function(session, code):
    return session.scalar(select(SystemFunction).where(SystemFunction.code == code))


def investigator(session, unit, **fields):
    fields.setdefault("duty_line", line(session, "investigation"))
    return make_officer(session, unit, **fields)


def search_grant(session, officer, command, **fields):
    """A vehicles grant used yesterday: no flag of its own."""
    grant = make_grant(session, officer, command_id=command.id, valid_from=TODAY - timedelta(days=10),
                       valid_until=TODAY + timedelta(days=300), **fields)
    session.add(SourceUsage(officer_id=officer.id, data_source_id=grant.data_source_id,
                            last_used_on=TODAY - timedelta(days=1), query_count=12))
    session.flush()
    return grant


def function_grant(session, officer, command, code="crimes_case_search", **fields):
    return make_grant(session, officer, source_code="-", data_source=None, function=function(session, code),
                      command_id=command.id, valid_from=TODAY - timedelta(days=10),
                      valid_until=TODAY + timedelta(days=300), **fields)


def order(session, unit, number="1/2569"):
    duty_order = DutyOrder(number=number, issued_on=TODAY - timedelta(days=30), unit=unit, subject="ตั้งเวร")
    session.add(duty_order)
    session.flush()
    return duty_order


def flags_of(session, grant):
    return codes(rights_audit.grant_flags(session, [grant.id], TODAY)[grant.id])


def test_a_clean_grant_carries_no_flag(db_session, command):
    officer = investigator(db_session, command["station"])
    assert flags_of(db_session, search_grant(db_session, officer, command["command"])) == set()


@pytest.mark.parametrize("status, flag", [("retired", "retired"), ("deceased", "deceased"),
                                          ("transferred_out", "transferred"), ("suspended", "suspended")])
def test_personnel_status_flags_every_live_grant(db_session, command, status, flag):
    officer = investigator(db_session, command["station"], status=status)
    assert flag in flags_of(db_session, search_grant(db_session, officer, command["command"]))


def test_retirement_by_age_is_flagged_without_an_import(db_session, command):
    # Turned 60 in fiscal year 2569 (born 15 Mar 1966): out of service since 1 Oct 2026.
    officer = investigator(db_session, command["station"], birth_date=date(1966, 3, 15))
    young = investigator(db_session, command["station"], birth_date=date(1966, 10, 2))
    assert "retired" in flags_of(db_session, search_grant(db_session, officer, command["command"]))
    assert "retired" not in flags_of(db_session, search_grant(db_session, young, command["command"]))


def test_a_mover_is_flagged_on_the_grants_the_old_command_administers(db_session, command):
    officer = investigator(db_session, command["other_station"])
    assert "moved" in flags_of(db_session, search_grant(db_session, officer, command["command"]))


def test_an_officer_acting_in_another_command_is_flagged(db_session, command):
    officer = investigator(db_session, command["station"], acting_unit=command["other_station"],
                           acting_until=TODAY + timedelta(days=60))
    assert codes(rights_audit.grant_flags(db_session, [search_grant(db_session, officer, command["command"]).id],
                                          TODAY).popitem()[1]) == {"acting_elsewhere"}
    ended = investigator(db_session, command["station"], acting_unit=command["other_station"],
                         acting_until=TODAY - timedelta(days=1))
    assert flags_of(db_session, search_grant(db_session, ended, command["command"])) == set()


def test_a_rank_group_above_the_officers_own_is_flagged(db_session, command):
    officer = investigator(db_session, command["station"], rank_abbr="ด.ต.")  # group 3
    group_2 = db_session.scalar(select(RankGroup).where(RankGroup.number == 2))
    grant = make_grant(db_session, officer, source_code="civil_registration", rank_group=group_2,
                       command_id=command["command"].id, valid_from=TODAY)
    assert "rank_below" in flags_of(db_session, grant)


def test_a_position_level_below_the_function_is_flagged(db_session, command):
    inspector = db_session.scalar(select(PositionLevel).where(PositionLevel.code == "squad_leader"))
    officer = investigator(db_session, command["station"], position_level=inspector)
    grant = function_grant(db_session, officer, command["command"], code="crimes_warrant")
    assert "level_below" in flags_of(db_session, grant)


def test_a_duty_line_that_may_not_search_is_flagged(db_session, command):
    officer = investigator(db_session, command["station"], duty_line=line(db_session, "traffic"))
    assert "duty_line" in flags_of(db_session, search_grant(db_session, officer, command["command"]))


def test_expired_but_still_active_is_flagged(db_session, command):
    officer = investigator(db_session, command["station"])
    grant = search_grant(db_session, officer, command["command"])
    grant.valid_until = TODAY - timedelta(days=1)
    db_session.flush()
    assert "expired_active" in flags_of(db_session, grant)


def test_function_grants_need_a_duty_order_of_the_officers_own_unit(db_session, command):
    officer = investigator(db_session, command["station"])
    without = function_grant(db_session, officer, command["command"])
    assert "no_duty_order" in flags_of(db_session, without)
    own_order = order(db_session, command["command"], "11/2569")  # the command's order covers its stations
    other = investigator(db_session, command["station"])
    covered = function_grant(db_session, other, command["command"])
    covered.duty_order_id = own_order.id
    foreign = investigator(db_session, command["station"])
    elsewhere = function_grant(db_session, foreign, command["command"])
    elsewhere.duty_order_id = order(db_session, command["other_station"], "12/2569").id
    db_session.flush()
    found = rights_audit.grant_flags(db_session, [covered.id, elsewhere.id], TODAY)
    assert codes(found[covered.id]) == set()
    assert codes(found[elsewhere.id]) == {"order_other_unit"}


def test_usage_flags_unused_and_never_used_but_not_a_new_right(db_session, command):
    officer = investigator(db_session, command["station"])
    stale = make_grant(db_session, officer, command_id=command["command"].id, valid_from=TODAY - timedelta(days=400))
    db_session.add(SourceUsage(officer_id=officer.id, data_source_id=stale.data_source_id,
                               last_used_on=TODAY - timedelta(days=120), query_count=3))
    never = make_grant(db_session, investigator(db_session, command["station"]), source_code="company_registry",
                       command_id=command["command"].id, valid_from=TODAY - timedelta(days=200))
    new = make_grant(db_session, investigator(db_session, command["station"]), source_code="company_registry",
                     command_id=command["command"].id, valid_from=TODAY - timedelta(days=5))
    db_session.flush()
    found = rights_audit.grant_flags(db_session, [stale.id, never.id, new.id], TODAY)
    assert codes(found[stale.id]) == {"unused"}
    assert codes(found[never.id]) == {"never_used"}
    assert codes(found[new.id]) == set()


def test_the_command_audit_lists_its_users_counts_flags_and_filters(db_session, command):
    clean = investigator(db_session, command["station"])
    search_grant(db_session, clean, command["command"])
    retired = investigator(db_session, command["station"], status="retired")
    search_grant(db_session, retired, command["command"])
    mover = investigator(db_session, command["other_station"])
    search_grant(db_session, mover, command["command"])
    login_only = investigator(db_session, command["station"])
    make_login(db_session, login_only)
    neighbour = investigator(db_session, command["other_station"])
    search_grant(db_session, neighbour, command["other"])

    audit = rights_audit.command_audit(db_session, command["command"].id, TODAY)
    listed = [entry.officer.id for entry in audit.officers]
    assert set(listed) == {clean.id, retired.id, mover.id, login_only.id}
    assert listed.index(retired.id) < listed.index(clean.id), "flagged officers come first"
    assert audit.counts == {"retired": 1, "moved": 1}
    assert (audit.officer_count, audit.grant_count, audit.flagged_grant_count) == (4, 3, 2)

    only_retired = rights_audit.command_audit(db_session, command["command"].id, TODAY, flag="retired")
    assert [entry.officer.id for entry in only_retired.officers] == [retired.id]
    assert only_retired.counts == audit.counts

    other = rights_audit.command_audit(db_session, command["other"].id, TODAY)
    assert [entry.officer.id for entry in other.officers] == [neighbour.id]


def test_a_page_of_the_audit_judges_each_grant_as_the_whole_command_does(db_session, command):
    """A page judges its officers' grants against only the units they serve in: the flags that
    depend on a unit (moved, acting elsewhere, a duty order of the unit or one above it) come out
    as when every unit is at hand."""
    sub_station = make_unit(db_session, parent=command["station"])
    at_home = investigator(db_session, sub_station)
    covered = function_grant(db_session, at_home, command["command"])
    covered.duty_order_id = order(db_session, command["command"], "21/2569").id  # two levels above
    foreign_order = function_grant(db_session, investigator(db_session, command["station"]), command["command"])
    foreign_order.duty_order_id = order(db_session, command["other_station"], "22/2569").id
    acting = investigator(db_session, command["station"], acting_unit=command["other_station"],
                          acting_until=TODAY + timedelta(days=60))
    acting_grant = search_grant(db_session, acting, command["command"])
    mover_grant = search_grant(db_session, investigator(db_session, command["other_station"]), command["command"])
    assigned_in = investigator(db_session, command["other_station"], acting_unit=sub_station,
                               acting_until=TODAY + timedelta(days=60))
    unadministered = search_grant(db_session, assigned_in, command["command"])
    unadministered.command_id = None
    db_session.flush()
    expected = {grant_id: codes(flags) for grant_id, flags in rights_audit.grant_flags(
        db_session, [covered.id, foreign_order.id, acting_grant.id, mover_grant.id, unadministered.id],
        TODAY).items()}
    assert expected == {covered.id: set(), foreign_order.id: {"order_other_unit"},
                        acting_grant.id: {"acting_elsewhere"}, mover_grant.id: {"moved"},
                        unadministered.id: {"acting_elsewhere"}}

    whole = rights_audit.command_audit(db_session, command["command"].id, TODAY)
    pages = [rights_audit.command_audit(db_session, command["command"].id, TODAY, offset=start, limit=2)
             for start in range(0, whole.listed_count, 2)]
    for audit in (whole, *pages):
        for entry in audit.officers:
            for audited in entry.grants:
                assert codes(audited.flags) == expected[audited.grant.id], audited.grant.id
    assert sorted(audited.grant.id for page in pages for entry in page.officers for audited in entry.grants) \
        == sorted(expected)


def test_review_items_show_the_same_flags(db_session, command):
    officer = investigator(db_session, command["station"], status="retired")
    grant = search_grant(db_session, officer, command["command"])
    assert codes(reviews.audit_flags(db_session, [grant.id], TODAY)[grant.id]) == {"retired"}


def test_the_audit_reads_a_fixed_number_of_statements(app, db_session, command):
    def statements_for(officers: int) -> int:
        unit = make_unit(db_session, kind="command", admin_scope=True)
        station = make_unit(db_session, parent=unit)
        for number in range(officers):
            officer = investigator(db_session, station)
            search_grant(db_session, officer, unit)
            grant = function_grant(db_session, officer, unit)
            grant.duty_order_id = order(db_session, unit, f"{number}/2569").id
        db_session.flush()
        db_session.expire_all()
        with counted_statements(app) as statements:
            audit = rights_audit.command_audit(db_session, unit.id, TODAY)
            assert audit.grant_count == 2 * officers
        return len(statements)

    assert statements_for(3) == statements_for(15)


def test_the_audit_pages_by_officer_flagged_first_in_thai_order(db_session, command):
    """A page is cut by the database in the audit's order: flagged officers first, then by name in
    Thai order (เ แ โ ใ ไ by the consonant after them, not after ฮ); the counts stay those of the whole command."""
    names = ["กมล", "เกศ", "ขจร", "โชค", "ฮาซัน", "ไพร"]
    for name in names:
        officer = investigator(db_session, command["station"], first_name_th=name)
        search_grant(db_session, officer, command["command"])
    for name in ("ชนะ", "ใจดี"):
        retired = investigator(db_session, command["station"], first_name_th=name, status="retired")
        search_grant(db_session, retired, command["command"])

    whole = rights_audit.command_audit(db_session, command["command"].id, TODAY)
    order = [entry.officer.first_name_th for entry in whole.officers]
    # Thai dictionary order reads past a leading vowel: ใจดี under จ, เกศ under ก.
    assert order == ["ใจดี", "ชนะ", "กมล", "เกศ", "ขจร", "โชค", "ไพร", "ฮาซัน"]
    pages = [rights_audit.command_audit(db_session, command["command"].id, TODAY, offset=start, limit=3)
             for start in (0, 3, 6)]
    assert [entry.officer.first_name_th for page in pages for entry in page.officers] == order
    assert all(page.counts == whole.counts == {"retired": 2} for page in pages)
    assert {page.listed_count for page in pages} == {whole.listed_count} == {8}

    retired_only = rights_audit.command_audit(db_session, command["command"].id, TODAY, flag="retired", limit=1)
    assert retired_only.listed_count == 2 and [e.officer.first_name_th for e in retired_only.officers] == ["ใจดี"]


def test_the_audit_finds_an_officer_by_name_or_whole_national_id(db_session, command):
    """A search narrows the list (not the counts); a national ID is found only whole, so the box
    cannot rebuild an ID digit by digit."""
    wanted = investigator(db_session, command["station"], first_name_th="ค้นหาเจอ", status="retired")
    search_grant(db_session, wanted, command["command"])
    for _ in range(3):
        search_grant(db_session, investigator(db_session, command["station"]), command["command"])
    login_only = investigator(db_session, command["station"], first_name_th="ค้นหาล็อกอิน")
    make_login(db_session, login_only)

    def listed(term, **kwargs):
        audit = rights_audit.command_audit(db_session, command["command"].id, TODAY, officer_term=term, **kwargs)
        assert audit.officer_count == 5 and audit.counts == {"retired": 1}
        return [entry.officer.id for entry in audit.officers], audit.listed_count

    assert listed("ค้นหา") == ([wanted.id, login_only.id], 2)
    assert listed("ค้นหาเจอ") == ([wanted.id], 1)
    assert listed("ค้นหา", flag="retired") == ([wanted.id], 1)
    assert listed(wanted.national_id) == ([wanted.id], 1)
    assert listed(wanted.national_id[:12]) == ([], 0)
    assert listed("ไม่มีใครชื่อนี้") == ([], 0)
