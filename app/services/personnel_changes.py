"""The human side of the personnel rules: a command's technology staff mark changes handled.

The rules (app.services.personnel_rules) open a PersonnelChange for every mover, leaver and flag
of a command; its technology staff review the officer's rights, act on them through the usual
commands (reinstate, revoke, ...), then mark the change handled with a note of what they did.
Rows are loaded again through the row scope here, whatever a screen or an action posted.
"""
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import inputs
from app.errors import N_, NotAllowed, NotFound, SitthiError, ValidationFailed
from app.models import PersonnelChange
from app.security.scope import ADMIN, COMMAND_TECH, Actor, scoped
from app.services import audit
from app.services.clock import Clock

MSG_NOT_COMMAND_TECH = N_("Only the technology staff of the officer's command mark a personnel change handled.")
MSG_NOT_FOUND = N_("No such personnel change, or not one of your command.")
MSG_NOTE_REQUIRED = N_("Write a note of what was done.")
MSG_NOTE_TOO_LONG = N_("Keep the note under %(limit)s characters.")
MSG_ALREADY_HANDLED = N_("This personnel change was already marked handled.")
NOTE_LIMIT = 2000


@dataclass
class Handled:
    """What a bulk "mark handled" did: the rows changed, and each one refused with the reason."""

    handled: list[int] = field(default_factory=list)
    refused: list[tuple[int, SitthiError]] = field(default_factory=list)


def may_handle(actor: Actor) -> bool:
    return (actor.has_role(COMMAND_TECH) and actor.command_id is not None) or actor.has_role(ADMIN)


def _note(note: str | None) -> str:
    text = (note or "").strip()
    if not text:
        raise ValidationFailed(MSG_NOTE_REQUIRED)
    if len(text) > NOTE_LIMIT:
        raise ValidationFailed(MSG_NOTE_TOO_LONG, limit=NOTE_LIMIT)
    return text


def mark_handled(session: Session, actor: Actor, change_ids, note: str | None, clock: Clock) -> Handled:
    """Close each open change of the actor's command with the note; the others are refused.

    The caller commits. Nothing is changed when the actor may not, or the note is missing.
    """
    if not may_handle(actor):
        raise NotAllowed(MSG_NOT_COMMAND_TECH)
    text = _note(note)
    wanted = [pk for pk in (inputs.as_id(raw) for raw in change_ids) if pk is not None]
    found = {change.id: change for change in session.scalars(scoped(
        session, actor, select(PersonnelChange).where(PersonnelChange.id.in_(sorted(set(wanted)))),
        PersonnelChange).execution_options(populate_existing=True).with_for_update(of=PersonnelChange))}
    result = Handled()
    for pk in dict.fromkeys(wanted):
        change = found.get(pk)
        if change is None:
            result.refused.append((pk, NotFound(MSG_NOT_FOUND)))
            continue
        if change.state != "open":
            result.refused.append((pk, ValidationFailed(MSG_ALREADY_HANDLED)))
            continue
        change.state, change.note = "done", text
        change.handled_by_id, change.handled_at = actor.user_id, clock.now
        audit.record(session, "PersonnelChange.handle", actor_id=actor.user_id, obj=change,
                     unit_id=change.command_id, before={"state": "open"},
                     after={"state": "done", "note": text})
        result.handled.append(pk)
    session.flush()
    return result
