"""Audit screens: the trail and the mail outbox (rights reviews: app/views/reviews.py)."""
from flask_babel import lazy_gettext as _l

from app import labels
from app.datamodel import datamodel
from app.models import AuditEvent, Notification
from app.views.base import ReadOnlyModelView, code_column, code_field
from app.views.exporting import ExportableList
from app.views.labels import LABELS

AUDIT_EXPORT = [
    (LABELS["occurred_at"], lambda e: e.occurred_at),
    (LABELS["action"], lambda e: e.action),
    (_l("User"), lambda e: e.actor.username if e.actor else ""),
    (LABELS["object_type"], lambda e: e.object_type),
    (LABELS["object_id"], lambda e: e.object_id),
    (LABELS["summary"], lambda e: e.summary),
    (LABELS["remote_addr"], lambda e: e.remote_addr),
]


class AuditEventView(ExportableList, ReadOnlyModelView):
    entity = _l("Audit event")
    entities = _l("Audit trail")
    datamodel = datamodel(AuditEvent)
    class_permission_name = "AuditEvent"
    label_columns = LABELS
    list_columns = ["occurred_at", "action", "actor", "object_type", "object_id", "summary"]
    show_columns = [
        "occurred_at", "action", "actor", "object_type", "object_id", "unit_id", "summary",
        "before", "after", "remote_addr",
    ]
    search_columns = ["action", "object_type", "object_id", "occurred_at"]
    # Newest recorded first: the order the trail was written in, and keyset pages however deep.
    base_order = ("id", "desc")
    keyset_pages = True
    list_template = "sitthi/exportable_list.html"
    export_columns = AUDIT_EXPORT
    export_name = "audit-trail"


class NotificationView(ReadOnlyModelView):
    entity = _l("Mail")
    entities = _l("Mail outbox")
    datamodel = datamodel(Notification)
    class_permission_name = "Notification"
    label_columns = LABELS
    list_columns = ["created_at", "recipient_email", "subject", "state", "attempts", "sent_at"]
    show_columns = list_columns + ["body", "next_attempt_at", "last_error"]
    search_columns = ["recipient_email", "subject", "state", "created_at"]
    formatters_columns = {"state": code_column(labels.NOTIFICATION_STATE)}
    search_form_extra_fields = {"state": code_field(LABELS["state"], labels.NOTIFICATION_STATE)}
    base_order = ("id", "desc")
