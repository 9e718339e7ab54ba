"""Who certifies when the named head can no longer, and who is the head above a head.

A head who may certify is app.security.unit_heads' (active officer, unit-head position, a login)
whose login is also still enabled. When the head named on a request is no longer one (retired,
moved out of a head's position, login disabled, record gone), the request goes to the next head
of the unit that head worked in: the heads working there now, highest position level first, then
highest rank, then the longest on record (lowest id), so two servers and two runs pick the same
one. A unit with no head left sends it to the nearest unit above that has one.

The same walk up the tree, started at the unit above, finds the superior head a stage escalates
to. Neither is ever the requester, nor the head being replaced. No Flask here; nothing commits.
"""
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.models import AccessRequest, Officer, PositionLevel, Rank, Unit, User
from app.security.unit_heads import certifying_heads

# How far up the tree a walk goes at most (ตร. is five levels above a station).
MAX_LEVELS = 12


def may_certify():
    """The condition on Officer (joined to its login) of a head who may certify today."""
    return and_(certifying_heads(), Officer.user_id.in_(select(User.id).where(User.active.is_(True))))


def named_head_gone(head, level, login):
    """SQL: `may_certify` turned round, over a request's named head joined by key (outer joins of
    Officer, PositionLevel and User aliases), so a sweep reads only the waiting requests' heads."""
    return or_(head.id.is_(None), head.status != "active", level.is_unit_head.is_not(True),
               login.id.is_(None), login.active.is_not(True))


def is_valid_head(session: Session, officer_id: int | None) -> bool:
    if officer_id is None:
        return False
    return session.scalar(select(Officer.id).where(Officer.id == officer_id, may_certify())) is not None


def inactive_at_submit(session: Session, officer_id: int | None) -> bool:
    """The named head is out of service or their login is disabled: the request will not wait for
    them. (Naming someone who never headed a unit stays a mistake the requester corrects.)"""
    if officer_id is None:
        return False
    row = session.execute(select(Officer.status, User.active).outerjoin(User, User.id == Officer.user_id)
                          .where(Officer.id == officer_id)).one_or_none()
    return row is not None and (row.status != "active" or row.active is False)


class HeadFinder:
    """Finds heads unit by unit, remembering each unit's answer (a batch asks about few units)."""

    def __init__(self, session: Session):
        self.session = session
        self._heads: dict[int, list[int]] = {}
        self._parents: dict[int, int | None] = {}

    def heads_of(self, unit_id: int) -> list[int]:
        """The officers who may certify and work in this unit now, in the order they are picked."""
        if unit_id not in self._heads:
            # Where each works (the acting unit while assigned), as two indexed conditions.
            working = or_(Officer.acting_unit_id == unit_id,
                          and_(Officer.acting_unit_id.is_(None), Officer.home_unit_id == unit_id))
            self._heads[unit_id] = list(self.session.scalars(
                select(Officer.id)
                .join(PositionLevel, PositionLevel.id == Officer.position_level_id)
                .outerjoin(Rank, Rank.id == Officer.rank_id)
                .where(may_certify(), working)
                .order_by(PositionLevel.order.desc(), Rank.order.desc().nulls_last(), Officer.id)))
        return self._heads[unit_id]

    def parent_of(self, unit_id: int) -> int | None:
        if unit_id not in self._parents:
            self._parents[unit_id] = self.session.scalar(select(Unit.parent_id).where(Unit.id == unit_id))
        return self._parents[unit_id]

    def first_head_from(self, unit_id: int | None, excluded: set[int]) -> int | None:
        """The first head of this unit, or of the nearest unit above with one, not in `excluded`."""
        seen = set()
        for _level in range(MAX_LEVELS):
            if unit_id is None or unit_id in seen:
                return None
            seen.add(unit_id)
            found = [h for h in self.heads_of(unit_id) if h not in excluded]
            if found:
                return found[0]
            unit_id = self.parent_of(unit_id)
        return None

    def head_unit(self, request: AccessRequest) -> int:
        """The unit the named head works in (where the request went), else the requester's."""
        head = request.certifying_head
        if head is not None:
            return head.acting_unit_id or head.home_unit_id
        return request.unit_id

    def next_head(self, request: AccessRequest) -> int | None:
        """Who certifies in place of the named head: the unit's next head, else the one above."""
        excluded = {request.requester_id, *([request.certifying_head_id] if request.certifying_head_id else [])}
        return self.first_head_from(self.head_unit(request), excluded)

    def superior_head(self, request: AccessRequest) -> int | None:
        """The head of the unit above the named head's (or the nearest one above that has one)."""
        excluded = {request.requester_id, *([request.certifying_head_id] if request.certifying_head_id else [])}
        return self.first_head_from(self.parent_of(self.head_unit(request)), excluded)


def login_of(session: Session, officer_id: int | None) -> int | None:
    if officer_id is None:
        return None
    return session.scalar(select(Officer.user_id).where(Officer.id == officer_id))
