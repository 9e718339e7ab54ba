"""Commands of a command's technology staff on permissions: assign, suspend, revoke, extend, reinstate.

A CommandTech administers the officers of their own command (home unit, or acting unit while a
temporary assignment lasts, anywhere below the command's `is_admin_scope` unit) and may assign only
the CRIMES functions the command is allowed to give (CommandFunction). Every command here loads
the grant through the row scope of app.security.scope, checks the stale-form version, applies one
change from the table below, and writes the AuditEvent (before -> after) and the officer's mail in
the caller's transaction. Nothing here commits.
"""
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.domain import inputs
from app.domain.named import named
from app.domain.thai_dates import thai_date
from app.errors import N_, NotAllowed, NotFound, SitthiError, StaleRecord, ValidationFailed
from app.models import LIVE_GRANT_STATES, CommandFunction, Grant, Officer, SystemFunction, Unit
from app.models.collation import thai
from app.models.lifecycle import DutyOrder
from app.security.scope import COMMAND_TECH, Actor, is_visible, officers_in_command, units_under
from app.services import audit, deactivation, eligibility, notifications, officer_search
from app.services.clock import Clock
from app.services.conflicts import conflicts_are_stale

MSG_NOT_COMMAND_TECH = N_("Only the technology staff of a command assign and change permissions.")
MSG_NOT_FOUND = N_("No such permission, or not one you may see.")
MSG_OFFICER_NOT_FOUND = N_("No such officer in your command.")
MSG_OUTSIDE_COMMAND = N_("%(officer)s is not in your command: only the technology staff of their own command may change their permissions.")
MSG_SELF = N_("You cannot assign or change your own permissions: another member of the technology staff must.")
MSG_OFFICER_INACTIVE = N_("%(officer)s is not an active officer.")
MSG_UNKNOWN_FUNCTION = N_("Unknown or withdrawn system function.")
MSG_FUNCTION_NOT_ALLOWED = N_("Your command may not assign %(function)s.")
MSG_LEVEL_TOO_LOW = N_("%(function)s needs the position level %(level)s or above.")
MSG_DUTY_LINE = N_("%(function)s is only for the duty line %(line)s.")
MSG_ALREADY_HOLDS = N_("%(officer)s already holds %(function)s (state: %(state)s).")
MSG_VALID_UNTIL = N_("The end of validity must be after today and within %(months)s months.")
MSG_EXTEND_LATER = N_("The new end of validity must be later than the current one.")
MSG_EXTEND_SOURCE = N_("Rights to other agencies' data are renewed through a request to the Central IT Center.")
MSG_REASON_REQUIRED = N_("Give the reason.")
MSG_TOO_LONG = N_("Keep this under %(limit)s characters.")
MSG_WRONG_STATE = N_("A permission in the state %(state)s cannot be changed this way.")
MSG_EXPIRED = N_("This permission has expired: assign it again instead.")
MSG_NO_SUCH_ORDER = N_("No such duty order of your command.")
MSG_ORDER_FOR_FUNCTIONS = N_("A duty order is recorded on a system function, not on a right to an agency's data.")
MSG_ORDER_ENDED_GRANT = N_("This permission has ended: its duty order can no longer change.")
MSG_STALE = N_("Someone changed this permission after you opened it. Nothing was saved: reload the page and try again.")

# The names of app.labels.GRANT_STATE, marked here so a refusal names the state in the reader's language.
STATE_NAMES = {
    "pending_activation": N_("Pending agency activation"),
    "active": N_("Active"),
    "expired": N_("Expired"),
    "revoked": N_("Revoked"),
    "suspended": N_("Suspended"),
}
# The longest a command may assign or extend a function for, counted from today.
MAX_VALIDITY_MONTHS = 24
REASON_LIMIT = 2000


@dataclass(frozen=True)
class Change:
    """One change of a grant: the states it may start from, the state it ends in (None: kept)."""

    sources: tuple[str, ...]
    target: str | None
    needs_reason: bool


CHANGES = {
    "suspend": Change(("active",), "suspended", needs_reason=True),
    # Not while the agency is still activating: recording that activation would make it active
    # again. CentralIT records the agency's refusal instead.
    "revoke": Change(("active", "suspended"), "revoked", needs_reason=True),
    "reinstate": Change(("suspended",), "active", needs_reason=False),
    "extend": Change(("active",), None, needs_reason=False),
}


# -- who and what ---------------------------------------------------------------------------------
def _require_command_tech(actor: Actor) -> None:
    if not actor.has_role(COMMAND_TECH) or actor.command_id is None:
        raise NotAllowed(MSG_NOT_COMMAND_TECH)


def _command_officers(session: Session, actor: Actor):
    """Officers of the actor's command: home unit, or acting unit, below the command."""
    return officers_in_command(units_under(session, actor.command_id))


def in_command(session: Session, actor: Actor, officer_id: int | None) -> bool:
    """Whether the officer belongs to the actor's command (never merely as the actor's own record)."""
    if officer_id is None or actor.command_id is None:
        return False
    query = select(Officer.id).where(Officer.id == officer_id, _command_officers(session, actor))
    return session.scalar(query.limit(1)) is not None


def assignable_officers(session: Session, actor: Actor, term: str = "", limit: int = 20) -> list[Officer]:
    """Active officers of the actor's command (never the actor), by name or whole national ID."""
    if not actor.has_role(COMMAND_TECH) or actor.command_id is None:
        return []
    query = select(Officer).where(Officer.status == "active", _command_officers(session, actor))
    if actor.officer_id is not None:
        query = query.where(Officer.id != actor.officer_id)
    query = officer_search.search_officers(query, term)
    query = query.order_by(*officer_search.name_order(term)).limit(limit)
    return list(session.scalars(query))


def assignable_functions(session: Session, actor: Actor) -> list[SystemFunction]:
    """The functions the actor's command may give (none for anyone else)."""
    if not actor.has_role(COMMAND_TECH) or actor.command_id is None:
        return []
    return list(session.scalars(
        select(SystemFunction)
        .join(CommandFunction, CommandFunction.function_id == SystemFunction.id)
        .where(CommandFunction.unit_id == actor.command_id, SystemFunction.is_active.is_(True))
        .order_by(thai(SystemFunction.name_th))))


def functions_for_officer(session: Session, actor: Actor, officer_id) -> list[tuple[SystemFunction, SitthiError | None]]:
    """The functions the actor's command may give, each with why this officer cannot receive it
    (None: they can), by the same rules assign_function applies. NotFound for an officer outside
    the actor's command."""
    officer_id = inputs.as_id(officer_id)
    if officer_id is None or not in_command(session, actor, officer_id):
        raise NotFound(MSG_OFFICER_NOT_FOUND)
    officer = session.get(Officer, officer_id)
    held = {grant.function_id: grant.state for grant in session.scalars(
        select(Grant).where(Grant.officer_id == officer_id, Grant.function_id.isnot(None),
                            Grant.state.in_((*LIVE_GRANT_STATES, "suspended"))))}
    found = []
    for function in assignable_functions(session, actor):
        refusal = None
        try:
            if officer_id == actor.officer_id:
                raise NotAllowed(MSG_SELF)
            _officer_fits(officer, function)
            if function.id in held:
                raise ValidationFailed(MSG_ALREADY_HOLDS, officer=str(officer), function=named(function),
                                       state=STATE_NAMES[held[function.id]])
        except SitthiError as error:
            refusal = error
        found.append((function, refusal))
    return found


def _function_allowed(session: Session, actor: Actor, function: SystemFunction) -> None:
    allowed = session.scalar(select(CommandFunction.id).where(
        CommandFunction.unit_id == actor.command_id, CommandFunction.function_id == function.id))
    if allowed is None or not function.is_active:
        raise NotAllowed(MSG_FUNCTION_NOT_ALLOWED, function=named(function))


def _officer_fits(officer: Officer, function: SystemFunction) -> None:
    """Active, at the function's minimum position level, in its duty line (i-SERVICE rule)."""
    if officer.status != "active":
        raise ValidationFailed(MSG_OFFICER_INACTIVE, officer=str(officer))
    level = function.min_position_level
    if level is not None and (officer.position_level is None or officer.position_level.order < level.order):
        raise ValidationFailed(MSG_LEVEL_TOO_LOW, function=named(function), level=named(level))
    if function.duty_line_id is not None and officer.duty_line_id != function.duty_line_id:
        raise ValidationFailed(MSG_DUTY_LINE, function=named(function), line=named(function.duty_line))


def _check_valid_until(valid_until: date, today: date) -> None:
    if not today < valid_until <= today + relativedelta(months=MAX_VALIDITY_MONTHS):
        raise ValidationFailed(MSG_VALID_UNTIL, months=MAX_VALIDITY_MONTHS)


def _reason(reason: str | None, required: bool) -> str | None:
    text = (reason or "").strip()
    if required and not text:
        raise ValidationFailed(MSG_REASON_REQUIRED)
    if len(text) > REASON_LIMIT:
        raise ValidationFailed(MSG_TOO_LONG, limit=REASON_LIMIT)
    return text or None


def _check_version(grant: Grant, expected_version) -> None:
    expected = inputs.expected_version(expected_version)
    if expected is not None and grant.version != expected:
        raise StaleRecord(MSG_STALE)


def load_grant(session: Session, actor: Actor, grant_id) -> Grant:
    """A grant the actor may administer: seen through the row scope, of an officer of their command."""
    _require_command_tech(actor)
    grant_id = inputs.as_id(grant_id)
    if grant_id is None:  # no grant can have it (and past INTEGER the database would refuse it)
        raise NotFound(MSG_NOT_FOUND)
    grant = session.get(Grant, grant_id)
    if grant is None or not is_visible(session, actor, Grant, grant_id):
        raise NotFound(MSG_NOT_FOUND)
    if grant.officer_id == actor.officer_id:
        raise NotAllowed(MSG_SELF)
    if not in_command(session, actor, grant.officer_id):
        raise NotAllowed(MSG_OUTSIDE_COMMAND, officer=str(grant.officer))
    return grant


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as error:
        raise StaleRecord(MSG_STALE) from error


# -- the commands ---------------------------------------------------------------------------------
@conflicts_are_stale(MSG_STALE)
def assign_function(session: Session, actor: Actor, officer_id, function_id, clock: Clock,
                    valid_until: date | None = None, duty_order_id=None) -> Grant:
    """Give an officer of the actor's command a function the command may give, with the duty
    order (คำสั่ง) behind it when there is one (the rights audit flags a function without)."""
    _require_command_tech(actor)
    order = duty_order_of_command(session, actor, duty_order_id) if duty_order_id not in (None, "") else None
    officer_id, function_id = inputs.as_id(officer_id), inputs.as_id(function_id)
    if officer_id is None:
        raise NotFound(MSG_OFFICER_NOT_FOUND)
    if function_id is None:
        raise ValidationFailed(MSG_UNKNOWN_FUNCTION)
    if officer_id == actor.officer_id:
        raise NotAllowed(MSG_SELF)
    if not in_command(session, actor, officer_id):
        raise NotFound(MSG_OFFICER_NOT_FOUND)
    officer = session.get(Officer, officer_id)
    function = session.get(SystemFunction, function_id)
    if function is None:
        raise ValidationFailed(MSG_UNKNOWN_FUNCTION)
    _function_allowed(session, actor, function)
    _officer_fits(officer, function)
    # The rule a request for the function meets too (app.services.eligibility); a suspended
    # grant of it is reinstated rather than doubled.
    held = eligibility.held_right(session, officer.id, eligibility.Right(function_id=function.id)) or session.scalar(
        select(Grant).where(Grant.officer_id == officer.id, Grant.function_id == function.id,
                            Grant.state == "suspended").limit(1))
    if held is not None:
        raise ValidationFailed(MSG_ALREADY_HOLDS, officer=str(officer), function=named(function),
                               state=STATE_NAMES[held.state])
    if valid_until is None:
        valid_until = clock.today + relativedelta(months=function.default_validity_months)
    _check_valid_until(valid_until, clock.today)
    grant = Grant(officer=officer, function=function, state="active", valid_from=clock.today,
                  valid_until=valid_until, granted_by_id=actor.user_id, command_id=actor.command_id,
                  duty_order_id=order.id if order else None)
    session.add(grant)
    _flush(session)
    audit.record(session, "Grant.assign", actor_id=actor.user_id, obj=grant, unit_id=actor.command_id,
                 after=audit.snapshot(grant))
    _notify(session, grant, "assign")
    _flush(session)
    return grant


def duty_orders_of_command(session: Session, actor: Actor) -> list[DutyOrder]:
    """The duty orders of the actor's command's units, newest first: what a function may cite."""
    if actor.command_id is None:
        return []
    return list(session.scalars(select(DutyOrder).where(DutyOrder.unit_id.in_(units_under(session, actor.command_id)))
                                .order_by(DutyOrder.issued_on.desc(), DutyOrder.id.desc())))


def duty_order_of_command(session: Session, actor: Actor, duty_order_id) -> DutyOrder:
    """One duty order of the actor's command; another command's is as good as none."""
    order_id = inputs.as_id(duty_order_id)
    order = session.get(DutyOrder, order_id) if order_id is not None else None
    if order is None or actor.command_id is None or session.scalar(
            select(Unit.id).where(Unit.id == order.unit_id, Unit.id.in_(units_under(session, actor.command_id)))) is None:
        raise ValidationFailed(MSG_NO_SUCH_ORDER)
    return order


def cites_duty_order(session: Session, duty_order_id: int) -> bool:
    return session.scalar(select(Grant.id).where(Grant.duty_order_id == duty_order_id).limit(1)) is not None


@conflicts_are_stale(MSG_STALE)
def attach_duty_order(session: Session, actor: Actor, grant_id, duty_order_id, clock: Clock) -> Grant:
    """Record the duty order behind a function grant of the actor's command."""
    grant = load_grant(session, actor, grant_id)
    if grant.function_id is None:
        raise ValidationFailed(MSG_ORDER_FOR_FUNCTIONS)
    if grant.state not in (*LIVE_GRANT_STATES, "suspended"):
        raise ValidationFailed(MSG_ORDER_ENDED_GRANT)
    order = duty_order_of_command(session, actor, duty_order_id)
    if grant.duty_order_id == order.id:
        return grant
    grant.duty_order_id = order.id
    before, after = audit.changes(grant)
    _flush(session)
    audit.record(session, "Grant.duty_order", actor_id=actor.user_id, obj=grant, unit_id=actor.command_id,
                 before=before, after=after, summary=f"{order.number} ({order.issued_on.isoformat()})")
    return grant


def _change(session: Session, actor: Actor, name: str, grant_id, clock: Clock, expected_version,
            reason: str | None = None, valid_until: date | None = None) -> Grant:
    change = CHANGES[name]
    grant = load_grant(session, actor, grant_id)
    _check_version(grant, expected_version)
    if grant.state not in change.sources:
        raise ValidationFailed(MSG_WRONG_STATE, state=STATE_NAMES[grant.state])
    text = _reason(reason, change.needs_reason)
    if name in ("extend", "reinstate"):
        _still_fits(session, actor, grant, clock.today, extending=name == "extend")
    if name == "reinstate":
        newer = eligibility.held_right(session, grant.officer_id, eligibility.Right(
            grant.data_source_id, grant.rank_group_id, grant.function_id))
        if newer is not None:
            raise ValidationFailed(MSG_ALREADY_HOLDS, officer=str(grant.officer),
                                   function=str(newer.data_source or newer.function),
                                   state=STATE_NAMES[newer.state])
    if name == "extend":
        if valid_until is None or (grant.valid_until is not None and valid_until <= grant.valid_until):
            raise ValidationFailed(MSG_EXTEND_LATER)
        _check_valid_until(valid_until, clock.today)
        grant.valid_until = valid_until
    if change.target is not None:
        grant.state = change.target
    if name in ("suspend", "revoke"):
        grant.reason = text
    if name == "reinstate":
        grant.reason = None
        # The reinstating command administers it from now on: a mover's grant brought back by
        # the new command is theirs, and the personnel rules no longer see a move in it.
        grant.command_id = actor.command_id
    return _record(session, grant, name, text, clock, actor_user_id=actor.user_id, unit_id=actor.command_id)


def _record(session: Session, grant: Grant, name: str, text: str | None, clock: Clock, *,
            actor_user_id: int | None, unit_id: int | None, job_run_id: int | None = None) -> Grant:
    """What every change of a grant leaves behind: its audit event (before -> after), the owner
    agency's deactivation notice for a revocation, and the holder's mail."""
    if name == "revoke":
        grant.revoked_by_id, grant.revoked_at = actor_user_id, clock.now
    before, after = audit.changes(grant)
    _flush(session)
    audit.record(session, f"Grant.{name}", actor_id=actor_user_id, obj=grant, unit_id=unit_id,
                 before=before, after=after, job_run_id=job_run_id)
    if name == "revoke":
        deactivation.open_notice(session, grant, text, actor_user_id)
    _notify(session, grant, name, text)
    _flush(session)
    return grant


@conflicts_are_stale(MSG_STALE)
def end_as_decided(session: Session, grant: Grant, name: str, reason: str, clock: Clock, *,
                   actor_user_id: int | None, unit_id: int | None, job_run_id: int | None = None) -> Grant:
    """Suspend or revoke a grant on a decision another rule has already authorised: a reviewer's
    signed-off rights review, or a review's rule for the items nobody reviewed (app.services.reviews
    judges who may decide and loads the grant through the row scope). No role or command check
    here; the same states, reason, audit, mail and deactivation notice as `suspend` and `revoke`."""
    if name not in ("suspend", "revoke"):
        raise ValueError(name)
    change = CHANGES[name]
    if grant.state not in change.sources:
        raise ValidationFailed(MSG_WRONG_STATE, state=STATE_NAMES[grant.state])
    text = _reason(reason, required=True)
    grant.state, grant.reason = change.target, text
    return _record(session, grant, name, text, clock, actor_user_id=actor_user_id, unit_id=unit_id,
                   job_run_id=job_run_id)


def _still_fits(session: Session, actor: Actor, grant: Grant, today: date, extending: bool) -> None:
    """A grant kept alive longer must still be one the command may give, to an eligible officer."""
    if grant.function is None:
        if extending:
            raise ValidationFailed(MSG_EXTEND_SOURCE)
        if grant.officer.status != "active":
            raise ValidationFailed(MSG_OFFICER_INACTIVE, officer=str(grant.officer))
    else:
        _function_allowed(session, actor, grant.function)
        _officer_fits(grant.officer, grant.function)
    if grant.valid_until is not None and grant.valid_until < today:
        raise ValidationFailed(MSG_EXPIRED)


@conflicts_are_stale(MSG_STALE)
def suspend(session: Session, actor: Actor, grant_id, reason: str, clock: Clock,
            expected_version=None) -> Grant:
    """Stop an active grant for a while (the reason is required); reinstate brings it back."""
    return _change(session, actor, "suspend", grant_id, clock, expected_version, reason=reason)


@conflicts_are_stale(MSG_STALE)
def revoke(session: Session, actor: Actor, grant_id, reason: str, clock: Clock,
           expected_version=None) -> Grant:
    """End a grant for good (the reason is required); the owner agency is asked to close its account."""
    return _change(session, actor, "revoke", grant_id, clock, expected_version, reason=reason)


@conflicts_are_stale(MSG_STALE)
def extend(session: Session, actor: Actor, grant_id, valid_until: date, clock: Clock,
           expected_version=None) -> Grant:
    """Move the end of an active function grant later, at most MAX_VALIDITY_MONTHS from today."""
    return _change(session, actor, "extend", grant_id, clock, expected_version, valid_until=valid_until)


@conflicts_are_stale(MSG_STALE)
def reinstate(session: Session, actor: Actor, grant_id, clock: Clock, expected_version=None) -> Grant:
    """Make a suspended grant active again, if it has not expired and the officer still qualifies."""
    return _change(session, actor, "reinstate", grant_id, clock, expected_version)


# -- mail -----------------------------------------------------------------------------------------
SUBJECTS = {
    "assign": ("ได้รับมอบสิทธิ์การใช้งาน", "Function assigned"),
    "suspend": ("สิทธิ์ของท่านถูกระงับชั่วคราว", "Permission suspended"),
    "revoke": ("สิทธิ์ของท่านถูกเพิกถอน", "Permission revoked"),
    "extend": ("สิทธิ์ของท่านได้รับการขยายอายุ", "Permission extended"),
    "reinstate": ("สิทธิ์ของท่านกลับมาใช้งานได้", "Permission reinstated"),
}


def _notify(session: Session, grant: Grant, what: str, reason: str | None = None) -> None:
    thai, english = SUBJECTS[what]
    officer = grant.officer
    target = grant.function or grant.data_source
    until = grant.valid_until.isoformat() if grant.valid_until else "-"
    until_th = thai_date(grant.valid_until, "long") if grant.valid_until else "-"
    body = (
        f"{thai}: {target.name_th}\n"
        f"ใช้ได้ถึง: {until_th}\n"
        + (f"เหตุผล: {reason}\n" if reason else "")
        + f"\n{english}: {target.name_en}\n"
        f"Valid until: {until}\n"
        + (f"Reason: {reason}\n" if reason else "")
        + f"{notifications.APP_URL_MARK}/mygrantview/list/\n"
    )
    notifications.queue(
        session, recipient_email=officer.email or (officer.user.email if officer.user else None),
        recipient_user_id=officer.user_id, subject=f"[Sitthi] {thai}: {target.name_th} / {english}",
        body=body,
    )
