"""The data interface the screens and the REST API share: FAB's SQLAInterface with Sitthi's
filters (a national ID only by all 13 digits) and a count that stops at LIST_COUNT_CAP.

Neither a view nor an API module: both build on it, and neither imports the other.
"""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, flash, g, request
from flask_appbuilder.exceptions import InvalidColumnFilterFABException, InvalidOperationFilterFABException
from flask_appbuilder.models.filters import BaseFilter, Filters
from flask_appbuilder.models.sqla.filters import (
    FilterContains,
    FilterEndsWith,
    FilterEqual,
    FilterGreater,
    FilterIn,
    FilterNotContains,
    FilterNotEndsWith,
    FilterNotEqual,
    FilterNotIn,
    FilterNotStartsWith,
    FilterSmaller,
    FilterStartsWith,
    SQLAFilterConverter,
    get_field_setup_query,
)
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, false, func, select
from sqlalchemy.orm.attributes import set_committed_value

from app.date_input import reads_buddhist_era
from app.domain.inputs import as_id, entered_date
from app.errors import N_, ValidationFailed
from app.extensions import db
from app.models import AuditEvent, Officer, audit_event_officer
from app.models.collation import thai
from app.services import officer_search

# What saving a record through a generated screen or the API may run into.
MSG_CONFLICT = N_("This record conflicts with one that already exists (a code or number is already used).")
MSG_OUT_OF_SCOPE = N_("This record would lie outside your command: nothing was saved.")


class NationalIdIs(BaseFilter):
    """All 13 digits, typed with or without dashes; fewer find no one (never a prefix: MISSION §9).

    The only filter on a national ID, on screens and in the REST API (``opr:nid``): FAB's string
    filters (starts with, contains, ...) are never offered for it.
    """

    name = _l("Is (all 13 digits)")
    arg_name = "nid"

    def apply(self, query, value):
        return query.filter(officer_search.national_id_is(getattr(self.model, self.column_name), value))


def _events_concerning(officer_ids):
    return AuditEvent.id.in_(select(audit_event_officer.c.event_id)
                             .where(audit_event_officer.c.officer_id.in_(officer_ids)))


class ConcernsOfficerWithNationalId(BaseFilter):
    """Who looked at this officer: the audit events that read the data of the officer with this
    national ID (all 13 digits, as everywhere)."""

    name = _l("Officer's national ID is (all 13 digits)")
    arg_name = "onid"
    takes_national_id = True  # app.input_guard: not the record number a relation takes

    def apply(self, query, value):
        digits = officer_search.whole_national_id(value)
        if digits is None:
            return query.filter(false())
        return query.filter(_events_concerning(select(Officer.id).where(Officer.national_id == digits)))


class ConcernsOfficer(BaseFilter):
    """The same by the officer's record number: the link on the officer's own page."""

    name = _l("Officer's record number is")
    arg_name = "oid"

    def apply(self, query, value):
        officer_id = as_id(value)
        if officer_id is None:
            return query.filter(false())
        return query.filter(_events_concerning([officer_id]))


# Columns that hold a code chosen from a list (a state, a kind): they are searched by the whole
# code, which an index serves; FAB's text filters would compare prefixes case-blind (ILIKE).
# Thai text a list may be sorted by: in Thai dictionary order (app.models.collation).
THAI_TEXT_COLUMNS = frozenset({"first_name_th", "last_name_th", "name_th", "abbr_th", "position_title", "subject",
                               "province_th"})
CODE_COLUMNS = frozenset({"state", "kind", "status", "outcome", "request_kind", "action", "object_type"})
# An officer's Thai names, matched as typed (Thai has no letter case).
THAI_NAME_COLUMNS = frozenset({"first_name_th", "last_name_th"})


def _matched_as_typed(fab_filter: type[BaseFilter], shape: str, negated: bool = False) -> type[BaseFilter]:
    """FAB's string filter with LIKE for ILIKE, the typed % and _ taken literally. Thai has no
    case to fold, and ILIKE cannot use the names' pattern indexes (migration 0029): "first name
    starts with ศิ" over 230,000 officers read 133,000 index entries and folded each, 36 ms,
    where the index gives the range at once."""

    def apply(self, query, value):
        query, field = get_field_setup_query(query, self.model, self.column_name)
        literal = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        matched = field.like(shape.format(literal), escape="\\")
        return query.filter(~matched if negated else matched)

    return type(f"AsTyped{fab_filter.__name__}", (fab_filter,), {"apply": apply})


# In FAB's order for strings, so a filter's number in an address (_flt_0_...) keeps its meaning.
THAI_NAME_FILTERS = [
    _matched_as_typed(FilterStartsWith, "{}%"),
    _matched_as_typed(FilterEndsWith, "%{}"),
    _matched_as_typed(FilterContains, "%{}%"),
    FilterEqual,
    _matched_as_typed(FilterNotStartsWith, "{}%", negated=True),
    _matched_as_typed(FilterNotEndsWith, "%{}", negated=True),
    _matched_as_typed(FilterNotContains, "%{}%", negated=True),
    FilterNotEqual,
    FilterIn,
    FilterNotIn,
]


class _EnteredDate:
    """A date filter reads the value as the date field does (dd/mm/yyyy in the reader's era);
    FAB's read 17/05/2523 as the year 2523 and quietly found nothing. A value that is no date
    finds nothing and says why."""

    def apply(self, query, value):
        try:
            day = entered_date(value, reads_buddhist_era()) if isinstance(value, str) else value
        except ValidationFailed as refused:
            if not request.path.startswith("/api/"):
                flash(f"{self.name}: {refused.translated()}", "danger")
            return query.filter(false())
        return query if day is None else self.apply_day(query, day)

    def apply_day(self, query, day):
        return super().apply(query, day)


# Each filter class here names its API operator (`opr`) itself. FAB keeps one process-wide map
# from an operator to the class that last used it, and the API takes `opr:eq` from that map: a
# date filter that inherited FilterEqual's "eq" made `object_type eq X` a date filter that found
# nothing, once the date filter had been made after FAB's own (filters are made once per
# interface: SitthiFilterConverter).
class DateOn(_EnteredDate, FilterEqual):
    arg_name = "date_eq"


class DateAfter(_EnteredDate, FilterGreater):
    arg_name = "date_gt"


class DateBefore(_EnteredDate, FilterSmaller):
    arg_name = "date_lt"


class DateNotOn(_EnteredDate, FilterNotEqual):
    arg_name = "date_neq"


class _EnteredDay(_EnteredDate, BaseFilter):
    """A moment (a DateTime column) filtered by a day entered as the date field takes it: the
    office's day, from its midnight in Bangkok to the next."""

    def apply_day(self, query, day):
        zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Bangkok"))
        start = datetime.combine(day, time(), zone).astimezone(UTC)
        end = start + timedelta(days=1)
        return query.filter(self.condition(getattr(self.model, self.column_name), start, end))

    def _indexed(self, column) -> bool:
        """Whether an index leads with the moment, so that its rows of a day are found without
        reading the table (else the keys are not worth reading first)."""
        return any(index.columns and list(index.columns)[0] is column.property.columns[0]
                   for index in self.model.__table__.indexes)

    def _key(self):
        return getattr(self.model, self.datamodel.get_pk_name())

    def _once(self, name: str, start, read):
        """What `read()` gives, read once per request for this list's column and day: the page and
        its count ask alike."""
        known = g.setdefault(name, {})
        where = (self.model.__name__, self.column_name, start)
        if where not in known:
            known[where] = read()
        return known[where]


class MomentOnDay(_EnteredDay):
    name, arg_name = _l("On the day"), "day_eq"

    def condition(self, column, start, end):
        on_day = and_(column >= start, column < end)
        if not self._indexed(column):
            return on_day
        key = self._key()
        first, last = self._once("_sitthi_day_keys", start, lambda: tuple(self.datamodel.session.execute(
            select(func.min(key + 0), func.max(key + 0)).where(on_day)).one()))
        if first is None:
            return on_day
        # The day's rows lie between its first and last key, read beforehand from the moment's
        # index: a list in key order (the audit trail, newest first) then walks back from the
        # day's last row instead of from the newest (1.3 s for a day of 2025 in a trail of ten
        # million rows). The moment is then only checked on the rows the walk meets, written
        # coalesce(moment, moment) so the planner does not take the index again: from the key range
        # and the moment range together it expected 17 of a day's 13,700 rows, and sorted the whole
        # day to give its last 25 (9.4 ms against 0.3).
        checked = func.coalesce(column, column)
        return and_(key >= first, key <= last, checked >= start, checked < end)


class MomentAfterDay(_EnteredDay):
    name, arg_name = _l("After the day"), "day_gt"

    def condition(self, column, start, end):
        return column >= end


class MomentBeforeDay(_EnteredDay):
    """Before the day, newest first by the moment itself, where an index leads with it.

    A list in key order (the audit trail, newest first) walked back from the newest row through
    every row after the day before it met one before it: 0.8 s for a day three months into a
    trail of ten million rows. Bounding it by the last key before the day meant finding the
    largest key among every row before it (88 ms at three months, 0.3 s in the middle), and
    exactly in key order nothing cheaper exists: a row may be written late with an earlier moment.
    In the moment's order the page is the first rows of the moment's index below the day, however
    deep the day lies; "Next rows" goes on by moment and key (moment_ordered)."""

    name, arg_name = _l("Before the day"), "day_lt"

    def condition(self, column, start, end):
        return column < start

    def apply_day(self, query, day):
        query = super().apply_day(query, day)
        column = getattr(self.model, self.column_name)
        if not self._indexed(column):
            return query
        g.setdefault(MOMENT_ORDER, {})[self.model.__name__] = column
        # A sort the reader chose replaces this one (CappedCountInterface.apply_order_by); the
        # list's own order by key follows it, and breaks no tie a key has not already broken.
        return query.order_by(column.desc(), self._key().desc())


# Per request: the moment a list is ordered by instead of its key, by model name.
MOMENT_ORDER = "_sitthi_moment_order"


def moment_ordered(model):
    """The moment column `model`'s list is ordered by in this request (MomentBeforeDay), or None."""
    return g.get(MOMENT_ORDER, {}).get(model.__name__)


class SitthiFilterConverter(SQLAFilterConverter):
    conversion_table = (
        ("is_date", [DateOn, DateAfter, DateBefore, DateNotOn]),
        ("is_datetime", [MomentOnDay, MomentAfterDay, MomentBeforeDay]),
        ("is_national_id", [NationalIdIs]),
        ("is_officers_read", [ConcernsOfficerWithNationalId, ConcernsOfficer]),
        ("is_code", [FilterEqual, FilterNotEqual]),
        ("is_thai_name", THAI_NAME_FILTERS),
        *SQLAFilterConverter.conversion_table,
    )

    def convert(self, col_name):
        """The column's filters, worked out once per interface: FAB converts every column of the
        model for each Filters it makes (a few per page, a few hundred filter objects, 2 ms of an
        officer's page). The filters hold no state of a request, so a list may share them; each
        caller gets its own list, which FAB extends with a view's extra filters."""
        kept = self.datamodel.__dict__.setdefault("_sitthi_filters", {})
        if col_name not in kept:
            kept[col_name] = super().convert(col_name)
        found = kept[col_name]
        return list(found) if found is not None else None


class ColumnFilters(Filters):
    """An API filter's operator ("sw") is the column's own filter of that name. FAB looked it up
    in one map of the whole process, holding the class last made under each name, so a column
    could be filtered by another column's filter: a date filter once took "eq" from every column;
    the Thai names' "starts with" would have taken "sw" from English ones (LIKE, not ILIKE)."""

    def rest_add_filters(self, data) -> None:
        for each in data:
            try:
                operator, column, value = each["opr"], each["col"], each["value"]
            except (KeyError, TypeError):
                raise InvalidOperationFilterFABException("A filter names its col, opr and value.") from None
            if column not in self.search_columns:
                raise InvalidColumnFilterFABException(f"Filter column: {column} not allowed to filter")
            own = next((found for found in self._search_filters.get(column, ()) if found.arg_name == operator), None)
            if own is None:
                raise InvalidOperationFilterFABException(
                    f"Filter operation: {operator} not allowed on column: {column}")
            self.add_filter(column, own if isinstance(own, type) else type(own), value)


class ShownCount(int):
    """A list's count, shown as the reader reads numbers ("2,344"; FAB's template printed "2344")."""

    def __str__(self) -> str:
        return f"{int(self):,}"


class CappedCount(int):
    """A count that stopped at the cap: shown as "1,000+", still usable for paging."""

    def __str__(self) -> str:
        return f"{int(self) - 1:,}+"


class CappedCountInterface(SQLAInterface):
    """FAB counts every matching row on every list page; past the cap, "1,000+" is enough.

    `loads` are the loader options of the related rows a screen shows (app.views.loads): no
    model loads them by default, so a list that forgot one runs a query per row, which the
    statement-count tests catch.
    """

    filter_converter_class = SitthiFilterConverter

    def __init__(self, obj, session=None, loads=()):
        super().__init__(obj, session)
        self.loads = tuple(loads)
        # What one row's page (show, edit) shows beyond its list: set by the view.
        self.row_loads = ()

    def get_filters(self, search_columns=None, search_filters=None) -> ColumnFilters:
        return ColumnFilters(self.filter_converter_class, self, search_columns=search_columns or [],
                             search_filters=search_filters)

    def get(self, id, filters=None, select_columns=None, outer_default_load=False):
        """One row for its page, with the relations that page shows beyond the list's loaded in
        the same statement (`row_loads`), instead of one statement each when first read."""
        if not self.row_loads or select_columns or self.is_pk_composite():
            return super().get(id, filters, select_columns, outer_default_load)
        row_filters = filters.copy() if filters else Filters(self.filter_converter_class, self)
        row_filters.add_filter(self.get_pk_name(), self.FilterEqual, id)
        query = self.apply_all(self.session.query(self.obj), row_filters, outer_default_load=outer_default_load)
        return query.options(*self.row_loads).one_or_none()

    def apply_all(self, query, filters=None, *args, **kwargs):
        query = super().apply_all(query, filters, *args, **kwargs)
        # A list under a row's page names that row on every line: it is not read again (_fill_pinned).
        pinned = self.pinned_relations(filters)
        loads = [option for option in self.loads if option.path[1].key not in pinned]
        return query.options(*loads) if loads else query

    def pinned_relations(self, filters) -> dict[str, object]:
        """The many-to-one relations a related list is filtered on (FAB's related views: the
        requests under an officer's page), each with the key of the row it names."""
        if filters is None:
            return {}
        return {each.column_name: value for each, value in zip(filters.filters, filters.values, strict=True)
                if getattr(each, "is_related_view", False) and self.is_relation_many_to_one(each.column_name)}

    def _fill_pinned(self, filters, rows) -> None:
        """Every row of a related list names the page's own row, already in the session: set on
        each row, instead of a statement that reads it again (or, unloaded, one per row)."""
        for name, key in self.pinned_relations(filters).items():
            named = self.session.get(getattr(self.obj, name).property.mapper.class_, key)
            for row in rows:
                set_committed_value(row, name, named)

    def apply_order_by(self, query, order_column, order_direction, *args, **kwargs):
        """Empty values sort as the largest on every database (PostgreSQL's own rule): SQLite put
        them first when ascending, so a list sorted by due date opened on undated drafts. A sort
        the reader chose replaces the one a filter set (MomentBeforeDay); the list's own, newest
        key first, follows it."""
        if order_column and (order_column, order_direction) != (self.get_pk_name(), "desc"):
            query = query.order_by(None)
        column = self.list_columns.get(order_column) if order_column else None
        if column is None or self.is_relation(order_column) or order_direction not in ("asc", "desc") \
                or not (column.nullable or order_column in THAI_TEXT_COLUMNS):
            return super().apply_order_by(query, order_column, order_direction, *args, **kwargs)
        column = getattr(self.obj, order_column)
        if order_column in THAI_TEXT_COLUMNS:
            column = thai(column)  # เ แ โ ใ ไ among their consonants, not after ฮ
        ordered = column.asc().nulls_last() if order_direction == "asc" else column.desc().nulls_first()
        pk = getattr(self.obj, self.get_pk_name())
        return query.order_by(ordered, pk.asc() if order_direction == "asc" else pk.desc())

    def is_national_id(self, col_name: str) -> bool:
        return col_name == "national_id"

    def is_officers_read(self, col_name: str) -> bool:
        return self.obj is AuditEvent and col_name == "officers"

    def is_code(self, col_name: str) -> bool:
        return col_name in CODE_COLUMNS and self.is_string(col_name)

    def is_thai_name(self, col_name: str) -> bool:
        return self.obj is Officer and col_name in THAI_NAME_COLUMNS

    def query(self, filters=None, order_column="", order_direction="", page=None, page_size=None,
              select_columns=None, outer_default_load=False):
        query = self.apply_all(self.session.query(self.obj), filters, order_column, order_direction,
                               page, page_size, select_columns, outer_default_load)
        if page is None and page_size is None:
            # Unpaged: a related field's choices (FAB's forms ask for them this way). Every row
            # is read anyway, so its count is their number.
            rows = query.all()
            if rows and hasattr(rows[0], self.obj.__name__):
                rows = [getattr(row, self.obj.__name__) for row in rows]
            return ShownCount(len(rows)), rows
        # The page and its count in one statement (the count a subquery PostgreSQL runs once):
        # FAB sent the count first, a round trip and a statement of its own on every list.
        count = self._count_of(self.session.query(self.obj), filters, select_columns)
        found = query.add_columns(count.label("sitthi_count")).all()
        rows = [getattr(row, self.obj.__name__) for row in found]
        self._fill_pinned(filters, rows)
        if found:
            return self._shown(found[0].sitthi_count), rows
        # No row: none at all on the first page; past the last page, counted on its own.
        if not page:
            return ShownCount(0), rows
        return self.query_count(self.session.query(self.obj), filters, select_columns), rows

    def query_count(self, query, filters=None, select_columns=None) -> int:
        return self._shown(self.session.execute(select(self._count_of(query, filters, select_columns))).scalar())

    def _count_of(self, query, filters, select_columns):
        """The rows `filters` admit, counted up to LIST_COUNT_CAP + 1, as a scalar subquery."""
        cap = current_app.config["LIST_COUNT_CAP"]
        count = self._counted(query, _replaced(filters, "counting_filter") or filters, select_columns, cap)
        floor = _replaced(filters, "count_floor_filter")
        if floor is not None:
            # One statement either way: the database counts every row only when the part one index
            # finds does not already pass the cap (PostgreSQL runs a subquery when first needed).
            count = case((self._counted(query, floor, select_columns, cap) > cap, cap + 1), else_=count)
        return count

    @staticmethod
    def _shown(count: int) -> int:
        cap = current_app.config["LIST_COUNT_CAP"]
        return CappedCount(count) if count > cap else ShownCount(count)

    def more_than(self, filters, limit: int) -> bool:
        """Whether `filters` admit more than `limit` rows; at most limit + 1 keys are counted."""
        query = self.session.query(self.obj)
        return self.session.execute(select(self._counted(query, filters, None, limit))).scalar() > limit

    def _counted(self, query, filters, select_columns, cap: int):
        """The number of rows `filters` admit, up to cap + 1, as a scalar subquery."""
        inner = self._apply_inner_all(query, filters, select_columns=select_columns, aliases_mapping={})
        # Only the key: the database counts from an index instead of reading every row.
        keys = inner.with_entities(getattr(self.obj, self.get_pk_name())).limit(cap + 1).subquery()
        return select(func.count()).select_from(keys).scalar_subquery()


def _replaced(filters, replacement: str) -> Filters | None:
    """The same filters with those that have a stand-in for a capped count replaced by it; None
    when none has. The stand-ins of app.views.base.InScope: `count_floor_filter`, the part of the
    row scope one index finds; `counting_filter`, the whole scope in the shape a count runs best
    (app.security.scope.row_condition's `counting`)."""
    if filters is None:
        return None
    stand_ins = [getattr(each, replacement, lambda: None)() for each in filters.filters]
    if not any(stand_ins):
        return None
    replaced = filters.copy()
    replaced.filters = [stand_in or each for stand_in, each in zip(stand_ins, filters.filters, strict=True)]
    return replaced


def datamodel(model, loads=()) -> CappedCountInterface:
    return CappedCountInterface(model, db.session, loads)
