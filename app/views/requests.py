"""Request screens: every request (approvers, auditors) and the officer's own."""
from flask import Response, abort, current_app, g, redirect, request
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired

from app import labels
from app.extensions import db
from app.models import AccessRequest, Attachment, Decision, Officer, RequestItem, Unit
from app.services.attachments import check_upload
from app.views.base import (
    ReadOnlyModelView,
    SitthiModelView,
    code_column,
    code_field,
    datamodel,
)
from app.views.fields import relation_field
from app.views.labels import LABELS
from app.views.scoping import OwnedByCurrentOfficer
from app.views.validators import AcceptedDocument

REQUEST_FORMATTERS = {
    "kind": code_column(labels.REQUEST_KIND),
    "state": code_column(labels.REQUEST_STATE),
}
ITEM_FORMATTERS = {"state": code_column(labels.ITEM_STATE)}


class RequestItemView(SitthiModelView):
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
    add_columns = ["request", "data_source", "function", "rank_group", "above_own_rank"]
    edit_columns = add_columns + ["comment"]
    search_columns = ["data_source", "function", "rank_group", "state", "above_own_rank"]
    formatters_columns = ITEM_FORMATTERS
    add_form_extra_fields = edit_form_extra_fields = {
        "request": relation_field(LABELS["request"], AccessRequest, "request", required=True),
    }
    search_form_extra_fields = {"state": code_field(LABELS["state"], labels.ITEM_STATE)}


class AttachmentView(SitthiModelView):
    entity = _l("Attachment")
    entities = _l("Attachments")
    datamodel = datamodel(Attachment)
    class_permission_name = "Attachment"
    label_columns = {**LABELS, "upload": _l("File (PDF or JPEG)")}
    list_columns = ["request", "kind", "filename", "content_type", "size_bytes", "uploaded_at"]
    show_columns = list_columns + ["sha256"]
    add_columns = ["request", "kind", "upload"]
    edit_columns = ["kind"]
    search_columns = ["kind", "filename", "content_type", "uploaded_at"]
    formatters_columns = {"kind": code_column(labels.ATTACHMENT_KIND)}
    add_form_extra_fields = {
        "request": relation_field(LABELS["request"], AccessRequest, "request", required=True),
        "kind": code_field(LABELS["kind"], labels.ATTACHMENT_KIND),
        "upload": FileField(_l("File (PDF or JPEG)"), validators=[FileRequired(), AcceptedDocument()]),
    }
    edit_form_extra_fields = {"kind": code_field(LABELS["kind"], labels.ATTACHMENT_KIND)}

    def pre_add(self, item) -> None:
        upload = request.files.get("upload")
        checked = check_upload(
            upload.filename if upload else "", upload.read() if upload else b"",
            current_app.config["ATTACHMENT_MAX_BYTES"],
        )
        item.filename = checked.filename
        item.content_type = checked.content_type
        item.size_bytes = checked.size_bytes
        item.sha256 = checked.sha256
        item.content = checked.content
        item.uploaded_by_id = g.user.id
        super().pre_add(item)

    @expose("/file/<int:pk>")
    @has_access
    def file(self, pk: int):
        attachment = db.session.get(Attachment, pk)
        if attachment is None:
            abort(404)
        return Response(
            attachment.content,
            mimetype=attachment.content_type,
            headers={"Content-Disposition": "attachment; filename*=UTF-8''" + _quoted(attachment.filename)},
        )


def _quoted(filename: str) -> str:
    from urllib.parse import quote

    return quote(filename, safe="")


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


REQUEST_LIST = ["number", "kind", "requester", "unit", "state", "current_stage", "submitted_at", "due_on"]
REQUEST_SHOW = [
    "number", "kind", "state", "requester", "unit", "chain", "current_stage",
    "contact_email", "contact_mobile", "duty_performed", "duty_mismatch", "pledge_accepted",
    "certifying_head", "target_unit", "assignment_until", "submitted_at", "due_on",
    "completed_at", "created_at", "updated_at",
]


class AccessRequestView(SitthiModelView):
    entity = _l("Request")
    entities = _l("All requests")
    datamodel = datamodel(AccessRequest)
    class_permission_name = "AccessRequest"
    label_columns = LABELS
    list_columns = REQUEST_LIST
    show_columns = REQUEST_SHOW
    # The state is never typed in: only the approval workflow changes it.
    add_columns = edit_columns = [
        "kind", "requester", "unit", "chain", "contact_email", "contact_mobile",
        "duty_performed", "duty_mismatch", "pledge_accepted", "certifying_head", "target_unit",
        "assignment_until",
    ]
    search_columns = ["number", "state", "kind", "unit", "submitted_at", "due_on", "completed_at"]
    formatters_columns = REQUEST_FORMATTERS
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": code_field(LABELS["kind"], labels.REQUEST_KIND),
        "requester": relation_field(LABELS["requester"], Officer, "officer", required=True),
        "certifying_head": relation_field(LABELS["certifying_head"], Officer, "officer"),
        "unit": relation_field(LABELS["unit"], Unit, "unit", required=True),
        "target_unit": relation_field(LABELS["target_unit"], Unit, "unit"),
    }
    search_form_extra_fields = {
        "state": code_field(LABELS["state"], labels.REQUEST_STATE),
        "kind": code_field(LABELS["kind"], labels.REQUEST_KIND),
        "unit": relation_field(LABELS["unit"], Unit, "unit"),
    }
    base_order = ("id", "desc")
    related_views = [RequestItemView, DecisionView, AttachmentView]


class MyRequestView(ReadOnlyModelView):
    entity = _l("Request")
    entities = _l("My requests")
    datamodel = datamodel(AccessRequest)
    class_permission_name = "MyRequest"
    label_columns = LABELS
    list_columns = ["number", "kind", "state", "current_stage", "submitted_at", "due_on"]
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
