"""`/exports/`: the files a user asked for, each written by a job, and their downloads.

Only the user who asked sees a run and downloads its file: it was read under their role and row
scope, and anyone else (another command's staff, an admin) is told there is no such export. The
file was recorded in the audit trail as a read when it was written; it is kept for
jobs.EXPORT_KEEP, then emptied.
"""
from flask import abort, flash, jsonify, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app import labels, tables
from app.domain.inputs import as_id
from app.errors import SitthiError
from app.extensions import db
from app.formatting import office_clock
from app.models import JobRun
from app.services import jobs
from app.views.scoping import current_actor

RUNS_SHOWN = 50


class ExportRunView(BaseView):
    route_base = "/exports"
    default_view = "runs"
    class_permission_name = "MyExport"
    method_permission_name = {"runs": "read", "run": "read", "progress": "read", "file": "read"}

    def _run(self, pk: int) -> JobRun:
        try:
            return jobs.export_run(db.session, current_actor(), as_id(pk) or 0)
        except SitthiError:
            abort(404)

    @expose("/")
    @has_access
    def runs(self):
        runs = db.session.scalars(jobs.exports_of(current_actor()).order_by(JobRun.id.desc()).limit(RUNS_SHOWN)).all()
        return self.render_template("sitthi/export_runs.html", runs=runs, states=labels.JOB_STATE,
                                    kept=self._kept(), shown=RUNS_SHOWN, hours=jobs.EXPORT_KEEP_HOURS)

    @staticmethod
    def _kept():
        clock = office_clock()
        return lambda run: run.state == "done" and jobs.kept(run, clock)

    @expose("/run/<int:pk>")
    @has_access
    def run(self, pk):
        run = self._run(pk)
        return self.render_template("sitthi/export_run.html", run=run, states=labels.JOB_STATE,
                                    error=jobs.error_text(run), kept=self._kept()(run),
                                    hours=jobs.EXPORT_KEEP_HOURS)

    @expose("/run/<int:pk>/progress")
    @has_access
    def progress(self, pk):
        """What the run page polls while the run is queued or running."""
        run = self._run(pk)
        return jsonify(state=run.state, state_label=str(labels.JOB_STATE[run.state]), total=run.total,
                       processed=run.processed, finished=run.state in ("done", "failed"))

    @expose("/run/<int:pk>/file")
    @has_access
    def file(self, pk):
        try:
            run, content = jobs.export_output(db.session, current_actor(), as_id(pk) or 0, office_clock())
        except SitthiError as refused:  # another user's run is answered as no run at all
            flash(refused.translated(), "danger")
            return redirect(url_for(".runs"))
        return tables.run_download(run, content)
