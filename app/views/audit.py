"""Audit screens: the trail, rights-review campaigns and their decisions, the mail outbox."""
from flask_babel import lazy_gettext as _l

from app import labels
from app.datamodel import datamodel
from app.models import (
    AuditEvent,
    Grant,
    Notification,
    Officer,
    ReviewCampaign,
    ReviewDecision,
    Unit,
)
from app.views.base import (
    ReadOnlyModelView,
    SitthiModelView,
    code_column,
    code_field,
)
from app.views.fields import relation_field
from app.views.labels import LABELS


class AuditEventView(ReadOnlyModelView):
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
    base_order = ("occurred_at", "desc")


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


class ReviewDecisionView(SitthiModelView):
    entity = _l("Review decision")
    entities = _l("Review decisions")
    datamodel = datamodel(ReviewDecision)
    class_permission_name = "ReviewDecision"
    label_columns = LABELS
    list_columns = ["campaign", "officer", "grant", "outcome", "decided_at"]
    show_columns = list_columns + ["comment"]
    add_columns = ["campaign", "grant", "officer", "outcome", "comment"]
    edit_columns = ["outcome", "comment"]
    search_columns = ["campaign", "outcome", "decided_at"]
    formatters_columns = {"outcome": code_column(labels.REVIEW_OUTCOME)}
    add_form_extra_fields = {
        "grant": relation_field(LABELS["grant"], Grant, "grant", required=True),
        "officer": relation_field(LABELS["officer"], Officer, "officer", required=True),
        "outcome": code_field(LABELS["outcome"], labels.REVIEW_OUTCOME),
    }
    edit_form_extra_fields = {"outcome": code_field(LABELS["outcome"], labels.REVIEW_OUTCOME)}
    search_form_extra_fields = {"outcome": code_field(LABELS["outcome"], labels.REVIEW_OUTCOME)}


class ReviewCampaignView(SitthiModelView):
    entity = _l("Rights review")
    entities = _l("Rights reviews")
    datamodel = datamodel(ReviewCampaign)
    class_permission_name = "ReviewCampaign"
    label_columns = LABELS
    list_columns = ["name", "unit", "starts_on", "due_on", "state"]
    show_columns = list_columns + ["created_at", "closed_at"]
    add_columns = edit_columns = ["name", "unit", "starts_on", "due_on", "state"]
    search_columns = ["name", "state", "starts_on", "due_on"]
    formatters_columns = {"state": code_column(labels.CAMPAIGN_STATE)}
    add_form_extra_fields = edit_form_extra_fields = {
        "unit": relation_field(LABELS["unit"], Unit, "unit", required=True),
        "state": code_field(LABELS["state"], labels.CAMPAIGN_STATE),
    }
    search_form_extra_fields = {"state": code_field(LABELS["state"], labels.CAMPAIGN_STATE)}
    related_views = [ReviewDecisionView]
