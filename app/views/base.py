"""What every Sitthi screen shares: permissions per resource, capped counts, Thai dates."""
import copy

from flask import abort, current_app, g, has_request_context, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, DateTime, false, select, tuple_
from sqlalchemy.exc import IntegrityError
from wtforms import SelectField
from wtforms.validators import DataRequired, Optional

from app.datamodel import MSG_OUT_OF_SCOPE, moment_ordered
from app.domain.inputs import as_id
from app.errors import N_, NotAllowed, ValidationFailed
from app.extensions import db
from app.formatting import format_date, format_datetime, name_in_reader_language
from app.input_guard import PAGE_ARGUMENT, InputRefused, bound_form_input, is_bulk_action
from app.labels import label_of
from app.models.loading import with_its_text
from app.security.scope import count_floor, is_visible, row_condition
from app.services import audit
from app.views.scoping import current_actor
from app.views.search_form import KeptSearchWidget

MSG_BREAKS_A_RULE = N_("This record conflicts with another or breaks a rule of the records (a code or number "
                       "already used, a value out of range). Nothing was saved.")


MSG_PAST_THE_CAP = N_("Numbered pages stop at %(rows)s rows: narrow the list with its filters, or go on "
                      "with “Next rows” from its last page.")
MSG_NOT_A_ROW = N_("“Next rows” must start after a row number. Nothing was shown.")
KEYSET_ARGUMENT = "after"


class AfterTheLastRowShown(BaseFilter):
    """Keyset paging: the rows after `?after=<id>` in the list's id order, read from the index
    however deep, where an offset would read and drop every row before the page."""

    def apply(self, query, value):
        cursor = keyset_cursor()
        if cursor is None:
            return query
        column = getattr(self.model, self.column_name)
        moment = moment_ordered(self.model)
        if moment is None:
            return query.filter(column < cursor if value == "desc" else column > cursor)
        # A list a filter orders by a moment (newest first) goes on by the moment and the key.
        at = db.session.scalar(select(moment).where(column == cursor))
        return query.filter(false() if at is None else tuple_(moment, column) < tuple_(at, cursor))


def keyset_cursor() -> int | None:
    if not request.endpoint or not request.endpoint.endswith((".list", ".export")):
        return None
    raw = request.args.get(KEYSET_ARGUMENT)
    if raw is None:
        return None
    cursor = as_id(raw)
    if cursor is None:
        raise InputRefused(MSG_NOT_A_ROW, field=KEYSET_ARGUMENT)
    return cursor


class InScope(BaseFilter):
    """The row scope of app.security.scope, applied to every list, detail, edit and delete."""

    # The shape of the condition (row_condition's `counting`): the same rows either way.
    counting = False

    def apply(self, query, value):
        condition = row_condition(db.session, current_actor(), self.model, counting=self.counting)
        return query if condition is None else query.filter(condition)

    def count_floor_filter(self) -> BaseFilter | None:
        """For a capped count (app.datamodel): a filter of part of these rows that one index finds."""
        if count_floor(db.session, current_actor(), self.model) is None:
            return None
        return InScopeFloor(self.column_name, self.datamodel)

    def counting_filter(self) -> BaseFilter:
        """For a capped count (app.datamodel): the same rows in the shape a count runs best."""
        return InScopeCounted(self.column_name, self.datamodel)


class InScopeCounted(InScope):
    """InScope's rows, counted: a command's officers' ids go in first, as an array, so each is an
    index probe (a command's requests in one state: 27-37 -> 9 ms at 1,000,000 requests)."""

    counting = True


class InScopeFloor(BaseFilter):
    """app.security.scope.count_floor as a filter (FAB builds filters again from their class)."""

    def apply(self, query, value):
        return query.filter(count_floor(db.session, current_actor(), self.model))


# Roles get read/write/delete per resource (Superset style) instead of one permission per URL.
PERMISSION_BY_METHOD = {
    "list": "read",
    "show": "read",
    "api": "read",
    "api_read": "read",
    "api_get": "read",
    "api_readvalues": "read",
    "api_column_add": "write",
    "api_column_edit": "write",
    "add": "write",
    "edit": "write",
    "api_create": "write",
    "api_update": "write",
    "delete": "delete",
    "api_delete": "delete",
    "action": "write",
    "action_post": "write",
    "file": "read",
    "export": "read",
}


class SitthiModelView(ModelView):
    method_permission_name = PERMISSION_BY_METHOD
    # Files live in the database and are served by scoped endpoints, never from UPLOAD_FOLDER.
    # Single-row GET actions are refused under CSRF anyway; bulk actions go through action_post.
    exclude_route_methods = {"download", "action"}
    page_size = 25
    list_template = "sitthi/list.html"
    search_widget = KeptSearchWidget
    # Translated names for titles: "Officer" / "Officers"; FAB's own titles are English only.
    entity = None
    entities = None

    def __init__(self, **kwargs):
        # Every screen sees only the rows its user may see; FAB applies this to list, show,
        # edit and delete lookups (not to actions or adds: see _check_scope).
        self.base_filters = [*(self.base_filters or []), ["id", InScope, None]]
        if self.keyset_pages:
            self.base_filters.append(["id", AfterTheLastRowShown, self.base_order[1]])
        self._load_list_relations()
        if self.entity is not None:
            self.list_title = self.entities
            self.show_title = _l("%(entity)s: details", entity=self.entity)
            self.add_title = _l("Add %(entity)s", entity=self.entity)
            self.edit_title = _l("Edit %(entity)s", entity=self.entity)
        super().__init__(**kwargs)
        self._format_dates()
        for form in (self.add_form, self.edit_form):
            bound_form_input(form)
        bound_form_input(self.search_form, search=True)

    def _load_list_relations(self) -> None:
        """The page's query joins each many-to-one relation its list shows (and what that row's
        text reads), and a row's page those its show columns add, on a copy of the class's data
        interface, which subclasses share."""
        interface = copy.copy(self.datamodel)
        model = interface.obj
        shown = [getattr(model, name) for name in self.list_columns or ()
                 if isinstance(name, str) and interface.is_relation_many_to_one(name)]
        interface.loads = (*(with_its_text(relation, separately=self.relations_after_the_page) for relation in shown),
                           *interface.loads)
        shown_on_its_page = self.show_columns or [
            name for _title, part in self.show_fieldsets or () for name in part.get("fields", ())]
        on_its_page = [getattr(model, name) for name in shown_on_its_page
                       if isinstance(name, str) and name not in (self.list_columns or ())
                       and interface.is_relation_many_to_one(name)]
        interface.row_loads = tuple(with_its_text(relation) for relation in on_its_page)
        self.datamodel = interface

    @expose("/action_post", methods=["POST"])
    @has_access
    def action_post(self):
        """FAB answers an unknown action name with a 500; it is simply not there."""
        if not is_bulk_action(self, request.form.get("action")):
            abort(404)
        return super().action_post()

    # A list column drawn from the whole row sorts by the stored column behind it.
    order_aliases: dict[str, str] = {}

    # A list that can run past LIST_COUNT_CAP rows (its base order is by id): "Next rows" goes
    # on from the last row shown, however deep; numbered pages stop at the cap.
    keyset_pages = False

    # The list's reference relations (unit, stage) read after the page, one statement each,
    # instead of joined into its query: for a list whose filter PostgreSQL misjudges, the joins
    # ran on every matching row before the sort.
    relations_after_the_page = False

    def _get_search_widget(self, form=None, exclude_cols=None, widgets=None):
        widgets = super()._get_search_widget(form=form, exclude_cols=exclude_cols, widgets=widgets)
        # Selects narrowed per reader are rendered for each reader (app.views.search_form).
        widgets["search"].template_args["scoped_columns"] = frozenset(self.search_form_query_rel_fields or ())
        return widgets

    def _get_list_widget(self, filters, actions=None, order_column="", order_direction="", **kwargs):
        """Sort only by a sortable column: a made-up `_oc_` in the address gave FAB a 500."""
        if order_column not in (self.order_columns or []) or order_direction not in ("asc", "desc"):
            order_column, order_direction = "", ""
        order_column = self.order_aliases.get(order_column, order_column)
        cap = current_app.config["LIST_COUNT_CAP"]
        if (kwargs.get("page") or 0) * (kwargs.get("page_size") or self.page_size) > cap:
            raise InputRefused(MSG_PAST_THE_CAP, rows=f"{cap:,}")
        widgets = super()._get_list_widget(filters, actions=actions, order_column=order_column,
                                           order_direction=order_direction, **kwargs)
        pinned = self.datamodel.pinned_relations(filters)
        if pinned:
            # Under a row's page (an officer's requests) that row's column would repeat on every line.
            listed = widgets["list"].template_args
            listed["include_columns"] = [name for name in listed["include_columns"] if name not in pinned]
        # Next-rows links belong to the list's own page, not to a list under a row's page (no `after` there).
        if self.keyset_pages and not order_column and not pinned:
            listed = widgets["list"].template_args
            if listed["pks"] and len(listed["pks"]) == (listed.get("page_size") or self.page_size):
                g.keyset_next = url_for(request.endpoint, **{
                    **{k: v for k, v in request.args.items() if not PAGE_ARGUMENT.search(k)},
                    KEYSET_ARGUMENT: listed["pks"][-1]})
            if KEYSET_ARGUMENT in request.args:
                g.keyset_first = url_for(request.endpoint, **{
                    k: v for k, v in request.args.items() if k != KEYSET_ARGUMENT and not PAGE_ARGUMENT.search(k)})
        return widgets

    # -- the audit trail of every change made through a generated screen ------------------
    def _audit(self, action: str, item, before=None, after=None) -> None:
        audit.record(
            db.session, f"{type(item).__name__}.{action}", obj=item, before=before, after=after,
            actor_id=getattr(g.user, "id", None), remote_addr=request.remote_addr,
        )

    def pre_add(self, item) -> None:
        # The new row needs its id in the same transaction as its audit event.
        db.session.add(item)
        self._flush()
        self._check_scope(item)
        self._audit("create", item, after=audit.snapshot(item))

    def pre_update(self, item) -> None:
        before, after = audit.changes(item)
        self._flush()
        self._check_scope(item)
        if after:
            self._audit("update", item, before=before, after=after)

    @staticmethod
    def _flush() -> None:
        """FAB shows a failed hook's error as it is: the database's own text, SQL included."""
        try:
            db.session.flush()
        except IntegrityError as error:
            db.session.rollback()
            raise ValidationFailed(MSG_BREAKS_A_RULE) from error

    def _check_scope(self, item) -> None:
        """A row added or changed must still be one the user may see (no moving it away)."""
        if not is_visible(db.session, current_actor(), type(item), item.id):
            db.session.rollback()
            raise NotAllowed(MSG_OUT_OF_SCOPE)

    def pre_delete(self, item) -> None:
        self._audit("delete", item, before=audit.snapshot(item))

    @property
    def _related_views(self):
        """Related lists on a detail page show only what the user may read on its own."""
        views = self.__dict__.setdefault("_all_related_views", [])
        if not has_request_context():
            return views
        sm = self.appbuilder.sm
        return [v for v in views if sm.has_access("can_read", v.class_permission_name)]

    @_related_views.setter
    def _related_views(self, value):
        self.__dict__["_all_related_views"] = value

    def _format_dates(self) -> None:
        """Dates go through the one formatting helper, catalogue rows by their name in the reader's
        language; an empty value shows as empty, not None."""
        formatters = dict(self.formatters_columns or {})
        columns = set(self.list_columns) | set(self.show_columns)
        for name in columns:
            if name in formatters:
                continue
            column_type = getattr(self.datamodel.list_columns.get(name), "type", None)
            if isinstance(column_type, DateTime):
                formatters[name] = format_datetime
            elif isinstance(column_type, Date):
                formatters[name] = format_date
            elif isinstance(column_type, Boolean):
                formatters[name] = yes_no
            elif self.datamodel.is_relation_many_to_one(name) and hasattr(
                    self.datamodel.get_related_model(name), "name_en"):
                formatters[name] = name_in_reader_language  # English names in English
            else:
                formatters[name] = blank_if_none
        self.formatters_columns = formatters


def yes_no(value) -> str:
    if value is None:
        return ""
    return str(_l("Yes") if value else _l("No"))


def blank_if_none(value):
    return "" if value is None else value


def code_column(mapping: dict):
    """Show a stored code (state, kind) by its translated name."""

    def render(value: str | None) -> str:
        return label_of(mapping, value)

    return render


def code_field(label, mapping: dict, required: bool = True) -> SelectField:
    """A select of translated names for a column that stores a code."""
    validators = [DataRequired()] if required else [Optional()]
    return SelectField(
        label,
        choices=[(code, name) for code, name in mapping.items()],
        validators=validators,
        widget=Select2Widget(),
    )


class ReadOnlyModelView(SitthiModelView):
    """For records only the services write: the audit trail, decisions, the outbox."""

    base_permissions = ["can_read"]
