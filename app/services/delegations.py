"""มอบหมายผู้ปฏิบัติแทน: naming a deputy for the days one is away, and cancelling it.

What a delegation lends. A request's head stage may be decided only by the unit head named on it;
while that head is away, the officer they named deputy certifies, returns or rejects in the head's
place (app.services.access_requests.authorize_stage records the head as `on_behalf_of`). That is
the one authority a delegation lends. A Central IT Center stage may already be decided by any
CentralIT user, and a CommandTech stage by any technology officer of the command, so for those a
delegation lends nothing: a CentralIT user may still name a deputy (who must then be CentralIT
too) so colleagues know who covers, but the meaningful case is the head.

Rules (each refused with a clear message):
- one names a deputy for oneself; an Admin may name one for anyone;
- the principal is head-capable (has an officer record) or CentralIT; a CentralIT principal
  without an officer record can only be covered by another CentralIT user;
- the deputy is an active login of an officer in service, not the principal;
- the days run from today or later, the last on or after the first, at most 90 days in all;
- a principal has at most one deputy on any day (no overlapping delegations).

Nothing here commits; every change writes an AuditEvent in the caller's transaction.
"""
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import N_, NotAllowed, NotFound, ValidationFailed
from app.models import Delegation, Officer, User
from app.security.scope import ADMIN, CENTRAL_IT, Actor, actor_for
from app.services import audit

MAX_DAYS = 90
REASON_LIMIT = 500

MSG_ONLY_FOR_YOURSELF = N_("You can name a deputy only for yourself.")
MSG_PRINCIPAL_UNKNOWN = N_("No such user.")
MSG_PRINCIPAL_NOT_HEAD = N_("Only an officer who can be named as certifying head, or a Central IT Center user, can name a deputy.")
MSG_DEPUTY_REQUIRED = N_("Choose the deputy.")
MSG_DEPUTY_SELF = N_("You cannot be your own deputy.")
MSG_DEPUTY_NOT_OFFICER = N_("The deputy must be an active user linked to an officer in service.")
MSG_DEPUTY_NOT_CENTRAL_IT = N_("The deputy of a Central IT Center user must also belong to the Central IT Center.")
MSG_DATES_REQUIRED = N_("Enter the first and the last day of the delegation.")
MSG_DATES_ORDER = N_("The last day must be on or after the first day.")
MSG_DATES_PAST = N_("A delegation cannot start in the past.")
MSG_TOO_LONG = N_("A delegation lasts at most %(days)s days; name a deputy again after that.")
MSG_OVERLAP = N_("These days overlap another delegation (%(starts)s to %(ends)s, deputy %(deputy)s): cancel it first or choose other days.")
MSG_REASON_TOO_LONG = N_("Keep the reason under %(limit)s characters.")
MSG_NOT_FOUND = N_("No such delegation, or not one you may change.")
MSG_ENDED = N_("This delegation has already ended.")


def _invalid(field_name: str, message: str, **params) -> ValidationFailed:
    error = ValidationFailed(message, **params)
    error.field = field_name
    return error


def _officer_of(session: Session, user_id: int) -> Officer | None:
    return session.scalar(select(Officer).where(Officer.user_id == user_id))


def _holds(user: User, role: str) -> bool:
    return any(r.name == role for r in user.roles)


def _unit_of(officer: Officer | None) -> int | None:
    return (officer.acting_unit_id or officer.home_unit_id) if officer else None


# -- who stands in for whom ------------------------------------------------------------------
def in_force(today: date):
    """The delegations that hold on `today` (both ends inclusive)."""
    return Delegation.in_force(today)


def principal_ids(session: Session, deputy_user_id: int, today: date) -> frozenset[int]:
    """The user ids of everyone this user is the deputy of today (one indexed query)."""
    return frozenset(session.scalars(select(Delegation.principal_user_id).where(
        Delegation.of_deputy_on(deputy_user_id, today))))


def actor_on(session: Session, user, today: date, opened: tuple | None = None) -> Actor:
    """The Actor for a login on `today`: in their own right, and for every head away who named
    them deputy for that day. `opened`: (officer, principal ids) as the request's first statement
    read them (app.security.manager), so they are not read again."""
    if opened is not None:
        officer, principals = opened
        return actor_for(session, user, principals, officer=officer)
    return actor_for(session, user, principal_ids(session, user.id, today))


def principals_of(session: Session, deputy_user_id: int, today: date) -> list[User]:
    """The users this deputy stands in for today."""
    ids = principal_ids(session, deputy_user_id, today)
    if not ids:
        return []
    return list(session.scalars(select(User).where(User.id.in_(sorted(ids))).order_by(User.id)))


# -- naming a deputy ---------------------------------------------------------------------------
def _principal(session: Session, actor: Actor, principal_user_id: int | None) -> tuple[User, Officer | None]:
    principal_user_id = principal_user_id or actor.user_id
    if principal_user_id != actor.user_id and not actor.has_role(ADMIN):
        raise NotAllowed(MSG_ONLY_FOR_YOURSELF)
    # Locks the principal's row (PostgreSQL), so two overlapping delegations cannot both pass.
    session.execute(select(User.id).where(User.id == principal_user_id).with_for_update())
    principal = session.get(User, principal_user_id)
    if principal is None:
        raise _invalid("principal", MSG_PRINCIPAL_UNKNOWN)
    officer = _officer_of(session, principal.id)
    if officer is None and not _holds(principal, CENTRAL_IT):
        raise _invalid("principal", MSG_PRINCIPAL_NOT_HEAD)
    return principal, officer


def _check_deputy(session: Session, principal: User, principal_officer: Officer | None,
                  deputy_user_id: int | None) -> User:
    if deputy_user_id is None:
        raise _invalid("deputy", MSG_DEPUTY_REQUIRED)
    if deputy_user_id == principal.id:
        raise _invalid("deputy", MSG_DEPUTY_SELF)
    deputy = session.get(User, deputy_user_id)
    officer = _officer_of(session, deputy_user_id) if deputy else None
    if deputy is None or not deputy.active or officer is None or officer.status != "active":
        raise _invalid("deputy", MSG_DEPUTY_NOT_OFFICER)
    # Without an officer record the principal is never a named head: only CentralIT work is left,
    # and only a CentralIT colleague can cover that (any of them could already).
    if principal_officer is None and not _holds(deputy, CENTRAL_IT):
        raise _invalid("deputy", MSG_DEPUTY_NOT_CENTRAL_IT)
    return deputy


def _check_days(starts_on: date | None, ends_on: date | None, today: date) -> None:
    if starts_on is None or ends_on is None:
        raise _invalid("starts_on", MSG_DATES_REQUIRED)
    if ends_on < starts_on:
        raise _invalid("ends_on", MSG_DATES_ORDER)
    if starts_on < today:
        raise _invalid("starts_on", MSG_DATES_PAST)
    if (ends_on - starts_on).days + 1 > MAX_DAYS:
        raise _invalid("ends_on", MSG_TOO_LONG, days=MAX_DAYS)


def _check_overlap(session: Session, principal: User, starts_on: date, ends_on: date) -> None:
    clash = session.scalar(select(Delegation).where(
        Delegation.principal_user_id == principal.id,
        Delegation.starts_on <= ends_on, Delegation.ends_on >= starts_on,
    ).order_by(Delegation.starts_on).limit(1))
    if clash is not None:
        # dates, not text: the message shows them in the reader's calendar
        raise _invalid("starts_on", MSG_OVERLAP, starts=clash.starts_on, ends=clash.ends_on,
                       deputy=str(clash.deputy))


def name_deputy(session: Session, actor: Actor, deputy_user_id: int | None, starts_on: date | None,
                ends_on: date | None, reason: str | None, today: date, *,
                principal_user_id: int | None = None) -> Delegation:
    """Name `deputy_user_id` to decide in the principal's place from starts_on to ends_on.

    The principal is the actor, or for an Admin whoever `principal_user_id` names.
    """
    principal, principal_officer = _principal(session, actor, principal_user_id)
    _check_deputy(session, principal, principal_officer, deputy_user_id)
    _check_days(starts_on, ends_on, today)
    reason = (reason or "").strip()
    if len(reason) > REASON_LIMIT:
        raise _invalid("reason", MSG_REASON_TOO_LONG, limit=REASON_LIMIT)
    _check_overlap(session, principal, starts_on, ends_on)
    delegation = Delegation(principal_user_id=principal.id, deputy_user_id=deputy_user_id,
                            starts_on=starts_on, ends_on=ends_on, reason=reason or None,
                            created_by_id=actor.user_id)
    session.add(delegation)
    session.flush()
    audit.record(session, "Delegation.create", actor_id=actor.user_id, obj=delegation,
                 unit_id=_unit_of(principal_officer), after=audit.snapshot(delegation))
    return delegation


# -- cancelling --------------------------------------------------------------------------------
def load_delegation(session: Session, actor: Actor, delegation_id: int) -> Delegation:
    """A delegation the actor may change: their own as principal, or any for an Admin."""
    delegation = session.get(Delegation, delegation_id)
    if delegation is None or not (actor.has_role(ADMIN) or delegation.principal_user_id == actor.user_id):
        raise NotFound(MSG_NOT_FOUND)
    return delegation


def cancel_delegation(session: Session, actor: Actor, delegation_id: int, today: date) -> Delegation | None:
    """End a delegation now: the deputy loses the principal's authority from this moment.

    One that has not yet run a full day is removed (the audit trail keeps it); one that ran on
    earlier days ends yesterday, so the days it did run stay on record. Returns what is left.
    """
    delegation = load_delegation(session, actor, delegation_id)
    if delegation.ends_on < today:
        raise ValidationFailed(MSG_ENDED)
    before = audit.snapshot(delegation)
    unit_id = _unit_of(_officer_of(session, delegation.principal_user_id))
    if delegation.starts_on >= today:
        audit.record(session, "Delegation.cancel", actor_id=actor.user_id, obj=delegation,
                     unit_id=unit_id, before=before)
        session.delete(delegation)
        session.flush()
        return None
    delegation.ends_on = today - timedelta(days=1)
    session.flush()
    audit.record(session, "Delegation.cancel", actor_id=actor.user_id, obj=delegation,
                 unit_id=unit_id, before=before, after={"ends_on": delegation.ends_on.isoformat()})
    return delegation


def state_of(delegation: Delegation, today: date) -> str:
    """upcoming / in_force / ended, for lists."""
    if delegation.starts_on > today:
        return "upcoming"
    return "in_force" if delegation.ends_on >= today else "ended"
