"""Audit screens: the trail and the mail outbox (rights reviews: app/views/reviews.py)."""
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import StringField

from app import labels
from app.datamodel import datamodel
from app.models import AuditEvent, Notification
from app.services.audit import REQUEST_PURPOSE
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
    (LABELS["purpose"], lambda e: purpose_text(e.purpose)),
]


def purpose_text(purpose: str | None) -> str:
    """A stored purpose in the reader's language."""
    if purpose and purpose.startswith(REQUEST_PURPOSE):
        return gettext("Request %(number)s", number=purpose.removeprefix(REQUEST_PURPOSE))
    return purpose or ""


def officers_text(officers) -> str:
    return ", ".join(f"{officer} ({officer.national_id_masked})" for officer in officers)


class AuditEventView(ExportableList, ReadOnlyModelView):
    entity = _l("Audit event")
    entities = _l("Audit trail")
    datamodel = datamodel(AuditEvent)
    class_permission_name = "AuditEvent"
    label_columns = LABELS
    list_columns = ["occurred_at", "action", "actor", "object_type", "object_id", "summary"]
    show_columns = [
        "occurred_at", "action", "actor", "object_type", "object_id", "unit_id", "summary",
        "officers", "purpose", "before", "after", "remote_addr",
    ]
    # "officers": who looked at this officer, by national ID or (from the officer's page) record number.
    search_columns = ["action", "object_type", "object_id", "occurred_at", "officers"]
    search_form_extra_fields = {"officers": StringField(LABELS["officers"])}
    formatters_columns = {"purpose": purpose_text, "officers": officers_text}
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
