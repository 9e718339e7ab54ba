"""One-click renewal: a draft request prefilled from a grant the officer holds.

The draft is an ordinary request made through `access_requests.save_draft`: the officer still
names the certifying head, accepts the pledge and submits it, and the approval chain decides.
When it completes, `_grant_for` extends the grant being renewed instead of adding a second one.
"""
import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import N_, NotAllowed, NotFound
from app.models import AccessRequest, Grant, Officer, RequestItem
from app.security.scope import Actor
from app.services import access_requests
from app.services.access_requests import RequestData, SourceChoice
from app.services.clock import Clock

MSG_NOT_FOUND = N_("No such permission among your own.")
MSG_NOT_RENEWABLE = N_("Only an active or expired permission can be renewed.")
MSG_NOT_YET = N_("This permission runs until %(until)s: it can be renewed from %(from)s, %(days)s days before it ends.")

# Expired grants too: renewing is how an officer asks for a lapsed right again.
RENEWABLE_STATES = ("active", "expired")
# An active grant is renewed inside the reminder window (config EXPIRY_REMINDER_DAYS), when its
# holder is told it ends: earlier, a renewal would only stack a second year on a full one.
WINDOW_DAYS = 30
OPEN_STATES = ("draft", "submitted", "returned")


@dataclass(frozen=True)
class Renewal:
    request: AccessRequest
    created: bool  # False: an open renewal of this grant already existed and is handed back


def renewable(grant: Grant, today: date, window_days: int = WINDOW_DAYS) -> bool:
    return grant.state in RENEWABLE_STATES and (grant.state == "expired" or grant.valid_until is None
                                                or grant.valid_until <= today + timedelta(days=window_days))


def renewable_from(grant: Grant, window_days: int = WINDOW_DAYS) -> date | None:
    return grant.valid_until - timedelta(days=window_days) if grant.valid_until else None


def renewal_kind(grant: Grant) -> str:
    """Search rights renew as a search-rights renewal, the CRIMES account as an account renewal."""
    if grant.data_source_id is not None:
        return "external_search_renewal"
    if grant.function is not None and grant.function.code == access_requests.ACCOUNT_FUNCTION:
        return "account_renewal"
    return "additional_functions"


def start_renewal(session: Session, actor: Actor, grant_id: int, clock: Clock,
                  window_days: int = WINDOW_DAYS) -> Renewal:
    """The actor's draft renewal of their own grant (or the open one they already have)."""
    if actor.officer_id is None:
        raise NotAllowed(access_requests.MSG_NO_OFFICER)
    grant = session.get(Grant, grant_id)
    if grant is None or grant.officer_id != actor.officer_id:
        raise NotFound(MSG_NOT_FOUND)
    if grant.state not in RENEWABLE_STATES:
        raise NotAllowed(MSG_NOT_RENEWABLE)
    if not renewable(grant, clock.today, window_days):
        raise NotAllowed(MSG_NOT_YET, until=grant.valid_until, days=window_days,
                         **{"from": renewable_from(grant, window_days)})
    kind = renewal_kind(grant)
    existing = _open_renewal(session, grant, kind)
    if existing is not None:
        return Renewal(existing, created=False)
    officer = session.get(Officer, actor.officer_id)
    request = access_requests.save_draft(session, actor, _prefill(grant, officer, actor, kind), clock)
    return Renewal(request, created=True)


def _prefill(grant: Grant, officer: Officer, actor: Actor, kind: str) -> RequestData:
    sources, functions = (), ()
    if grant.data_source is not None:
        group_id = None
        if grant.data_source.needs_rank_group:
            own = officer.rank.rank_group_id if officer.rank else None
            group_id = grant.rank_group_id or own  # the same rank group as the grant
        sources = (SourceChoice(grant.data_source_id, group_id),)
    elif grant.function_id is not None:
        functions = (grant.function_id,)
    # Contact data the request form would refuse is left for the officer to type.
    email = officer.email or actor.email or ""
    mobile = re.sub(r"[\s-]", "", officer.mobile or "")
    return RequestData(
        kind=kind,
        contact_email=email if access_requests.EMAIL.match(email) and len(email) <= 254 else "",
        contact_mobile=mobile if access_requests.MOBILE.match(mobile) else "",
        duty_performed=(grant.request.duty_performed if grant.request else "") or "",
        sources=sources,
        function_ids=functions,
    )


def _open_renewal(session: Session, grant: Grant, kind: str) -> AccessRequest | None:
    """A request of the officer's, not yet decided, that already asks for this grant's target."""
    query = select(AccessRequest).where(
        AccessRequest.requester_id == grant.officer_id, AccessRequest.kind == kind,
        AccessRequest.state.in_(OPEN_STATES))
    if kind != "account_renewal":  # an account renewal renews the account, whatever it lists
        target = (RequestItem.data_source_id == grant.data_source_id if grant.data_source_id
                  else RequestItem.function_id == grant.function_id)
        query = query.where(AccessRequest.items.any(target))
    return session.scalars(query.order_by(AccessRequest.id.desc()).limit(1)).first()
