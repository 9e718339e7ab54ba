"""Audit screens: the trail and the mail outbox (rights reviews: app/views/reviews.py).

The trail is read by inspectors: actions in words, the changed fields as a before/after table,
the object it concerns as a link, and filters by officer, actor, action and date.
"""
import json
import re
from datetime import date

from flask import url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError
from wtforms import SelectField, StringField

from app import labels
from app.datamodel import datamodel
from app.extensions import db
from app.formatting import format_date
from app.models import AuditEvent, Notification, User
from app.services.audit import REQUEST_PURPOSE
from app.views.base import ReadOnlyModelView, code_column, code_field, yes_no
from app.views.exporting import ExportableList
from app.views.fields import relation_field
from app.views.labels import LABELS

# Where an event's object is shown (the page's endpoint takes `pk`).
OBJECT_PAGES = {
    "Officer": "OfficerView.show", "AccessRequest": "RequestDeskView.show", "Grant": "GrantView.show",
    "Unit": "UnitView.show", "ReviewCampaign": "ReviewCampaignView.show",
    "DataChangeRequest": "DataChangeRequestView.show", "Holiday": "HolidayView.show",
    "DutyOrder": "DutyOrderView.show", "Delegation": "MyDeputyView.show",
}
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def object_link(event: AuditEvent) -> str | None:
    endpoint = OBJECT_PAGES.get(event.object_type or "")
    if endpoint is None or event.object_id is None:
        return None
    try:
        return url_for(endpoint, pk=event.object_id)
    except BuildError:
        return None


def _field_label(name: str) -> str:
    label = LABELS.get(name) or (LABELS.get(name[:-3]) if name.endswith("_id") else None)
    return str(label) if label is not None else name


def _value_text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, str) and _ISO_DAY.match(value):
        return format_date(date.fromisoformat(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def changed_fields(event: AuditEvent) -> list[tuple[str, str, str]]:
    """(field, before, after) of each field the event changed, in the reader's words; a new record
    shows what it was created with, a deleted one what it held."""
    before, after = event.before or {}, event.after or {}
    rows = [(_field_label(name), _value_text(before.get(name)), _value_text(after.get(name)))
            for name in sorted(set(before) | set(after), key=_field_label)
            if before.get(name) != after.get(name)]
    return rows

AUDIT_EXPORT = [
    (LABELS["occurred_at"], lambda e: e.occurred_at),
    (LABELS["action"], lambda e: labels.audit_action_label(e.action)),
    (_l("User"), lambda e: e.actor.username if e.actor else ""),
    (LABELS["object_type"], lambda e: labels.label_of(labels.AUDIT_OBJECT, e.object_type)),
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
    label_columns = {**LABELS, "actor": _l("Done by"), "unit": _l("Unit concerned"), "object_type": _l("Concerning")}
    list_columns = ["occurred_at", "action", "actor", "object_type", "summary", "remote_addr"]
    show_columns = [
        "occurred_at", "action", "actor", "on_behalf_of", "object_type", "object_id", "unit", "summary",
        "officers", "purpose", "remote_addr",
    ]
    # "officers": who looked at this officer, by national ID or (from the officer's page) record number.
    search_columns = ["action", "actor", "object_type", "object_id", "occurred_at", "officers"]
    search_form_extra_fields = {
        "officers": StringField(LABELS["officers"]),
        "actor": relation_field(_l("Done by"), User, "user"),
        "action": SelectField(LABELS["action"], choices=lambda: sorted(
            ((code, labels.audit_action_label(code)) for code in known_actions()), key=lambda c: c[1])),
        # A code, chosen and matched whole: "contains" read the ten million rows for a few.
        "object_type": SelectField(_l("Concerning"), choices=lambda: sorted(
            ((code, str(name)) for code, name in labels.AUDIT_OBJECT.items()), key=lambda c: c[1])),
    }
    formatters_columns = {
        "purpose": purpose_text, "officers": officers_text, "action": labels.audit_action_label,
        "object_type": lambda code: labels.label_of(labels.AUDIT_OBJECT, code),
    }
    # Newest recorded first: the order the trail was written in, and keyset pages however deep.
    base_order = ("id", "desc")
    keyset_pages = True
    list_template = "sitthi/exportable_list.html"
    show_template = "sitthi/audit_event_show.html"
    export_columns = AUDIT_EXPORT
    export_name = "audit-trail"

    def render_template(self, template, **kwargs):
        if template == self.show_template and "pk" in kwargs:
            event = db.session.get(AuditEvent, int(kwargs["pk"]))  # the row the page just read
            if event is not None:
                kwargs.update(changes=changed_fields(event), object_url=object_link(event))
        return super().render_template(template, **kwargs)


def known_actions() -> list[str]:
    """The actions the filter offers: every one the labels name, and each model's add, change, delete."""
    verbs = ("create", "update", "delete")
    return sorted({*labels.AUDIT_ACTION, *(f"{model}.{verb}" for model in labels.AUDIT_OBJECT for verb in verbs),
                   *(f"Grant.{verb}" for verb in ("assign", "extend", "reinstate", "revoke", "suspend", "expire",
                                                   "replace", "duty_order")),
                   *(f"AccessRequest.{verb}" for verb in ("submit", "resubmit", "cancel", "approve", "return",
                                                          "reject", "remind", "escalate", "reassign",
                                                          "return_overdue")),
                   *(f"RequestItem.{verb}" for verb in ("approve_item", "reject_item", "activate",
                                                        "refuse_activation"))})


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
