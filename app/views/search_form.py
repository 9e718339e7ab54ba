"""The search form of a list, its fields rendered once and kept, not on every view of the list.

FAB's search widget renders every search field (the page's script clones them when a filter is
added), translates every filter's name and builds every filter object, on every view: 3 ms of a
15 ms list, most of it the options of the reference selects (ranks, duty lines, functions). What a
field renders depends on the list, the language and, for a select of rows, those rows: a field
is kept per (list, column, language, script root), a select of reference rows under the stamp of
its table's group (app.reference_cache), so a change to ranks shows at once on every server.
Fields whose choices may differ per reader or per request are rendered every time: a select of
rows from a table without a stamp or narrowed per reader (search_form_query_rel_fields), a
select whose choices are worked out when shown, and any field of a kind not listed here.
"""
from flask import request
from flask_appbuilder._compat import as_unicode
from flask_appbuilder.fields import QuerySelectField, QuerySelectMultipleField
from flask_appbuilder.widgets import RenderTemplateWidget, SearchWidget
from flask_babel import get_locale
from wtforms import (
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
)

from app.extensions import db
from app.models.reference_stamp import REFERENCE_TABLES
from app.reference_cache import kept
from app.views.fields import AjaxRelationField

MOST_KEPT = 2048
# Fields that render the same for every reader, given the language (their choices, if any, are
# a list made with the form).
_PLAIN_FIELDS = (StringField, IntegerField, DecimalField, BooleanField, DateField, DateTimeField)
_GROUP_OF = {table: group for group, tables in REFERENCE_TABLES.items() for table in tables}
_kept_fields: dict[tuple, str] = {}
_kept_names: dict[tuple, tuple[dict, dict]] = {}


class KeptSearchWidget(SearchWidget):
    """FAB's SearchWidget with the same template and arguments, its parts kept where they may be."""

    def __call__(self, **kwargs):
        args = self.template_args
        form, columns = args["form"], args["include_cols"]
        where = (args["route_base"], str(get_locale()), request.script_root)
        names = _kept_names.get((*where, tuple(columns)))
        if names is None:
            search_filters = self.filters.get_search_filters()
            names = ({column: as_unicode(form[column].label.text) for column in columns},
                     {column: [as_unicode(f.name) for f in search_filters[column]] for column in columns})
            _keep(_kept_names, (*where, tuple(columns)), names)
        kwargs["label_columns"], kwargs["search_filters"] = names
        kwargs["form_fields"] = {column: _rendered(form[column], column, where, self.filters.datamodel,
                                                   args.get("scoped_columns", ()))
                                 for column in columns}
        kwargs["active_filters"] = self.filters.get_filters_values_tojson()
        return RenderTemplateWidget.__call__(self, **kwargs)


def _rendered(field, column, where, datamodel, scoped_columns) -> str:
    if getattr(field, "raw_data", None) or field.data != field.default:
        return field()  # a form that carries values is this request's own
    if isinstance(field, (QuerySelectField, QuerySelectMultipleField)):
        group = None if column in scoped_columns or not datamodel.is_relation(column) else \
            _GROUP_OF.get(datamodel.get_related_model(column).__tablename__)
        if group is None:
            return field()
        return kept(db.session, group, ("search field", *where, column), field)
    if not _same_for_everyone(field):
        return field()
    key = (*where, column)
    found = _kept_fields.get(key)
    if found is None:
        found = _keep(_kept_fields, key, field())
    return found


def _same_for_everyone(field) -> bool:
    if isinstance(field, SelectField):
        return not callable(field.choices)
    if isinstance(field, AjaxRelationField):
        return field.editable is None and field.endpoint is None and field.scope_toggle is None
    return isinstance(field, _PLAIN_FIELDS)


def _keep(store: dict, key, value):
    if len(store) >= MOST_KEPT:
        store.clear()
    store[key] = value
    return value
