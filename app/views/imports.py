"""Imports on screen: upload a file, follow its run, read and download the rejected rows.

The upload only stores the file in a queued JobRun and hands it to app.job_queue (RQ, a thread,
or inline in tests), so no server worker waits for the import. Personnel import officers for their
own command only (the run carries the command; rows outside it are refused by the import);
CentralIT and Admin import officers, units and usage nationwide. Runs are read under the row scope
of app.security.scope (one's own runs, and a command's staff the runs written in their command).
"""
from flask import abort, current_app, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import SelectField
from wtforms.validators import ValidationError

from app import job_queue, labels
from app.errors import SitthiError
from app.extensions import db
from app.formatting import office_clock
from app.models import ImportReject, JobRun
from app.security.scope import is_visible, scoped
from app.services import jobs
from app.services.imports.report import reason, rejects_table
from app.views.exporting import export_format, queue_export, written
from app.views.scoping import current_actor

KIND_LABELS, STATE_LABELS = labels.IMPORT_KIND, labels.JOB_STATE
REJECTS_SHOWN = 500  # on the page; the download holds them all


kinds_for = jobs.import_kinds_for


class UploadForm(FlaskForm):
    kind = SelectField(_l("What the file holds"), validate_choice=False)
    file = FileField(_l("File (CSV in UTF-8 or TIS-620, or XLSX)"))

    def validate_kind(self, field):
        if field.data not in dict(field.choices):
            raise ValidationError(gettext("Choose what the file holds."))

    def validate_file(self, field):
        upload = field.data
        if upload is None or not getattr(upload, "filename", ""):
            raise ValidationError(gettext("Choose a file."))
        limit = current_app.config["IMPORT_MAX_BYTES"]
        content = upload.read(limit + 1)
        try:
            jobs.check_import_file(content, limit)
        except SitthiError as refused:
            raise ValidationError(refused.translated()) from None
        self.content = content


class ImportView(BaseView):
    route_base = "/imports"
    default_view = "runs"
    class_permission_name = "Import"
    method_permission_name = {"runs": "read", "run": "read", "progress": "read", "rejects": "read",
                              "new": "write", "upload": "write"}

    @expose("/")
    @has_access
    def runs(self):
        actor = current_actor()
        query = scoped(db.session, actor, select(JobRun).where(JobRun.kind.in_(jobs.IMPORT_KINDS)), JobRun)
        runs = db.session.scalars(query.order_by(JobRun.id.desc()).limit(100)).all()
        return self.render_template("sitthi/import_runs.html", runs=runs, kinds=KIND_LABELS, states=STATE_LABELS,
                                    may_import=bool(kinds_for(actor)) and self._may_write())

    def _may_write(self) -> bool:
        return self.appbuilder.sm.has_access("can_write", self.class_permission_name)

    def _form(self) -> UploadForm:
        form = UploadForm()
        form.kind.choices = [(k, KIND_LABELS[k]) for k in kinds_for(current_actor())]
        return form

    @expose("/new")
    @has_access
    def new(self):
        form = self._form()
        if not form.kind.choices:
            abort(403)
        return self.render_template("sitthi/import_upload.html", form=form)

    @expose("/new", methods=["POST"])
    @has_access
    def upload(self):
        actor = current_actor()
        form = self._form()
        if not form.kind.choices:
            abort(403)
        if not form.validate_on_submit():
            return self.render_template("sitthi/import_upload.html", form=form), 400
        run = jobs.start_import(db.session, actor, form.kind.data, form.file.data.filename, form.content,
                                office_clock())
        db.session.commit()
        run_id = run.id
        job_queue.submit(run_id)
        flash(gettext("The file is queued for import. This page shows its progress."), "info")
        return redirect(url_for(".run", pk=run_id))

    def _run(self, pk: int) -> JobRun:
        if not is_visible(db.session, current_actor(), JobRun, pk):
            abort(404)
        run = db.session.get(JobRun, pk)
        if run.kind not in jobs.IMPORT_KINDS:
            abort(404)
        return run

    @expose("/run/<int:pk>")
    @has_access
    def run(self, pk):
        run = self._run(pk)
        rejects = db.session.scalars(select(ImportReject).where(ImportReject.job_run_id == run.id)
                                     .order_by(ImportReject.line).limit(REJECTS_SHOWN)).all()
        return self.render_template("sitthi/import_run.html", run=run, kinds=KIND_LABELS, states=STATE_LABELS,
                                    rejects=rejects, reason=reason, error=jobs.error_text(run),
                                    shown=REJECTS_SHOWN)

    @expose("/run/<int:pk>/progress")
    @has_access
    def progress(self, pk):
        """What the run page polls while the run is queued or running."""
        run = self._run(pk)
        return jsonify(state=run.state, state_label=str(STATE_LABELS[run.state]), total=run.total,
                       processed=run.processed, created=run.created_count, updated=run.updated_count,
                       unchanged=run.unchanged_count, rejected=run.rejected_count,
                       finished=run.state in ("done", "failed"))

    export_files = {"rejects": "rejects_file"}

    @expose("/run/<int:pk>/rejects", methods=["POST"])
    @has_access
    def rejects(self, pk):
        """Every rejected row, as a file to fix and import again, written by a job."""
        run = self._run(pk)
        return queue_export(self, "rejects", export_format(), f"{gettext('Rejected rows')} #{run.id}")

    def rejects_file(self, fmt: str, progress) -> jobs.ExportFile:
        run = self._run(request.view_args["pk"])
        rejects = db.session.scalars(select(ImportReject).where(ImportReject.job_run_id == run.id)
                                     .order_by(ImportReject.line)).all()
        progress(0, len(rejects))
        return written(rejects_table(run, rejects), f"import-{run.id}-rejects", fmt, what="ImportReject",
                       unit_id=run.command_id)
