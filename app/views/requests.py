"""Request screens: every request (approvers, auditors) and the officer's own."""
from flask import abort, redirect, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l

from app import labels
from app.datamodel import datamodel
from app.extensions import db
from app.models import AccessRequest, Attachment, Decision, RequestItem, Unit
from app.views import loads
from app.views.base import (
    ReadOnlyModelView,
    code_column,
    code_field,
)
from app.views.fields import relation_field
from app.views.labels import LABELS
from app.views.request_columns import ORDER_ALIASES, RequestRows, due_cell, request_link
from app.views.scoping import OwnedByCurrentOfficer

REQUEST_FORMATTERS = {
    "kind": code_column(labels.REQUEST_KIND),
    "state": code_column(labels.REQUEST_STATE),
    "link": request_link,
    "due": due_cell,
}
REQUEST_LABELS = {**LABELS, "link": _l("Number"), "due": _l("Due"), "checks": _l("Checks today")}
ITEM_FORMATTERS = {"state": code_column(labels.ITEM_STATE)}


class RequestItemView(ReadOnlyModelView):
    entity = _l("Request item")
    entities = _l("Request items")
    datamodel = datamodel(RequestItem)
    class_permission_name = "RequestItem"
    label_columns = LABELS
    list_columns = ["request", "data_source", "function", "rank_group", "above_own_rank", "state"]
    show_columns = [
        "request", "data_source", "function", "rank_group", "above_own_rank", "state",
        "comment", "agency_reference", "activated_on",
    ]
    search_columns = ["data_source", "function", "rank_group", "state", "above_own_rank"]
    formatters_columns = ITEM_FORMATTERS
    search_form_extra_fields = {"state": code_field(LABELS["state"], labels.ITEM_STATE)}


class AttachmentView(ReadOnlyModelView):
    """Files are added on the request form; here they are listed and downloaded."""

    entity = _l("Attachment")
    entities = _l("Attachments")
    datamodel = datamodel(Attachment)
    class_permission_name = "Attachment"
    label_columns = LABELS
    list_columns = ["request", "kind", "filename", "content_type", "size_bytes", "uploaded_at"]
    show_columns = list_columns + ["sha256"]
    search_columns = ["kind", "filename", "content_type", "uploaded_at"]
    formatters_columns = {"kind": code_column(labels.ATTACHMENT_KIND)}

    @expose("/file/<int:pk>")
    @has_access
    def file(self, pk: int):
        attachment = db.session.get(Attachment, pk)
        if attachment is None:
            abort(404)
        return redirect(url_for("RequestDeskView.file", attachment_id=attachment.id))


class DecisionView(ReadOnlyModelView):
    entity = _l("Decision")
    entities = _l("Decisions")
    datamodel = datamodel(Decision)
    class_permission_name = "Decision"
    label_columns = LABELS
    list_columns = ["request", "stage", "item", "transition", "from_state", "to_state", "actor", "decided_at"]
    show_columns = list_columns + ["comment"]
    search_columns = ["transition", "to_state", "decided_at"]
    formatters_columns = {
        "from_state": code_column(labels.REQUEST_STATE),
        "to_state": code_column(labels.REQUEST_STATE),
    }
    base_order = ("decided_at", "desc")


REQUEST_LIST = ["link", "kind", "requester", "unit", "state", "current_stage", "submitted_at", "due"]
REQUEST_SHOW = [
    "number", "kind", "state", "requester", "unit", "chain", "current_stage",
    "contact_email", "contact_mobile", "duty_performed", "duty_mismatch", "pledge_accepted",
    "certifying_head", "target_unit", "assignment_until", "submitted_at", "due_on",
    "completed_at", "created_at", "updated_at",
]


class AccessRequestView(ReadOnlyModelView):
    entity = _l("Request")
    entities = _l("All requests")
    datamodel = RequestRows(AccessRequest, db.session, loads.REQUEST_LIST)
    order_aliases = ORDER_ALIASES
    class_permission_name = "AccessRequest"
    label_columns = REQUEST_LABELS
    list_columns = REQUEST_LIST
    show_columns = REQUEST_SHOW
    # Requests are made on the request desk and change only through the approval workflow.
    search_columns = ["number", "state", "kind", "unit", "submitted_at", "due_on", "completed_at"]
    formatters_columns = REQUEST_FORMATTERS
    search_form_extra_fields = {
        "state": code_field(LABELS["state"], labels.REQUEST_STATE),
        "kind": code_field(LABELS["kind"], labels.REQUEST_KIND),
        "unit": relation_field(LABELS["unit"], Unit, "unit"),
    }
    base_order = ("id", "desc")
    keyset_pages = True
    related_views = [RequestItemView, DecisionView, AttachmentView]
    show_template = "sitthi/request_generic_show.html"


class MyRequestView(ReadOnlyModelView):
    entity = _l("Request")
    entities = _l("My requests")
    datamodel = RequestRows(AccessRequest, db.session, loads.REQUEST_LIST)
    order_aliases = ORDER_ALIASES
    class_permission_name = "MyRequest"
    label_columns = REQUEST_LABELS
    list_columns = ["link", "kind", "state", "current_stage", "submitted_at", "due"]
    show_columns = REQUEST_SHOW
    search_columns = ["number", "state", "kind", "submitted_at"]
    formatters_columns = REQUEST_FORMATTERS
    search_form_extra_fields = {
        "state": code_field(LABELS["state"], labels.REQUEST_STATE),
        "kind": code_field(LABELS["kind"], labels.REQUEST_KIND),
    }
    base_filters = [["requester_id", OwnedByCurrentOfficer, None]]
    base_order = ("id", "desc")

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        """An officer reads, edits and follows a request on the request page."""
        return redirect(f"/requests/show/{int(pk)}")
