"""Data-change requests on screen: "My personnel record" for every officer, and the personnel staff's list.

An officer who sees wrong personnel data reports it from their record page (the request form's
read-only personnel panel links there): what is wrong, the correct value and why. The personnel
staff of their command find it in their list (and on the home page), correct the record on the
officer screen, then mark the request done, or refuse it with a reason. Every rule is in
app.services.data_changes; these views read the form, call it and commit.
"""
from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app import labels
from app.datamodel import datamodel
from app.domain.inputs import TEXT_LIMIT, as_id
from app.errors import SitthiError, StaleRecord
from app.extensions import db
from app.formatting import office_clock
from app.input_guard import form_text, form_version
from app.labels import label_of
from app.models import DataChangeRequest, Officer
from app.security.scope import is_visible
from app.services import data_changes as service
from app.views.base import PERMISSION_BY_METHOD, ReadOnlyModelView, code_column, code_field
from app.views.labels import LABELS
from app.views.scoping import current_actor

DATA_CHANGE_LABELS = {
    **LABELS,
    "field": _l("What is wrong"),
    "requested_value": _l("Correct value"),
    "reason": _l("Why"),
    "handled_at": _l("Handled"),
    "resolution": _l("Answer of Personnel"),
}


class ReportForm(FlaskForm):
    field = SelectField(_l("What is wrong"), choices=labels.choices(labels.DATA_CHANGE_FIELD),
                        validate_choice=False)
    requested_value = StringField(_l("The correct value"), [DataRequired(), Length(max=TEXT_LIMIT)])
    reason = TextAreaField(_l("Why it is wrong (for example the order that changed it)"),
                           [DataRequired(), Length(max=TEXT_LIMIT)])


class MyRecordView(BaseView):
    """The officer's own personnel record, their data-change requests, and the form to report an error."""

    route_base = "/myrecord"
    default_view = "record"
    class_permission_name = "MyRecord"
    method_permission_name = {"record": "read", "report": "write"}

    @expose("/")
    @has_access
    def record(self):
        form = ReportForm()
        if request.args.get("field") in labels.DATA_CHANGE_FIELD:
            form.field.data = request.args["field"]
        return self._render(form, None, 200)

    @expose("/report", methods=["POST"])
    @has_access
    def report(self):
        form = ReportForm()
        error = None
        if form.validate_on_submit():
            try:
                service.ask(db.session, current_actor(), form.field.data, form.requested_value.data,
                            form.reason.data, office_clock())
                db.session.commit()
            except SitthiError as refused:
                db.session.rollback()
                error = refused.translated()
            else:
                flash(gettext("Your request has gone to the personnel staff of your command. You will be told "
                              "by e-mail when they answer."), "success")
                return redirect(url_for(".record"))
        return self._render(form, error, 400)

    def _render(self, form: ReportForm, error: str | None, status: int):
        actor = current_actor()
        officer = db.session.get(Officer, actor.officer_id) if actor.officer_id else None
        asked = db.session.scalars(select(DataChangeRequest).where(DataChangeRequest.officer_id == actor.officer_id)
                                   .order_by(DataChangeRequest.id.desc()).limit(50)).all() if officer else []
        return self.render_template(
            "sitthi/my_record.html", officer=officer, form=form, error=error, asked=asked,
            officer_status=label_of(labels.OFFICER_STATUS, officer.status) if officer else "",
            field_label=lambda code: label_of(labels.DATA_CHANGE_FIELD, code),
            state_label=lambda code: label_of(labels.DATA_CHANGE_STATE, code),
        ), status


class DataChangeRequestView(ReadOnlyModelView):
    """The requests of the officers of one's command (row scope); each answered on its page."""

    entity = _l("Data-change request")
    entities = _l("Data-change requests")
    datamodel = datamodel(DataChangeRequest)
    class_permission_name = "DataChangeRequest"
    # Write is for answering only: requests are made by officers (or a review) through the service.
    base_permissions = ["can_read", "can_write"]
    exclude_route_methods = {"download", "action", "action_post", "add", "edit", "delete"}
    method_permission_name = {**PERMISSION_BY_METHOD, "resolve": "write"}
    label_columns = DATA_CHANGE_LABELS
    list_columns = ["officer", "field", "requested_value", "state", "created_at", "handled_at"]
    search_columns = ["field", "state", "created_at"]
    formatters_columns = {"field": code_column(labels.DATA_CHANGE_FIELD),
                          "state": code_column(labels.DATA_CHANGE_STATE)}
    search_form_extra_fields = {"field": code_field(DATA_CHANGE_LABELS["field"], labels.DATA_CHANGE_FIELD),
                                "state": code_field(LABELS["state"], labels.DATA_CHANGE_STATE)}
    base_order = ("id", "desc")

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        return self._page(pk, None, 200)

    @expose("/resolve/<pk>", methods=["POST"])
    @has_access
    def resolve(self, pk):
        version = form_version()
        note = form_text("resolution", TEXT_LIMIT, _l("Answer of Personnel"))
        try:
            change = service.resolve(db.session, current_actor(), pk, request.form.get("outcome", ""), note,
                                     office_clock(), expected_version=version)
            db.session.commit()
        except SitthiError as error:
            db.session.rollback()
            return self._page(pk, error.translated(), 409 if isinstance(error, StaleRecord) else 400)
        flash(gettext("Answered: %(state)s. The officer is told by e-mail.",
                      state=label_of(labels.DATA_CHANGE_STATE, change.state)), "success")
        return redirect(url_for(".list"))

    def _page(self, pk, error: str | None, status: int):
        actor = current_actor()
        pk = as_id(pk)
        if pk is None or not is_visible(db.session, actor, DataChangeRequest, pk):
            abort(404)
        change = db.session.get(DataChangeRequest, pk)
        sm = self.appbuilder.sm
        return self.render_template(
            "sitthi/data_change_show.html", change=change, officer=change.officer, error=error,
            may_handle=change.state == "open" and service.may_handle(actor, change),
            may_edit_officer=sm.has_access("can_write", "Officer"),
            may_read_officer=sm.has_access("can_read", "Officer"),
            field=label_of(labels.DATA_CHANGE_FIELD, change.field),
            state=label_of(labels.DATA_CHANGE_STATE, change.state),
            officer_status=label_of(labels.OFFICER_STATUS, change.officer.status),
            typed=request.form.get("resolution", "") if request.method == "POST" else "",
            comment_limit=TEXT_LIMIT,
        ), status
