"""Grant screens: every grant (technology staff, CentralIT, auditors) and the officer's own."""
from flask import render_template
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app import labels
from app.datamodel import datamodel
from app.extensions import db
from app.models import AccessRequest, Grant, Officer
from app.tables import GRANT_EXPORT
from app.views import loads
from app.views.base import (
    ReadOnlyModelView,
    blank_if_none,
    code_column,
    code_field,
)
from app.views.exporting import ExportableList
from app.views.fields import relation_field
from app.views.grant_expiry import (
    GRANT_TIME_LABELS,
    DaysLeftRows,
    certificate_cell,
    days_left_cell,
    renew_cell,
)
from app.views.labels import LABELS
from app.views.scoping import OwnedByCurrentOfficer

GRANT_LIST = ["officer", "data_source", "function", "rank_group", "state", "valid_from", "valid_until"]
GRANT_SHOW = GRANT_LIST + [
    "duty_order", "request", "request_item", "granted_by", "agency_reference", "activated_on", "revoked_at",
    "reason", "created_at", "updated_at",
]


def justification_cell(item) -> Markup:
    """The data fields the grant's request item asked for and the officer's answers (kept with
    the grant: the Linkage Center rules)."""
    return Markup(render_template("sitthi/item_justification.html", item=item)) if item is not None else Markup("")


class GrantView(ExportableList, ReadOnlyModelView):
    """Every grant in the user's scope. Grants change only through their services: a request's
    completion, the command's Permissions screens, expiry."""

    entity = _l("Grant")
    entities = _l("Grants")
    datamodel = datamodel(Grant, loads.GRANT_LIST)
    class_permission_name = "Grant"
    label_columns = LABELS
    list_columns = GRANT_LIST
    show_columns = GRANT_SHOW
    add_columns = edit_columns = [
        "officer", "data_source", "function", "rank_group", "state", "valid_from",
        "valid_until", "request", "agency_reference", "activated_on", "reason",
    ]
    search_columns = ["data_source", "function", "rank_group", "state", "valid_from", "valid_until"]
    formatters_columns = {"state": code_column(labels.GRANT_STATE), "request_item": justification_cell}
    add_form_extra_fields = edit_form_extra_fields = {
        "officer": relation_field(LABELS["officer"], Officer, "officer", required=True),
        "request": relation_field(LABELS["request"], AccessRequest, "request"),
        "state": code_field(LABELS["state"], labels.GRANT_STATE),
    }
    search_form_extra_fields = {"state": code_field(LABELS["state"], labels.GRANT_STATE)}
    base_order = ("id", "desc")
    keyset_pages = True
    list_template = "sitthi/exportable_list.html"
    export_columns = GRANT_EXPORT
    export_officer_column = "officer_id"
    export_name = "grants"


class MyGrantView(ReadOnlyModelView):
    entity = _l("Grant")
    entities = _l("My permissions")
    # Days left and the Renew button are drawn from the whole row (app/views/grant_expiry.py).
    datamodel = DaysLeftRows(Grant, db.session, loads.GRANT_LIST)
    class_permission_name = "MyGrant"
    label_columns = GRANT_TIME_LABELS
    # The reason beside the state: "revoked" alone does not tell an officer why.
    list_columns = ["data_source", "function", "rank_group", "state", "reason", "valid_from", "valid_until",
                    "days_left", "renew", "certificate"]
    show_columns = GRANT_SHOW
    search_columns = ["data_source", "function", "state", "valid_until"]
    formatters_columns = {"state": code_column(labels.GRANT_STATE), "days_left": days_left_cell,
                          "renew": renew_cell, "reason": blank_if_none, "certificate": certificate_cell,
                          "request_item": justification_cell}
    search_form_extra_fields = {"state": code_field(LABELS["state"], labels.GRANT_STATE)}
    base_filters = [["officer_id", OwnedByCurrentOfficer, None]]
    base_order = ("valid_until", "asc")
