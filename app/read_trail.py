"""The web side of the audit trail: reads of personal data as screens and the API record them
(the rule: app.services.audit.record_read), and the address every event of a request carries.

The event joins the request's transaction at once and is committed when the answer is ready,
before it is sent: a read that was answered is a read that was recorded. Committing after the
page is rendered, not before, keeps the rows the page reads loaded (a commit expires them all).
If the commit fails, the user gets an error page instead of the data.
"""
from flask import after_this_request, g, request

from app.extensions import db
from app.security.scope import Actor
from app.services import audit


def note_read(actor: Actor, action: str, *, officer_ids, **event) -> None:
    audit.record_read(db.session, action, officer_ids=officer_ids, actor_id=actor.user_id,
                      reader_officer_id=actor.officer_id, remote_addr=request.remote_addr, **event)
    if not g.get("_sitthi_read_commit"):
        g._sitthi_read_commit = True
        after_this_request(_commit_reads)


def _commit_reads(response):
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()  # nothing was shown
    return response


def register(app) -> None:
    """Every audit event written while answering a request carries its address (ProxyFix-aware),
    workflow decisions included: the services read it from the session (audit.REMOTE_ADDR)."""

    @app.before_request
    def _address_for_the_trail() -> None:
        db.session.info[audit.REMOTE_ADDR] = request.remote_addr
