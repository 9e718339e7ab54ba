"""A list's download: the one place a screen turns an exports.Table into a file.

Every export is a read of personal data (OIA B.E. 2540, PDPA): it is recorded in the audit trail
with who, what and how many rows, before the file leaves.
"""

from flask import Response, abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.urltools import get_filter_args
from flask_babel import gettext

from app import tables
from app.services import exports
from app.views.scoping import current_actor


def export_format() -> str:
    """?format=csv|xlsx; anything else is not a format Sitthi writes."""
    fmt = (request.args.get("format") or "csv").lower()
    if fmt not in exports.FORMATS:
        abort(404)
    return fmt


def download(table: exports.Table, name: str, fmt: str, *, what: str, unit_id: int | None = None) -> Response:
    """The table as a file, after auditing the export as a read (app.tables.download)."""
    return tables.download(table, name, fmt, actor=current_actor(), what=what, unit_id=unit_id)


# -- a generated list's rows --------------------------------------------------------------------
# Beyond this a list is not read by a person: narrow it with the list's filters first.
EXPORT_LIMIT = 50_000


class ExportableList:
    """Mixed into a ModelView: `/export/?format=csv|xlsx` writes the rows the list would show on
    all its pages, with the filters in the address and the view's row scope (its base filters),
    as `export_columns` [(heading, value of a row)] say."""

    export_columns: list = []
    export_name = "list"
    # The row's column naming the officer it is about, when rows hold officers' personal data.
    export_officer_column: str | None = None

    @expose("/export/")
    @has_access
    def export(self):
        fmt = export_format()
        get_filter_args(self._filters)
        order_column, order_direction = self.base_order or ("", "")
        joined = self._filters.get_joined_filters(self._base_filters)
        # Counted first, from the keys: reading 50,001 grants to refuse them took 4 s and 500 MB.
        if self.datamodel.more_than(joined, EXPORT_LIMIT):
            flash(gettext("More than %(limit)s rows: narrow the list with its filters, then export again.",
                          limit=f"{EXPORT_LIMIT:,}"), "danger")
            kept = {name: values for name, values in request.args.lists() if name != "format"}
            return redirect(url_for(".list", **kept))  # the list as it was filtered
        _count, rows = self.datamodel.query(joined, order_column, order_direction, page=0,
                                            page_size=EXPORT_LIMIT)
        table = exports.Table(title=str(self.list_title),
                              headers=[str(heading) for heading, _ in self.export_columns],
                              rows=[[value(row) for _, value in self.export_columns] for row in rows],
                              officer_ids=self._officers_of(rows))
        return download(table, self.export_name, fmt, what=self.class_permission_name,
                        unit_id=current_actor().command_id)

    def _officers_of(self, rows) -> set[int]:
        column = self.export_officer_column
        return {getattr(row, column) for row in rows} if column else set()
