"""A list's download, as a job: the one place a screen queues an export and writes its file.

Asking for a file (a POST from the list's CSV/XLSX buttons) checks what can be checked at once
(the format, the filters, the row limit) and queues a JobRun of kind `export` with the address it
was asked from; the user follows it at /exports/ and downloads the file there. The run is carried
out by app.export_runs: as the user who asked, in their language, with the same address, it calls
the view's file method (named in the view's `export_files`), which reads the rows under the same
role and row scope as the screen and records the export in the audit trail as a read (OIA B.E.
2540, PDPA): who, what and how many rows.
"""
from collections.abc import Callable

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.urltools import get_filter_args

from app import job_queue, tables
from app.errors import N_, SitthiError, ValidationFailed, translate
from app.export_runs import asked_here
from app.extensions import db
from app.formatting import office_clock
from app.services import exports, jobs
from app.views.scoping import current_actor

Progress = Callable[[int, int], None]
# Rows converted between two progress reports.
PROGRESS_EVERY = 2_000


def export_format() -> str:
    """format=csv|xlsx (the button's, or the address's); anything else is not a format Sitthi writes."""
    fmt = (request.values.get("format") or "csv").lower()
    if fmt not in exports.FORMATS:
        abort(404)
    return fmt


def queue_export(view, endpoint: str, fmt: str, title: str):
    """Queue the file `view.export_files[endpoint]` writes, as asked from this address, and send
    the user to the run's page. The caller has refused what could be refused at once."""
    actor = current_actor()
    try:
        run = jobs.start_export(db.session, actor, title, asked_here(view, endpoint, fmt), office_clock())
    except SitthiError as refused:  # too many waiting: their runs, and the reason, on My exports
        flash(refused.translated(), "danger")
        return redirect(url_for("ExportRunView.runs"))
    db.session.commit()
    run_id = run.id
    job_queue.submit(run_id)
    return redirect(url_for("ExportRunView.run", pk=run_id, watch=1))


def written(table: exports.Table, name: str, fmt: str, *, what: str, unit_id: int | None = None) -> jobs.ExportFile:
    """The table as a file, after auditing the export as a read (app.tables.written)."""
    return tables.written(table, name, fmt, actor=current_actor(), what=what, unit_id=unit_id)


def table_rows(items, columns, progress: Progress) -> list[list]:
    """Each item's cells, `columns` [(heading, value of an item)], telling progress as it goes."""
    rows, total = [], len(items)
    for done, item in enumerate(items, 1):
        rows.append([value(item) for _, value in columns])
        if done % PROGRESS_EVERY == 0:
            progress(done, total)
    progress(total, total)
    return rows


# -- a generated list's rows --------------------------------------------------------------------
# Beyond this a list is not read by a person: narrow it with the list's filters first.
EXPORT_LIMIT = 50_000
MSG_TOO_MANY = N_("More than %(limit)s rows: narrow the list with its filters, then export again.")


class ExportableList:
    """Mixed into a ModelView: a POST to `/export/?<the list's filters>` with format=csv|xlsx
    queues a file of the rows the list would show on all its pages, with the view's row scope
    (its base filters), as `export_columns` [(heading, value of a row)] say."""

    export_columns: list = []
    export_name = "list"
    export_files = {"export": "list_file"}
    # The row's column naming the officer it is about, when rows hold officers' personal data.
    export_officer_column: str | None = None

    def _joined_filters(self):
        get_filter_args(self._filters)
        return self._filters.get_joined_filters(self._base_filters)

    @expose("/export/", methods=["POST"])
    @has_access
    def export(self):
        fmt = export_format()
        # Counted first, from the keys: reading 50,001 grants to refuse them took 4 s and 500 MB.
        if self.datamodel.more_than(self._joined_filters(), EXPORT_LIMIT):
            flash(translate(MSG_TOO_MANY, {"limit": f"{EXPORT_LIMIT:,}"}), "danger")
            return redirect(url_for(".list", **request.args.to_dict(flat=False)))  # as it was filtered
        return queue_export(self, "export", fmt, str(self.list_title))

    def list_file(self, fmt: str, progress: Progress) -> jobs.ExportFile:
        """The run's file: the list's rows as they are when the run is carried out."""
        order_column, order_direction = self.base_order or ("", "")
        joined = self._joined_filters()
        if self.datamodel.more_than(joined, EXPORT_LIMIT):  # the list grew since it was asked
            raise ValidationFailed(MSG_TOO_MANY, limit=f"{EXPORT_LIMIT:,}")
        _count, rows = self.datamodel.query(joined, order_column, order_direction, page=0,
                                            page_size=EXPORT_LIMIT)
        table = exports.Table(title=str(self.list_title),
                              headers=[str(heading) for heading, _ in self.export_columns],
                              rows=table_rows(rows, self.export_columns, progress),
                              officer_ids=self._officers_of(rows))
        return written(table, self.export_name, fmt, what=self.class_permission_name,
                       unit_id=current_actor().command_id)

    def _officers_of(self, rows) -> set[int]:
        column = self.export_officer_column
        return {getattr(row, column) for row in rows} if column else set()
