"""Checking a printed document against Sitthi: which document a verification code names, and
what has become of it since it was printed.

The memo of a request and the certificate of a permission carry their code
(app.domain.verification) and a QR code of the address that checks it. Whoever holds the paper and may log in can check that it is genuine and see the
request's state now: certified by its head in the app (which replaces the wet signature), sent
on, approved or rejected item by item, and the rights it gave, active, expired or revoked.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.domain.verification import document_code, read_code
from app.models import AccessRequest, Grant, Officer, RequestGroup, RequestItem
from app.services.access_requests import head_certification


@dataclass(frozen=True)
class CheckedMemo:
    """A genuine memo: its request now, who certified it in the app and when, and its rights."""

    code: str
    request: AccessRequest
    certified_by: Officer | None
    certified_at: datetime | None
    grants: list[Grant]


@dataclass(frozen=True)
class CheckedGrant:
    """A genuine permission certificate: the permission as it stands now."""

    code: str
    grant: Grant


@dataclass(frozen=True)
class CheckedGroup:
    """A genuine group memo: the group and every officer's line as it stands now."""

    code: str
    group: RequestGroup
    lines: list[AccessRequest]


def group_code(secret: bytes, group_id: int) -> str:
    return document_code(secret, "group", group_id)


def memo_code(secret: bytes, request_id: int) -> str:
    return document_code(secret, "memo", request_id)


def grant_code(secret: bytes, grant_id: int) -> str:
    return document_code(secret, "grant", grant_id)


def check(session: Session, secret: bytes, code: str) -> CheckedMemo | CheckedGrant | CheckedGroup | None:
    """The document a code names, as it stands; None when no genuine document has that code."""
    found = read_code(secret, code)
    if found is None:
        return None
    kind, ident = found
    if kind == "grant":
        grant = session.scalar(select(Grant).where(Grant.id == ident).options(
            joinedload(Grant.officer).joinedload(Officer.rank), joinedload(Grant.data_source),
            joinedload(Grant.function), joinedload(Grant.rank_group)))
        return CheckedGrant(code=grant_code(secret, grant.id), grant=grant) if grant else None
    if kind == "group":
        group = session.get(RequestGroup, ident)
        if group is None:
            return None
        # The paper lists every officer: the check shows each line as it stands, no more.
        lines = list(session.scalars(select(AccessRequest).where(AccessRequest.group_id == group.id)
                                     .order_by(AccessRequest.id).options(
                                         joinedload(AccessRequest.requester).joinedload(Officer.rank))))
        return CheckedGroup(code=group_code(secret, group.id), group=group, lines=lines)
    return _checked_memo(session, secret, ident)


def _checked_memo(session: Session, secret: bytes, request_id: int) -> CheckedMemo | None:
    request = session.scalar(select(AccessRequest).where(AccessRequest.id == request_id).options(
        joinedload(AccessRequest.requester).joinedload(Officer.rank), joinedload(AccessRequest.unit),
        selectinload(AccessRequest.items).joinedload(RequestItem.data_source),
        selectinload(AccessRequest.items).joinedload(RequestItem.function)))
    if request is None:
        return None
    certified = head_certification(session, request)
    signer = session.scalar(select(Officer).where(Officer.user_id == certified.actor_id)) if certified else None
    grants = list(session.scalars(select(Grant).where(Grant.request_id == request.id).order_by(Grant.id)
                                  .options(joinedload(Grant.data_source), joinedload(Grant.function))))
    return CheckedMemo(code=memo_code(secret, request.id), request=request, certified_by=signer,
                       certified_at=certified.decided_at if certified else None, grants=grants)
