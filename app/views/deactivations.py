"""Deactivation notices: agencies asked to close the external account of a right that ended.

The Central IT Center works through the pending notices first and records each agency's
confirmation (its reference and the date) through app.services.deactivation, which decides who
may confirm; auditors read the list.
"""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional

from app import labels
from app.datamodel import CappedCountInterface
from app.date_input import EnteredDateField
from app.errors import SitthiError
from app.extensions import db
from app.formatting import local_today, office_clock
from app.input_guard import SaneYear
from app.labels import NOTICE_STATE
from app.models import DeactivationNotice
from app.read_trail import note_read
from app.security.scope import is_visible
from app.services import deactivation as service
from app.views.base import (
    PERMISSION_BY_METHOD,
    ReadOnlyModelView,
    code_column,
    code_field,
)
from app.views.grant_admin import SERVICE_ONLY
from app.views.labels import LABELS
from app.views.scoping import current_actor


class NoticeRows(CappedCountInterface):
    """Notice lists whose "confirm" cell is drawn from the whole row."""

    def _get_attr_value(self, item, col):
        if col == "confirm":
            return item
        return super()._get_attr_value(item, col)


def confirm_cell(notice: DeactivationNotice) -> Markup:
    """A button to record the agency's confirmation, for a pending notice and a user who may."""
    if notice.state != "pending" or not g.get("_sitthi_may_confirm"):
        return Markup("")
    return Markup('<a class="btn btn-xs btn-primary" href="{url}">{text}</a>').format(
        url=url_for("DeactivationNoticeView.confirm", pk=notice.id), text=gettext("Record confirmation"))


class ConfirmForm(FlaskForm):
    agency_reference = StringField(_l("Agency's reference"), [DataRequired(), Length(max=100)])
    deactivated_on = EnteredDateField(_l("Deactivated on (empty: today)"), [Optional(), SaneYear()])


class DeactivationNoticeView(ReadOnlyModelView):
    entity = _l("Deactivation notice")
    entities = _l("Deactivation notices")
    datamodel = NoticeRows(DeactivationNotice, db.session)
    class_permission_name = "DeactivationNotice"
    # Write is for recording a confirmation only: notices are opened by the services.
    base_permissions = ["can_read", "can_write"]
    exclude_route_methods = {"download", "action", "action_post"}
    method_permission_name = {**PERMISSION_BY_METHOD, **SERVICE_ONLY, "confirm": "write"}
    label_columns = {**LABELS, "grant": _l("Permission"), "confirm": _l("Confirmation"),
                     "agency_reference": _l("Agency's reference"),
                     "deactivated_on": _l("Deactivated on"), "confirmed_at": _l("Recorded at")}
    list_columns = ["grant", "agency", "state", "reason", "created_at", "agency_reference",
                    "deactivated_on", "confirm"]
    show_columns = ["grant", "agency", "state", "reason", "created_at", "agency_reference",
                    "deactivated_on", "confirmed_at"]
    order_columns = ["state", "created_at", "deactivated_on"]
    search_columns = ["agency", "state", "created_at", "agency_reference"]
    formatters_columns = {"state": code_column(NOTICE_STATE), "confirm": confirm_cell}
    search_form_extra_fields = {"state": code_field(LABELS["state"], NOTICE_STATE)}
    # "pending" sorts after "confirmed": descending puts the work still to do first.
    base_order = ("state", "desc")

    def render_template(self, template, **kwargs):
        g._sitthi_may_confirm = self.appbuilder.sm.has_access("can_write", self.class_permission_name)
        return super().render_template(template, **kwargs)

    @expose("/confirm/<int:pk>", methods=["GET", "POST"])
    @has_access
    def confirm(self, pk: int):
        if not is_visible(db.session, current_actor(), DeactivationNotice, pk):
            abort(404)
        notice = db.session.get(DeactivationNotice, pk)
        form = ConfirmForm()
        error = None
        if request.method == "POST" and form.validate_on_submit():
            try:
                service.confirm(db.session, current_actor(), pk, form.agency_reference.data,
                                form.deactivated_on.data, local_today(), office_clock().now)
                db.session.commit()
            except SitthiError as refused:
                db.session.rollback()
                error = refused.translated()
            else:
                flash(gettext("The agency's deactivation is recorded."), "success")
                return redirect(url_for(".list"))
        if request.method == "GET":  # the notice shows the officer's whole national ID
            note_read(current_actor(), "read", officer_ids=[notice.grant.officer_id], obj=notice,
                      unit_id=notice.grant.officer.home_unit_id)
        status = 400 if request.method == "POST" else 200
        return self.render_template("sitthi/deactivation_confirm.html", notice=notice, form=form,
                                    error=error, state=labels.label_of(NOTICE_STATE, notice.state)), status
