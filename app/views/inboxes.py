"""The approvers' inboxes: requests waiting for this user, with bulk decisions from the list.

Each inbox is a list of requests filtered to what waits for the logged-in user. Bulk actions
read only the selected ids and hand them to the request service, which loads every row again
through its own visibility and stage rules: FAB loads action rows without the list's filters.
"""
from flask import flash, g, redirect, request
from flask_appbuilder import expose
from flask_appbuilder.actions import action
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app import labels
from app.domain.pledge import ATTESTATION, in_language
from app.errors import SitthiError
from app.extensions import db
from app.formatting import current_language, office_clock
from app.input_guard import form_ids, form_text
from app.models import AccessRequest
from app.services import access_requests as service
from app.services import inboxes
from app.services.inboxes import inbox_conditions
from app.views import loads
from app.views.base import (
    PERMISSION_BY_METHOD,
    ReadOnlyModelView,
    code_column,
    code_field,
)
from app.views.labels import LABELS
from app.views.request_columns import ORDER_ALIASES, CheckedRequestRows, checks_cell, due_cell, request_link
from app.views.requests import REQUEST_LABELS
from app.views.scoping import current_actor

NOTHING = AccessRequest.id.is_(None)


class WaitsInInbox(BaseFilter):
    """The rows of one inbox (`column_name` names it) for the logged-in user."""

    def apply(self, query, value):
        # Worked out once per request: the page's count and its rows both ask.
        conditions = g.get("_sitthi_inbox_conditions")
        if conditions is None:
            conditions = g._sitthi_inbox_conditions = inbox_conditions(db.session, current_actor())
        condition = conditions.get(self.column_name)
        return query.filter(NOTHING if condition is None else condition)


class InboxView(ReadOnlyModelView):
    """A list of waiting requests; the number opens the request page where decisions are taken."""

    datamodel = CheckedRequestRows(AccessRequest, db.session, loads.INBOX_LIST)
    order_aliases = ORDER_ALIASES
    # Write is for the bulk decisions only: an inbox never adds, edits or deletes a row.
    base_permissions = ["can_read", "can_write"]
    exclude_route_methods = {"download", "add", "edit", "delete", "action"}  # decisions: bulk or on the page
    label_columns = REQUEST_LABELS
    list_columns = ["link", "kind", "requester", "unit", "current_stage", "submitted_at", "due", "checks"]
    search_columns = ["number", "kind", "submitted_at", "due_on"]
    formatters_columns = {"kind": code_column(labels.REQUEST_KIND), "link": request_link, "due": due_cell,
                          "checks": checks_cell}
    search_form_extra_fields = {"kind": code_field(LABELS["kind"], labels.REQUEST_KIND)}
    base_order = ("due_on", "asc")
    list_template = "sitthi/inbox_list.html"
    bulk_actions: tuple[str, ...] = ()
    method_permission_name = {
        **PERMISSION_BY_METHOD, "approve_selected": "write", "return_selected": "write",
        "reject_selected": "write",
    }

    # The attestation a head confirms for every request certified from this list (None: no such stage).
    bulk_attestation = None

    def render_template(self, template, **kwargs):
        if self.bulk_attestation is not None:
            kwargs.setdefault("bulk_attestation", in_language(self.bulk_attestation, current_language()))
        return super().render_template(template, **kwargs)

    def _decide_selected(self, transition: str):
        """Decide each selected request through the service, one transaction each.

        A bulk approval approves every pending item of each request; one that fails its checks
        on the day is skipped and reported with the reasons, the others go through.
        """
        actor = current_actor()
        done, refused = [], []
        comment = form_text("comment", service.TEXT_LIMIT, _l("Comment"))
        attest = bool(request.form.get("attest"))
        for pk in form_ids("rowid"):
            try:
                req = service.decide(db.session, actor, pk, transition, office_clock(), comment=comment,
                                     approve_remaining=True, attest=attest)
                db.session.commit()
                done.append(req.number)
            except SitthiError as error:
                db.session.rollback()
                refused.append(f"#{pk}: {error.translated()}")
        if done:
            flash(gettext("Decided: %(numbers)s", numbers=", ".join(done)), "success")
        for reason in refused:
            flash(reason, "danger")
        return redirect(request.referrer if _same_site(request.referrer) else self.get_redirect())

    @action("approve_selected", _l("Approve selected"), _l("Approve every selected request?"),
            "fa-check", single=False)
    def approve_selected(self, _items):
        return self._decide_selected("approve")

    @action("return_selected", _l("Return selected (with the comment above)"),
            _l("Return every selected request for correction?"), "fa-undo", single=False)
    def return_selected(self, _items):
        return self._decide_selected("return")

    @action("reject_selected", _l("Reject selected (with the comment above)"),
            _l("Reject every selected request?"), "fa-ban", single=False)
    def reject_selected(self, _items):
        return self._decide_selected("reject")

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        """The request page is the one place a request is read and decided."""
        return redirect(f"/requests/show/{int(pk)}")


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)


class ToCertifyView(InboxView):
    entity = _l("Request")
    entities = _l("To certify")
    bulk_attestation = ATTESTATION
    class_permission_name = "ToCertify"
    # A head's rows are misjudged by PostgreSQL at one: joined, every waiting row got its unit and
    # stage before the sort (1,669 for the demo head at 1M).
    relations_after_the_page = True
    base_filters = [[inboxes.TO_CERTIFY, WaitsInInbox, None]]


class ToVerifyView(InboxView):
    entity = _l("Request")
    entities = _l("To verify")
    class_permission_name = "ToVerify"
    base_filters = [[inboxes.TO_VERIFY, WaitsInInbox, None]]


class AccountRequestView(InboxView):
    entity = _l("Request")
    entities = _l("Account requests")
    class_permission_name = "AccountRequests"
    base_filters = [[inboxes.ACCOUNT_REQUESTS, WaitsInInbox, None]]


class AwaitingActivationView(InboxView):
    entity = _l("Request")
    entities = _l("Awaiting agency activation")
    class_permission_name = "AwaitingActivation"
    base_filters = [[inboxes.AWAITING_ACTIVATION, WaitsInInbox, None]]
    list_columns = ["link", "requester", "unit", "completed_at", "due"]
    method_permission_name = PERMISSION_BY_METHOD

    # Activation is recorded item by item on the request page, with the agency's reference.
    approve_selected = return_selected = reject_selected = None
