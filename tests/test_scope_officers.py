"""A command's officers, whichever SQL form the scope writes them in, are the same officers: those
at home in the command, those assigned into it, and the actor."""
from sqlalchemy import select

from app.models import AccessRequest, Officer
from app.security import scope
from tests.factories import make_officer, make_unit
from tests.test_workflow import world  # noqa: F401  (the fixture)


def _ids(session, subquery) -> set[int]:
    return set(session.scalars(select(Officer.id).where(Officer.id.in_(subquery))))


def test_both_forms_name_the_same_officers_of_a_command(world):  # noqa: F811
    session = world.session
    assigned_in = make_officer(session, world.other_station, acting_unit=world.station)
    assigned_out = make_officer(session, world.station, acting_unit=world.other_station)
    elsewhere = make_officer(session, world.other_station)
    actor = world.tech_actor
    within = scope.command_units(session, actor)

    plain = _ids(session, scope._officer_ids(actor, within))
    from_indexes = _ids(session, scope._officer_ids_from_indexes(actor, within))

    assert plain == from_indexes
    assert {world.tech.id, world.requester.id, world.head.id, assigned_in.id, assigned_out.id} <= plain
    assert elsewhere.id not in plain and world.other_tech.id not in plain
    # An officer with no command role: only themselves, in both forms.
    alone = world.officer_actor
    assert _ids(session, scope._officer_ids(alone, None)) == {world.requester.id} \
        == _ids(session, scope._officer_ids_from_indexes(alone, None))


def test_a_request_filed_elsewhere_by_an_officer_assigned_into_the_command_is_in_its_scope(world):  # noqa: F811
    session = world.session
    far = make_unit(session)  # in neither command
    assigned_in = make_officer(session, far, acting_unit=world.station)
    request = world.draft()
    request.requester_id, request.unit_id = assigned_in.id, far.id
    session.flush()
    for counting in (False, True):
        seen = set(session.scalars(select(AccessRequest.id).where(
            scope.row_condition(session, world.tech_actor, AccessRequest, counting=counting))))
        assert request.id in seen
        unseen = set(session.scalars(select(AccessRequest.id).where(
            scope.row_condition(session, world.other_tech_actor, AccessRequest, counting=counting))))
        assert request.id not in unseen


def test_a_units_command_is_found_in_one_statement_and_a_loop_in_the_tree_ends(world):  # noqa: F811
    session = world.session
    assert scope.command_of(session, world.station.id) == world.command.id
    assert scope.command_of(session, world.command.id) == world.command.id
    assert scope.command_of(session, None) is None
    first, second = make_unit(session), make_unit(session)
    first.parent_id, second.parent_id = second.id, first.id  # bad data: no command above either
    session.flush()
    assert scope.command_of(session, first.id) is None
