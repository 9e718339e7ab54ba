"""Duty orders (คำสั่ง): a command records its own, cites one on a function grant (at assignment
or afterwards, in bulk), never another command's; the rights audit then stops flagging it."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.errors import NotAllowed, NotFound, ValidationFailed
from app.models import Grant, Unit
from app.models.lifecycle import DutyOrder
from app.services import grants as service
from app.services import rights_audit
from tests.test_grant_admin import CLOCK, Command, _unit_id, kkn  # noqa: F401  (a fixture)

TODAY = date(2026, 12, 2)


@pytest.fixture()
def cmd(db_session):
    return Command(db_session)


def order(session, unit, number="7/2569") -> DutyOrder:
    duty_order = DutyOrder(number=number, issued_on=TODAY - timedelta(days=3), unit=unit, subject="มอบหมายหน้าที่")
    session.add(duty_order)
    session.flush()
    return duty_order


def test_a_function_assigned_with_its_order_is_not_flagged(cmd):
    own = order(cmd.session, cmd.station)
    grant = cmd.assign(duty_order_id=own.id)
    assert grant.duty_order_id == own.id
    flags = rights_audit.grant_flags(cmd.session, [grant.id], TODAY)[grant.id]
    assert "no_duty_order" not in {f.code for f in flags}
    assert [o.id for o in service.duty_orders_of_command(cmd.session, cmd.tech)] == [own.id]
    assert service.duty_orders_of_command(cmd.session, cmd.other_tech) == []


def test_another_commands_order_is_refused_and_nothing_is_assigned(cmd):
    theirs = order(cmd.session, cmd.other_station)
    with pytest.raises(ValidationFailed):
        cmd.assign(duty_order_id=theirs.id)
    assert cmd.grants_of(cmd.officer) == []
    for bad in ("abc", "99999999999", "-1"):
        with pytest.raises(ValidationFailed):
            cmd.assign(duty_order_id=bad)


def test_an_order_is_recorded_on_a_function_grant_afterwards_and_audited(cmd):
    grant = cmd.assign()
    own = order(cmd.session, cmd.command, "8/2569")
    service.attach_duty_order(cmd.session, cmd.tech, grant.id, own.id, CLOCK)
    assert grant.duty_order_id == own.id
    assert len(cmd.events(grant, "Grant.duty_order")) == 1
    with pytest.raises(ValidationFailed):
        service.attach_duty_order(cmd.session, cmd.tech, grant.id, order(cmd.session, cmd.other_station, "9/2569").id,
                                  CLOCK)
    assert grant.duty_order_id == own.id


def test_a_search_right_takes_no_order_and_another_command_cannot_attach(cmd):
    from tests.factories import make_grant

    own = order(cmd.session, cmd.station)
    search = make_grant(cmd.session, cmd.officer, command_id=cmd.command.id)
    with pytest.raises(ValidationFailed):
        service.attach_duty_order(cmd.session, cmd.tech, search.id, own.id, CLOCK)
    grant = cmd.assign()
    with pytest.raises((NotFound, NotAllowed)):  # not their command's grant: refused before the order is read
        service.attach_duty_order(cmd.session, cmd.other_tech, grant.id, own.id, CLOCK)
    assert grant.duty_order_id is None


# -- the screens -----------------------------------------------------------------------------------
def _orders(app, number):
    from app.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(DutyOrder).where(DutyOrder.number == number))


def test_command_tech_records_orders_of_their_own_command_only(app, login):
    with app.app_context():
        own_unit, other_unit = _unit_id("KKN-MUEANG"), _unit_id("MPD1-01")
    tech = login("commandtech")
    form = {"number": "ขก 101/2569", "issued_on": "2026-11-20", "unit": str(own_unit),
            "subject": "ตั้งเจ้าหน้าที่สอบสวน"}
    tech.submit("/dutyorderview/add", form)
    assert _orders(app, "ขก 101/2569") == 1
    tech.submit("/dutyorderview/add", {**form, "number": "ขก 102/2569", "unit": str(other_unit)})
    assert _orders(app, "ขก 102/2569") == 0
    listing = tech.get("/dutyorderview/list/").get_data(as_text=True)
    assert "ขก 101/2569" in listing
    assert "ขก 101/2569" not in login("commandtech2").get("/dutyorderview/list/").get_data(as_text=True)
    assert "ขก 101/2569" in login("auditor").get("/dutyorderview/list/").get_data(as_text=True)


def test_other_commands_and_readers_cannot_change_an_order(app, login):
    from app.extensions import db

    with app.app_context():
        own = order(db.session, db.session.get(Unit, _unit_id("KKN-MUEANG")), "ขก 201/2569")
        db.session.commit()
        pk = own.id
    outsider = login("commandtech2")
    assert outsider.get(f"/dutyorderview/show/{pk}").status_code == 404
    assert outsider.get(f"/dutyorderview/edit/{pk}").status_code == 404
    auditor = login("auditor")
    assert auditor.get("/dutyorderview/add").status_code in (302, 403)
    assert login("officer").get("/dutyorderview/list/").status_code in (302, 403)
    assert _orders(app, "ขก 201/2569") == 1


def test_a_cited_order_is_not_deleted_and_the_bulk_action_records_it(app, login, kkn):  # noqa: F811
    from app.extensions import db
    from tests.test_grant_admin import _act

    with app.app_context():
        own = order(db.session, db.session.get(Unit, _unit_id("KKN-MUEANG")), "ขก 301/2569")
        db.session.commit()
        order_id, grant_id = own.id, kkn["grant"]
    tech = login("commandtech")
    assert "sitthi-bulk-duty-order" in tech.get("/commandgrantview/list/").get_data(as_text=True)
    _act(tech, "duty_order_selected", [grant_id], duty_order=str(order_id))
    with app.app_context():
        assert db.session.get(Grant, grant_id).duty_order_id == order_id
    token = tech.csrf_token("/assignfunction/")
    refused = tech.client.post(f"/dutyorderview/delete/{order_id}", data={"csrf_token": token}, follow_redirects=True)
    assert refused.status_code == 200
    assert "กรุณาบันทึกคำสั่งใหม่ให้สิทธิ์เหล่านั้นก่อน" in refused.get_data(as_text=True)
    assert _orders(app, "ขก 301/2569") == 1
    with app.app_context():
        spare = order(db.session, db.session.get(Unit, _unit_id("KKN-MUEANG")), "ขก 302/2569")
        db.session.commit()
        spare_id = spare.id
    tech.client.post(f"/dutyorderview/delete/{spare_id}", data={"csrf_token": token})
    assert _orders(app, "ขก 302/2569") == 0, "an order nobody cites can go"
