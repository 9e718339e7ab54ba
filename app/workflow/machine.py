"""The request state machine as one table of transitions.

Each transition names the states it may start from, the state it leads to, who may fire it
(the requester, or the actor the current stage designates) and guards: pure functions that
return a translatable reason to refuse, or None. `check()` is the only judge of whether a
transition may fire; the request service is the only code that then writes the new state.
"""
from collections.abc import Callable
from dataclasses import dataclass, field

from app.errors import N_, SitthiError

DRAFT, SUBMITTED, RETURNED, REJECTED, COMPLETED, CANCELLED = (
    "draft", "submitted", "returned", "rejected", "completed", "cancelled",
)
FINAL_STATES = frozenset({REJECTED, COMPLETED, CANCELLED})
OPEN_STATES = frozenset({DRAFT, SUBMITTED, RETURNED})

# Who fires a transition. The scheduled chasing sweep (app/services/chasing.py) fires the system's:
# it reminds, escalates, hands the head's stage to the unit's next head, or returns an overdue
# request; none of them decides what the request asks for.
REQUESTER = "requester"
STAGE_ACTOR = "stage_actor"
SYSTEM = "system"

# Where a stage decision leads: on to the next stage, or done; the service works out which.
NEXT_STAGE = "next_stage"

MSG_NOT_ALLOWED = N_("This request is %(state)s: it cannot be %(transition)s now.")
STATE_LABELS = {
    DRAFT: N_("a draft"), SUBMITTED: N_("in approval"), RETURNED: N_("returned for correction"),
    REJECTED: N_("rejected"), COMPLETED: N_("completed"), CANCELLED: N_("cancelled"),
}
MSG_COMMENT_REQUIRED = N_("A comment is required to return or reject a request.")
MSG_PLEDGE = N_("Accept the pledge before submitting.")
MSG_NO_ITEMS = N_("Choose at least one data source or function.")
MSG_NO_HEAD = N_("Name the unit head who certifies this request.")
MSG_NO_STAGE = N_("This request is not waiting at any approval stage.")


@dataclass(frozen=True)
class Context:
    """What the guards look at; built by the service from the request and the form."""

    state: str
    comment: str = ""
    pledge_accepted: bool = False
    item_count: int = 0
    needs_items: bool = True
    has_certifying_head: bool = False
    at_stage: bool = False


Guard = Callable[[Context], str | None]


def comment_given(ctx: Context) -> str | None:
    return None if ctx.comment.strip() else MSG_COMMENT_REQUIRED


def pledge_accepted(ctx: Context) -> str | None:
    return None if ctx.pledge_accepted else MSG_PLEDGE


def has_items(ctx: Context) -> str | None:
    return None if ctx.item_count or not ctx.needs_items else MSG_NO_ITEMS


def names_head(ctx: Context) -> str | None:
    return None if ctx.has_certifying_head else MSG_NO_HEAD


def waits_at_stage(ctx: Context) -> str | None:
    return None if ctx.at_stage else MSG_NO_STAGE


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    fired_by: str
    guards: tuple[Guard, ...] = field(default=())
    label: str = ""


_SUBMIT_GUARDS = (pledge_accepted, has_items, names_head)

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition("submit", frozenset({DRAFT}), SUBMITTED, REQUESTER, _SUBMIT_GUARDS,
                   N_("submitted")),
        Transition("resubmit", frozenset({RETURNED}), SUBMITTED, REQUESTER, _SUBMIT_GUARDS,
                   N_("resubmitted")),
        Transition("cancel", frozenset({DRAFT, SUBMITTED, RETURNED}), CANCELLED, REQUESTER, (),
                   N_("cancelled")),
        Transition("approve", frozenset({SUBMITTED}), NEXT_STAGE, STAGE_ACTOR, (waits_at_stage,),
                   N_("approved")),
        Transition("return", frozenset({SUBMITTED}), RETURNED, STAGE_ACTOR,
                   (waits_at_stage, comment_given), N_("returned")),
        Transition("reject", frozenset({SUBMITTED}), REJECTED, STAGE_ACTOR,
                   (waits_at_stage, comment_given), N_("rejected")),
        Transition("remind", frozenset({SUBMITTED}), SUBMITTED, SYSTEM, (waits_at_stage,), N_("reminded")),
        Transition("escalate", frozenset({SUBMITTED}), SUBMITTED, SYSTEM, (waits_at_stage,), N_("escalated")),
        Transition("reassign", frozenset({SUBMITTED}), SUBMITTED, SYSTEM, (waits_at_stage, names_head),
                   N_("handed to another head")),
        Transition("return_overdue", frozenset({SUBMITTED}), RETURNED, SYSTEM,
                   (waits_at_stage, comment_given), N_("returned as overdue")),
    )
}


class TransitionRefused(SitthiError):
    """A transition that may not fire in the request's state, or a guard that said no."""

    status = 409


def allowed_from(state: str) -> list[str]:
    """Names of the transitions the table allows from a state (guards not yet checked)."""
    return [t.name for t in TRANSITIONS.values() if state in t.sources]


def check(name: str, ctx: Context) -> Transition:
    """The transition if it may fire in this context; TransitionRefused with the reason if not."""
    transition = TRANSITIONS[name]
    if ctx.state not in transition.sources:
        raise TransitionRefused(
            MSG_NOT_ALLOWED, state=STATE_LABELS[ctx.state], transition=transition.label
        )
    for guard in transition.guards:
        reason = guard(ctx)
        if reason:
            raise TransitionRefused(reason)
    return transition
