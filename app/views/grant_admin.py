"""The command technology staff's permission screens: their command's grants, and assigning a function.

Views only read the form, call app.services.grants per grant and commit; who may do what to
which grant is decided in that service. Bulk actions pass the selected ids only: FAB loads action
rows without the list's row scope, the service loads each one again through it.
"""

from dateutil.relativedelta import relativedelta
from flask import flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.actions import action
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import SelectField
from wtforms.validators import DataRequired, Optional

from app import labels
from app.datamodel import CappedCountInterface, datamodel
from app.date_input import EnteredDateField, form_date
from app.domain.inputs import as_id
from app.errors import N_, SitthiError, ValidationFailed
from app.extensions import db
from app.formatting import format_date, local_today, localized, office_clock, position_at
from app.input_guard import SaneYear
from app.models import Grant, Officer, Unit
from app.models.lifecycle import DutyOrder
from app.security.rate_limits import search_endpoint
from app.services import grants as service
from app.tables import GRANT_EXPORT, officer_unit
from app.views import loads
from app.views.base import (
    PERMISSION_BY_METHOD,
    ReadOnlyModelView,
    SitthiModelView,
    code_column,
    code_field,
)
from app.views.exporting import ExportableList
from app.views.fields import AjaxRelationField, relation_field
from app.views.labels import LABELS
from app.views.permissions import justification_cell
from app.views.scoping import current_actor

# FAB's generic add/edit/delete would write a grant around the service's rules: they map to a
# permission that is never created, so they are closed to every role, Admin included.
SERVICE_ONLY = {"add": "service_only", "edit": "service_only", "delete": "service_only"}
# A grant nearer than this to its end is flagged in the list.
EXPIRING_DAYS = 30
LIVE_STATES = ("pending_activation", "active", "suspended")


class GrantRows(CappedCountInterface):
    """Grant lists whose "target", "unit" and "validity" cells are drawn from the whole row."""

    ROW_COLUMNS = ("target", "unit", "validity")

    def _get_attr_value(self, item, col):
        if col in self.ROW_COLUMNS:
            return item
        return super()._get_attr_value(item, col)


def target_cell(grant: Grant) -> Markup:
    """The function or data source, with what kind of right it is."""
    if grant.function is not None:
        kind = gettext("CRIMES function")
        name = localized(grant.function)
    else:
        kind = localized(grant.data_source.agency) if grant.data_source else ""
        name = localized(grant.data_source)
    return Markup('{name} <small class="text-muted">{kind}</small>').format(name=name, kind=kind)


unit_cell = officer_unit


def validity_cell(grant: Grant) -> Markup:
    """The end of validity and, while the grant lives, the days left (flagged near the end)."""
    if grant.valid_until is None:
        return Markup("")
    text = escape(format_date(grant.valid_until))
    if grant.state not in LIVE_STATES:
        return Markup("{d}").format(d=text)
    days = (grant.valid_until - local_today()).days
    left = gettext("ended") if days < 0 else ngettext("%(num)s day left", "%(num)s days left", days)
    css = "sitthi-expiring" if days <= EXPIRING_DAYS else "text-muted"
    return Markup('{d} <small class="{css}">({left})</small>').format(d=text, css=css, left=left)



def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)


# What a permission's own page offers in each state (the same services as the list's actions).
GRANT_ACTIONS = {
    "active": ("suspend_selected", "revoke_selected", "extend_selected"),
    "suspended": ("reinstate_selected", "revoke_selected"),
}


class CommandGrantView(ExportableList, ReadOnlyModelView):
    """Every grant of the command's officers (the row scope limits the rows), with bulk changes."""

    entity = _l("Permission")
    entities = _l("Command permissions")
    datamodel = GrantRows(Grant, db.session, loads.COMMAND_GRANT_LIST)
    class_permission_name = "CommandGrant"
    # Write is for the bulk changes only: grants are never added, edited or deleted here.
    base_permissions = ["can_read", "can_write"]
    # Changes are posted from the list (action_post); FAB's one-row GET action is not needed.
    exclude_route_methods = {"download", "action"}
    method_permission_name = {
        **PERMISSION_BY_METHOD, **SERVICE_ONLY,
        "suspend_selected": "write", "revoke_selected": "write", "extend_selected": "write",
        "reinstate_selected": "write", "duty_order_selected": "write",
    }
    label_columns = {**LABELS, "target": _l("Function or data source"), "unit": _l("Unit"),
                     "validity": _l("Valid until")}
    list_columns = ["officer", "unit", "target", "state", "validity", "reason"]
    show_columns = [
        "officer", "function", "data_source", "rank_group", "state", "valid_from", "valid_until",
        "command", "duty_order", "request", "request_item", "granted_by", "agency_reference", "activated_on",
        "revoked_at", "reason", "created_at", "updated_at",
    ]
    order_columns = ["state", "validity"]
    order_aliases = {"validity": "valid_until"}
    search_columns = ["function", "data_source", "state", "valid_until"]
    formatters_columns = {
        "state": code_column(labels.GRANT_STATE), "target": target_cell, "unit": unit_cell,
        "validity": validity_cell, "request_item": justification_cell,
    }
    search_form_extra_fields = {"state": code_field(LABELS["state"], labels.GRANT_STATE)}
    base_order = ("id", "desc")
    keyset_pages = True
    list_template = "sitthi/grant_admin_list.html"
    export_columns = GRANT_EXPORT
    export_officer_column = "officer_id"
    export_name = "command-permissions"

    show_template = "sitthi/grant_admin_show.html"

    def _change_selected(self, command, done_message):
        """Run `command(actor, grant_id)` for each selected id, one transaction each.

        `done_message(count)` is the translated success line.
        """
        actor = current_actor()
        done, refused = 0, []
        for raw in request.form.getlist("rowid"):
            pk = as_id(raw)
            if pk is None:  # the input guard refused it already
                continue
            try:
                command(actor, pk)
                db.session.commit()
                done += 1
            except SitthiError as error:
                db.session.rollback()
                refused.append(f"#{pk}: {error.translated()}")
        if done:
            flash(done_message(done), "success")
        for reason in refused:
            flash(reason, "danger")
        return redirect(request.referrer if _same_site(request.referrer) else self.get_redirect())

    @action("suspend_selected", _l("Suspend selected (with the reason above)"),
            _l("Suspend every selected permission?"), "fa-pause", single=False)
    def suspend_selected(self, _items):
        reason = request.form.get("reason", "")
        return self._change_selected(
            lambda actor, pk: service.suspend(db.session, actor, pk, reason, office_clock()),
            lambda count: gettext("Suspended: %(num)s", num=count))

    @action("revoke_selected", _l("Revoke selected (with the reason above)"),
            _l("Revoke every selected permission? This cannot be undone."), "fa-ban", single=False)
    def revoke_selected(self, _items):
        reason = request.form.get("reason", "")
        return self._change_selected(
            lambda actor, pk: service.revoke(db.session, actor, pk, reason, office_clock()),
            lambda count: gettext("Revoked: %(num)s", num=count))

    @action("extend_selected", _l("Extend selected (to the date above)"),
            _l("Extend every selected permission to the date above?"), "fa-calendar-plus-o", single=False)
    def extend_selected(self, _items):
        try:
            until = form_date("valid_until")
        except ValidationFailed as refused:
            flash(refused.translated(), "danger")
            until = None
        else:
            if until is None:
                flash(gettext("Enter the new end of validity above the list."), "danger")
        if until is None:
            return redirect(request.referrer if _same_site(request.referrer) else self.get_redirect())
        return self._change_selected(
            lambda actor, pk: service.extend(db.session, actor, pk, until, office_clock()),
            lambda count: gettext("Extended: %(num)s", num=count))

    @action("reinstate_selected", _l("Reinstate selected"),
            _l("Make every selected suspended permission active again?"), "fa-play", single=False)
    def reinstate_selected(self, _items):
        return self._change_selected(
            lambda actor, pk: service.reinstate(db.session, actor, pk, office_clock()),
            lambda count: gettext("Reinstated: %(num)s", num=count))

    @action("duty_order_selected", _l("Record the duty order above on the selected functions"),
            _l("Record the chosen duty order on every selected function?"), "fa-file-text-o", single=False)
    def duty_order_selected(self, _items):
        order_id = request.form.get("duty_order", "")
        return self._change_selected(
            lambda actor, pk: service.attach_duty_order(db.session, actor, pk, order_id, office_clock()),
            lambda count: gettext("Duty order recorded: %(num)s", num=count))

    def render_template(self, template, **kwargs):
        # The list offers the way to assign a function to whoever may do it.
        kwargs.setdefault("can_assign", self.appbuilder.sm.has_access("can_read", "AssignFunction"))
        kwargs.setdefault("can_change", self.appbuilder.sm.has_access("can_write", self.class_permission_name))
        kwargs.setdefault("duty_orders", duty_order_choices(current_actor()) if kwargs["can_change"] else [])
        kwargs.setdefault("max_until", local_today() + relativedelta(months=service.MAX_VALIDITY_MONTHS))
        if template == self.show_template and "pk" in kwargs:
            # A permission's page offers what may be done to it in its state, to who may change it.
            grant = db.session.get(Grant, int(kwargs["pk"]))  # the row the page just read
            kwargs["grant_actions"] = GRANT_ACTIONS.get(grant.state, ()) if grant and kwargs["can_change"] else ()
        return super().render_template(template, **kwargs)


def duty_order_choices(actor) -> list[tuple[int, str]]:
    return [(order.id, f"{order.number} ({format_date(order.issued_on)}) {localized(order.unit)}")
            for order in service.duty_orders_of_command(db.session, actor)]


class AssignForm(FlaskForm):
    officer = AjaxRelationField(_l("Officer"), [DataRequired()], model=Officer,
                                endpoint=("AssignFunctionView.officers",))
    function = SelectField(_l("Function"), [DataRequired()], coerce=as_id, choices=[],
                           validate_choice=False)
    valid_until = EnteredDateField(_l("Valid until (empty: the function's default validity)"), [Optional(), SaneYear()])
    duty_order = SelectField(_l("Duty order"), [Optional()], coerce=as_id, choices=[], validate_choice=False)


class AssignFunctionView(BaseView):
    """Assign one of the command's functions to one of its officers."""

    route_base = "/assignfunction"
    default_view = "form"
    class_permission_name = "AssignFunction"
    method_permission_name = {"form": "read", "officers": "read", "functions": "read", "assign": "write"}

    @expose("/")
    @has_access
    def form(self):
        return self._render(AssignForm(), status=200)

    @expose("/assign", methods=["POST"])
    @has_access
    def assign(self):
        form = AssignForm()
        actor = current_actor()
        self._choices(form, actor)
        if form.validate_on_submit():
            try:
                grant = service.assign_function(
                    db.session, actor, form.officer.data.id, form.function.data, office_clock(),
                    valid_until=form.valid_until.data, duty_order_id=form.duty_order.data)
                db.session.commit()
            except SitthiError as error:
                db.session.rollback()
                g.form_error = error.translated()
            else:
                flash(gettext("%(function)s assigned to %(officer)s until %(until)s.",
                              function=localized(grant.function), officer=str(grant.officer),
                              until=format_date(grant.valid_until)), "success")
                return redirect(url_for("CommandGrantView.list"))
        # Never show back an officer of another command that was typed into the form.
        if form.officer.data is not None and not service.in_command(db.session, actor, form.officer.data.id):
            form.officer.data = None
        return self._render(form, status=400)

    @expose("/officers")
    @has_access
    @search_endpoint
    def officers(self):
        """The officer search of the form: active officers of the user's own command, 20 at most."""
        rows = service.assignable_officers(db.session, current_actor(), request.args.get("q", ""))
        return {"results": [
            {"id": o.id, "text": f"{o} – {position_at(o.position_title, o.acting_unit or o.home_unit)}".strip()}
            for o in rows]}

    @expose("/functions")
    @has_access
    @search_endpoint
    def functions(self):
        """Which of the command's functions the chosen officer may receive, and why not: the form
        greys out the others as soon as an officer is chosen."""
        try:
            found = service.functions_for_officer(db.session, current_actor(), request.args.get("officer"))
        except SitthiError as error:
            return {"message": error.translated()}, error.status
        return {"functions": [{"id": function.id, "text": localized(function), "allowed": refusal is None,
                               "reason": refusal.translated() if refusal else None}
                              for function, refusal in found]}

    def _choices(self, form: AssignForm, actor) -> list:
        functions = service.assignable_functions(db.session, actor)
        form.function.choices = [("", "")] + [(f.id, localized(f)) for f in functions]
        form.duty_order.choices = [("", "")] + duty_order_choices(actor)
        return functions

    def _render(self, form: AssignForm, status: int):
        actor = current_actor()
        functions = self._choices(form, actor)
        return self.render_template(
            "sitthi/assign_function.html", form=form, functions=functions,
            error=g.get("form_error"), max_months=service.MAX_VALIDITY_MONTHS,
            has_command=actor.command_id is not None and bool(functions),
        ), status


MSG_ORDER_CITED = N_("Permissions cite this duty order: record their new order first, then delete this one.")


class DutyOrderView(SitthiModelView):
    """คำสั่ง of the command's units: the orders that give officers the duties behind their functions.

    The row scope keeps each command to its own orders; an order written for another command's
    unit is refused on save (SitthiModelView._check_scope)."""

    entity = _l("Duty order")
    entities = _l("Duty orders")
    datamodel = datamodel(DutyOrder)
    class_permission_name = "DutyOrder"
    label_columns = {**LABELS, "number": _l("Order number"), "issued_on": _l("Issued on"),
                     "unit": _l("Issuing unit"), "subject": _l("Subject")}
    list_columns = ["number", "issued_on", "unit", "subject"]
    show_columns = add_columns = edit_columns = ["number", "issued_on", "unit", "subject"]
    search_columns = ["number", "issued_on", "subject"]
    add_form_extra_fields = edit_form_extra_fields = {
        "unit": relation_field(_l("Issuing unit"), Unit, "unit", required=True),
    }
    base_order = ("issued_on", "desc")

    def pre_add(self, item) -> None:
        item.created_by_id = getattr(g.user, "id", None)
        super().pre_add(item)

    def pre_delete(self, item) -> None:
        # A function grant that cites the order would lose the proof of its duty.
        if service.cites_duty_order(db.session, item.id):
            raise ValidationFailed(MSG_ORDER_CITED)
        super().pre_delete(item)
