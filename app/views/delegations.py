"""My deputies (มอบหมายผู้ปฏิบัติแทน): a head names who certifies in their place while away.

The list shows the delegations the logged-in user made as principal (an Admin sees all). Adding
and cancelling go through app.services.delegations, which holds every rule; this view only reads
the form, calls the service and commits. The deputy is picked by an AJAX search of officers with
a login (`/mydeputyview/candidates`), never from a dropdown of the whole user table.
"""
from flask import flash, redirect, request
from flask_appbuilder import expose
from flask_appbuilder.actions import action
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.datamodel import CappedCountInterface
from app.domain.inputs import as_id
from app.errors import SitthiError
from app.extensions import db
from app.formatting import local_today
from app.labels import DELEGATION_STATE, label_of
from app.models import Delegation, Officer, User
from app.security.rate_limits import search_endpoint
from app.security.scope import ADMIN
from app.services import delegations, officer_search
from app.views.base import PERMISSION_BY_METHOD, SitthiModelView
from app.views.fields import AjaxRelationField
from app.views.labels import LABELS
from app.views.scoping import current_actor

PAGE = 20
DELEGATION_LABELS = {
    **LABELS,
    "principal": _l("Away (principal)"),
    "deputy": _l("Deputy"),
    "starts_on": _l("First day"),
    "ends_on": _l("Last day"),
    "status": _l("Status"),
    "reason": _l("Reason"),
}


class UserPickField(AjaxRelationField):
    """A login chosen through this screen's own search; the service judges who may be chosen."""

    def process_formdata(self, valuelist):
        raw = valuelist[0] if valuelist else ""
        self.data = None
        if raw in ("", None, "__None"):
            return
        pk = as_id(raw)
        self.data = db.session.get(User, pk) if pk is not None else None
        if self.data is None:
            raise ValidationError(_l("The chosen record does not exist."))


def user_pick_field(label, required: bool) -> UserPickField:
    return UserPickField(label, [DataRequired()] if required else [Optional()], model=User,
                         endpoint=("MyDeputyView.candidates",))


class DelegationRows(CappedCountInterface):
    """Delegation lists whose "status" cell is drawn from the whole row."""

    def _get_attr_value(self, item, col):
        if col == "status":
            return item
        return super()._get_attr_value(item, col)


def status_cell(delegation: Delegation) -> str:
    return label_of(DELEGATION_STATE, delegations.state_of(delegation, local_today()))


class MadeByMeUnlessAdmin(BaseFilter):
    """My deputies: the delegations where the logged-in user is the principal (Admin: all)."""

    def apply(self, query, value):
        actor = current_actor()
        if actor.has_role(ADMIN):
            return query
        return query.filter(Delegation.principal_user_id == actor.user_id)


def candidate_text(officer: Officer) -> str:
    """Rank and name, position, unit: enough to pick the right person among namesakes."""
    unit = officer.acting_unit or officer.home_unit
    position = f" {officer.position_title}" if officer.position_title else ""
    return f"{officer} –{position} {unit or ''}".strip()


class MyDeputyView(SitthiModelView):
    entity = _l("Deputy")
    entities = _l("My deputies")
    datamodel = DelegationRows(Delegation, db.session)
    class_permission_name = "MyDeputy"
    base_permissions = ["can_read", "can_write"]
    # A delegation is never edited or deleted: it is cancelled from the list (and the trail keeps it).
    exclude_route_methods = SitthiModelView.exclude_route_methods | {"edit", "delete"}
    method_permission_name = {
        **PERMISSION_BY_METHOD, "cancel_delegation": "write", "candidates": "write",
    }
    label_columns = DELEGATION_LABELS
    list_columns = ["principal", "deputy", "starts_on", "ends_on", "status", "reason"]
    show_columns = ["principal", "deputy", "starts_on", "ends_on", "status", "reason", "created_at"]
    add_columns = ["principal", "deputy", "starts_on", "ends_on", "reason"]
    search_columns = ["starts_on", "ends_on"]
    formatters_columns = {"status": status_cell}
    # The service's bound, so the form says so at the field before the service refuses it.
    validators_columns = {"reason": [Length(max=delegations.REASON_LIMIT)]}
    add_form_extra_fields = {
        "principal": user_pick_field(_l("Away (principal); leave empty for yourself"), required=False),
        "deputy": user_pick_field(_l("Deputy"), required=True),
    }
    description_columns = {
        "deputy": _l("Certifies, returns or rejects the requests that name you as head, in your place and recorded as for you."),
        "ends_on": _l("A delegation lasts at most 90 days, first and last day included."),
    }
    base_filters = [["principal_user_id", MadeByMeUnlessAdmin, None]]
    base_order = ("starts_on", "desc")
    add_row_message = _l("Deputy named.")

    def _add(self):
        """FAB's add form, saved through app.services.delegations instead of datamodel.add."""
        actor = current_actor()
        form = self.add_form.refresh()
        hidden = [] if actor.has_role(ADMIN) else ["principal"]
        if request.method == "POST" and form.validate():
            principal = form.principal.data if not hidden else None
            try:
                delegations.name_deputy(
                    db.session, actor, form.deputy.data.id if form.deputy.data else None,
                    form.starts_on.data, form.ends_on.data, form.reason.data, local_today(),
                    principal_user_id=principal.id if principal else None,
                )
                db.session.commit()
            except SitthiError as error:
                db.session.rollback()
                field = getattr(error, "field", None)
                if field in form and field not in hidden:
                    form[field].errors = [*form[field].errors, error.translated()]
                else:
                    flash(error.translated(), "danger")
            else:
                flash(str(self.add_row_message), "success")
                return None
        elif request.method == "GET":
            self.update_redirect()
        return self._get_add_widget(form=form, exclude_cols=hidden)

    @action("cancel_delegation", _l("Cancel delegation"),
            _l("Cancel? The deputy loses your authority at once."), "fa-ban", single=False)
    def cancel_delegation(self, items):
        """Cancel through the service, which loads each delegation again by its own rule."""
        actor, today = current_actor(), local_today()
        for row in items:
            if row is None:
                continue
            try:
                delegations.cancel_delegation(db.session, actor, row.id, today)
                db.session.commit()
                flash(gettext("Delegation cancelled."), "success")
            except SitthiError as error:
                db.session.rollback()
                flash(error.translated(), "danger")
        return redirect(self.get_redirect())

    @expose("/candidates")
    @has_access
    @search_endpoint
    def candidates(self):
        """Officers in service with an active login, by name or whole national ID; 20 at a time."""
        actor = current_actor()
        query = (select(Officer).join(User, User.id == Officer.user_id)
                 .where(Officer.status == "active", User.active.is_(True), User.id != actor.user_id))
        term = request.args.get("q")
        query = officer_search.search_officers(query, term)
        rows = db.session.scalars(query.order_by(*officer_search.name_order(term)).limit(PAGE)).unique().all()
        return {"results": [{"id": o.user_id, "text": candidate_text(o)} for o in rows]}

