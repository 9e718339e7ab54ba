"""The audit trail through the API, newest first (Auditor, Admin). Append-only: nothing changes it."""
from app.api.scoped import ScopedApi, datamodel, unit_columns
from app.models import AuditEvent


class AuditEventsApi(ScopedApi):
    """The audit trail in the reader's scope; who read an officer's data is searched by `officers`."""

    resource_name = "audit-events"
    class_permission_name = "AuditEvent"
    openapi_spec_tag = "Audit events"
    datamodel = datamodel(AuditEvent)
    list_columns = [
        "id", "occurred_at", "action", "actor.id", "actor.username", "object_type", "object_id",
        *unit_columns("unit"), "summary",
    ]
    show_columns = [
        *list_columns, "on_behalf_of.id", "on_behalf_of.username", "before", "after", "remote_addr", "purpose",
        "officers.id",
    ]
    # "officers": who read this officer's data (`opr: onid` a national ID, `oid` a record number).
    search_columns = ["action", "actor", "object_type", "object_id", "unit", "occurred_at", "officers"]
    order_columns = ["id", "occurred_at", "action"]
    base_order = ("occurred_at", "desc")
