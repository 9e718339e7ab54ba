"""One-click renewal: a draft request prefilled from a grant the officer holds.

The draft is an ordinary request made through `access_requests.save_draft`: the officer still
names the certifying head, accepts the pledge and submits it, and the approval chain decides.
When it completes, `_grant_for` extends the grant being renewed instead of adding a second one.
"""
import re
from dataclasses import dataclass

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

# Expired grants too: renewing is how an officer asks for a lapsed right again.
RENEWABLE_STATES = ("active", "expired")
OPEN_STATES = ("draft", "submitted", "returned")


@dataclass(frozen=True)
class Renewal:
    request: AccessRequest
    created: bool  # False: an open renewal of this grant already existed and is handed back


def renewable(grant: Grant) -> bool:
    return grant.state in RENEWABLE_STATES


def renewal_kind(grant: Grant) -> str:
    """Search rights renew as a search-rights renewal, the CRIMES account as an account renewal."""
    if grant.data_source_id is not None:
        return "external_search_renewal"
    if grant.function is not None and grant.function.code == access_requests.ACCOUNT_FUNCTION:
        return "account_renewal"
    return "additional_functions"


def start_renewal(session: Session, actor: Actor, grant_id: int, clock: Clock) -> Renewal:
    """The actor's draft renewal of their own grant (or the open one they already have)."""
    if actor.officer_id is None:
        raise NotAllowed(access_requests.MSG_NO_OFFICER)
    grant = session.get(Grant, grant_id)
    if grant is None or grant.officer_id != actor.officer_id:
        raise NotFound(MSG_NOT_FOUND)
    if not renewable(grant):
        raise NotAllowed(MSG_NOT_RENEWABLE)
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
