"""Files through the API: the same files the screens' Export buttons write (CSV or XLSX), each
written by a job.

Asking for one (POST) answers 202 with the queued run; poll GET /export-runs/{pk} until it is
`finished`, then GET /export-runs/{pk}/file. The file is read in the reader's row scope with the
permission of the list it comes from, checked again when the run is carried out, and recorded in
the audit trail as an export (who, what, how many rows) when it is written; only the user who
asked reads the run and downloads its file. A rights review's results and an import's rejected
rows are asked for from their own resources (/review-campaigns/{pk}/export, /imports/{pk}/rejects).
"""
from flask import url_for
from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect
from flask_babel import gettext
from marshmallow import Schema, fields
from sqlalchemy import func, select

from app import job_queue, labels, tables
from app.api.base import (
    FORMAT,
    SitthiApi,
    api_actor,
    export_format,
    known_id,
    operation,
    page_args,
    page_of,
    page_schema,
)
from app.api.contract import UtcDateTime
from app.errors import N_, ValidationFailed
from app.export_runs import asked_here
from app.extensions import db
from app.formatting import office_clock
from app.models import Grant, JobRun
from app.security.scope import scoped
from app.services import exports, jobs
from app.tables import grant_table

# Beyond this a list is not read by a person (the screens' limit too).
EXPORT_LIMIT = 50_000
MSG_TOO_MANY = N_("More than %(limit)s rows: narrow the list with its filters, then export again.")


class ExportRunSchema(Schema):
    id = fields.Integer()
    what = fields.String(allow_none=True, metadata={"description": "What the file holds, in the reader's words."})
    state = fields.String(metadata={"enum": list(labels.JOB_STATE)})
    state_label = fields.String()
    finished = fields.Boolean(metadata={"description": "Done or failed: polling can stop."})
    total = fields.Integer()
    processed = fields.Integer()
    file_name = fields.String(allow_none=True)
    file_url = fields.String(allow_none=True, metadata={
        "description": "Where the file is downloaded, once done and until it is emptied a day after it was asked."})
    error = fields.String(allow_none=True, metadata={"description": "Why a failed run failed."})
    created_at = UtcDateTime()
    finished_at = UtcDateTime(allow_none=True)


ExportRunPageSchema = page_schema(ExportRunSchema, "ExportRunPageSchema")


def run_answer(run: JobRun) -> dict:
    done = run.state == "done" and jobs.kept(run, office_clock())
    return {
        "id": run.id, "what": run.filename, "state": run.state,
        "state_label": labels.label_of(labels.JOB_STATE, run.state), "finished": run.state in ("done", "failed"),
        "total": run.total, "processed": run.processed, "file_name": run.output_name if done else None,
        "file_url": url_for("ExportRunsApi.file", pk=run.id) if done else None,
        "error": jobs.error_text(run), "created_at": run.created_at, "finished_at": run.finished_at,
    }


def queue_export(api: SitthiApi, endpoint: str, fmt: str, title: str):
    """Queue the file `api.export_files[endpoint]` writes, as asked at this address: 202 and the run.
    The caller has refused what could be refused at once."""
    actor = api_actor()
    run = jobs.start_export(db.session, actor, title, asked_here(api, endpoint, fmt), office_clock())
    db.session.commit()
    run_id = run.id
    job_queue.submit(run_id)
    db.session.expire_all()  # an inline runner (tests) has already moved the run on
    return api.response(202, **ExportRunSchema().dump(run_answer(db.session.get(JobRun, run_id))))


def written(table: exports.Table, name: str, fmt: str, *, what: str, unit_id: int | None = None) -> jobs.ExportFile:
    """The run's file, after auditing the export as a read (as the screens' files are)."""
    return tables.written(table, name, fmt, actor=api_actor(), what=what, unit_id=unit_id)


class ExportsApi(SitthiApi):
    resource_name = "exports"
    class_permission_name = "CommandGrant"
    openapi_spec_tag = "Exports"
    export_files = {"command_grants": "command_grants_file"}

    def _scoped_grants(self):
        return scoped(db.session, api_actor(), select(Grant), Grant)

    @expose("/command-grants", methods=["POST"])
    @protect()
    @operation("Ask for the command's permissions as a file", response=ExportRunSchema, status=202,
               permission="read", query=(FORMAT,),
               services=[jobs.start_export, exports.render],
               answer="The queued run: poll GET /export-runs/{pk} until `finished`, then download its file",
               refusals={400: "Not a format Sitthi writes, or more rows than a file holds"})
    def command_grants(self):
        fmt = export_format()
        self._within_limit()
        return queue_export(self, "command_grants", fmt, gettext("Command permissions"))

    def _within_limit(self) -> None:
        counted = select(func.count()).select_from(
            self._scoped_grants().with_only_columns(Grant.id).limit(EXPORT_LIMIT + 1).subquery())
        if db.session.scalar(counted) > EXPORT_LIMIT:
            raise ValidationFailed(MSG_TOO_MANY, limit=f"{EXPORT_LIMIT:,}")

    def command_grants_file(self, fmt: str, progress) -> jobs.ExportFile:
        """Who holds what in the reader's scope, as it is when the run is carried out."""
        self._within_limit()
        grants = db.session.scalars(self._scoped_grants().order_by(Grant.id.desc())).all()
        progress(len(grants), len(grants))
        return written(grant_table(gettext("Command permissions"), grants), "command-permissions", fmt,
                       what=self.class_permission_name, unit_id=api_actor().command_id)


class ExportRunsApi(SitthiApi):
    resource_name = "export-runs"
    class_permission_name = "MyExport"
    openapi_spec_tag = "Exports"

    @staticmethod
    def _run(pk: int) -> JobRun:
        return jobs.export_run(db.session, api_actor(), known_id(pk, jobs.MSG_NO_EXPORT))

    @expose("/", methods=["GET"])
    @protect()
    @operation("The files you asked for", paged=True, response=ExportRunPageSchema,
               answer="A page of your export runs, newest first", refusals={400: "Bad paging arguments"})
    def runs(self):
        return self.response(200, **ExportRunPageSchema().dump(
            page_of(jobs.exports_of(api_actor()).order_by(JobRun.id.desc()), page_args(), run_answer)))

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    @operation("An export run: its progress", response=ExportRunSchema, answer="The run",
               refusals={404: jobs.MSG_NO_EXPORT})
    def run(self, pk: int):
        return self.response(200, **ExportRunSchema().dump(run_answer(self._run(pk))))

    @expose("/<int:pk>/file", methods=["GET"])
    @protect()
    @operation("The file an export run wrote", download=True, download_format=False, services=[jobs.export_output],
               answer="The file, for the user who asked for it",
               refusals={404: "No such export, not one you asked for, not finished, or emptied a day after it "
                              "was asked"})
    def file(self, pk: int):
        run, content = jobs.export_output(db.session, api_actor(), known_id(pk, jobs.MSG_NO_EXPORT), office_clock())
        return tables.run_download(run, content)
