"""Which unit head reviews which officer in a command's rights review.

A head here is who may certify a request (app.services.eligibility.check_head): an active officer
with a login, in a unit-head position (PositionLevel.is_unit_head). Inside one command, an
officer's unit is where they work there: the acting unit while assigned into the command, else
the home unit. The officer's review heads are the heads of that unit, or of the nearest unit above
it that has one, up to the command itself (never beyond: the review belongs to the command). An
officer is never their own head, so a head's own grants go to a colleague heading the same unit
or to the heads above.

The tree of a command and its heads are read in two statements; the walk up the tree runs in
Python over that small set (a command holds at most a few hundred units, and a handful of heads).
"""
from dataclasses import dataclass

from sqlalchemy import and_, case, false, or_, select
from sqlalchemy.orm import Session

from app.models import Officer, PositionLevel, Unit
from app.security.scope import officers_in_command, units_under


@dataclass(frozen=True)
class CommandHeads:
    """The units of one command (each with its parent) and the heads working in each."""

    command_id: int
    parents: dict[int, int | None]
    heads: dict[int, frozenset[int]]
    # head officer id -> the unit they head, inside the command
    head_units: dict[int, int]

    def heads_for(self, unit_id: int | None, officer_id: int | None = None) -> frozenset[int]:
        """The heads who review an officer working in `unit_id` (the officer themself excluded)."""
        seen = set()
        while unit_id is not None and unit_id in self.parents and unit_id not in seen:
            seen.add(unit_id)
            found = self.heads.get(unit_id, frozenset()) - {officer_id}
            if found:
                return found
            unit_id = self.parents[unit_id]
        return frozenset()

    def reviewed_by(self, head_id: int) -> tuple[list[int], list[int]]:
        """(the units whose officers `head_id` reviews, the other heads they review)."""
        units = sorted(u for u in self.parents if head_id in self.heads_for(u))
        heads = sorted(h for h, unit in self.head_units.items()
                       if h != head_id and head_id in self.heads_for(unit, h))
        return units, heads


def certifying_heads():
    """The condition on Officer of a head who may certify a request and review in a campaign."""
    return and_(Officer.status == "active", Officer.user_id.isnot(None),
                Officer.position_level_id.in_(select(PositionLevel.id).where(PositionLevel.is_unit_head.is_(True))))


def unit_in_command(within):
    """SQL: the unit an officer works in inside the command whose units are `within`."""
    return case((Officer.acting_unit_id.in_(within), Officer.acting_unit_id), else_=Officer.home_unit_id)


def command_heads(session: Session, command_id: int) -> CommandHeads:
    within = units_under(session, command_id)
    parents = {row.id: row.parent_id for row in session.execute(
        select(Unit.id, Unit.parent_id).where(Unit.id.in_(within)))}
    if command_id in parents:
        parents[command_id] = None  # the walk stops at the command
    heads: dict[int, set[int]] = {}
    head_units: dict[int, int] = {}
    rows = session.execute(select(Officer.id, unit_in_command(within).label("unit_id"))
                           .where(certifying_heads(), officers_in_command(within)))
    for officer_id, unit_id in rows:
        heads.setdefault(unit_id, set()).add(officer_id)
        head_units[officer_id] = unit_id
    return CommandHeads(command_id, parents, {u: frozenset(h) for u, h in heads.items()}, head_units)


def is_certifying_head(session: Session, officer_id: int | None) -> bool:
    if officer_id is None:
        return False
    found = session.scalar(select(Officer.id).where(Officer.id == officer_id, certifying_heads()).limit(1))
    return found is not None


def officers_reviewed_by(session: Session, head_id: int | None, command_id: int | None):
    """A condition on Officer: the officers of the command whose review head is `head_id`;
    None when that officer heads nothing in the command."""
    if head_id is None or command_id is None or not is_certifying_head(session, head_id):
        return None
    tree = command_heads(session, command_id)
    if head_id not in tree.head_units:
        return None
    units, heads = tree.reviewed_by(head_id)
    every_head = sorted(tree.head_units)
    within = units_under(session, command_id)
    ordinary = and_(unit_in_command(within).in_(units), officers_in_command(within),
                    Officer.id.notin_(every_head)) if units else false()
    return or_(ordinary, Officer.id.in_(heads)) if heads else ordinary

