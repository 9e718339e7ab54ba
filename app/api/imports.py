"""Imports through the API: start one (the file as base64) and poll its run; read its rejected rows.

The same rules as the Imports screen, in app.services.jobs: Personnel import their own command's
officers, Central IT and Admin officers, units and usage nationwide. The run is queued on the job
queue (app.job_queue) like the screen's upload; runs are read in the row scope of app.security.scope
(one's own runs, and a command's staff the runs written in their command).
"""
from flask import current_app, request
from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect
from flask_babel import gettext
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from app import job_queue, labels
from app.api.base import (
    FORMAT,
    Base64Bytes,
    SitthiApi,
    api_actor,
    export_format,
    json_body,
    known_id,
    operation,
    page_args,
    page_of,
    page_schema,
)
from app.api.contract import UtcDateTime
from app.api.exports import ExportRunSchema, queue_export, written
from app.errors import N_, NotFound
from app.extensions import db
from app.formatting import office_clock
from app.models import ImportReject, JobRun
from app.security.scope import is_visible, scoped
from app.services import exports, jobs
from app.services.imports.report import rejects_table

MSG_NOT_FOUND = N_("No such import, or not one you may see.")


class StartImportSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(jobs.IMPORT_KINDS), metadata={
        "description": "What the file holds: officers (Personnel: of your command), units, usage."})
    filename = fields.String(required=True, validate=validate.Length(min=1, max=255))
    content_base64 = Base64Bytes(required=True, metadata={
        "type": "string", "format": "byte", "description": "The CSV (UTF-8 or TIS-620) or XLSX file, base64-encoded."})


class ImportRunSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(jobs.IMPORT_KINDS)})
    kind_label = fields.String()
    filename = fields.String(allow_none=True)
    state = fields.String(metadata={"enum": list(labels.JOB_STATE)})
    state_label = fields.String()
    finished = fields.Boolean(metadata={"description": "Done or failed: polling can stop."})
    total = fields.Integer()
    processed = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.Integer()
    error = fields.String(allow_none=True, metadata={"description": "Why a failed run failed."})
    created_at = UtcDateTime()
    started_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)


ImportRunPageSchema = page_schema(ImportRunSchema, "ImportRunPageSchema")


def _run(run: JobRun) -> dict:
    return {
        "id": run.id, "kind": run.kind, "kind_label": labels.label_of(labels.IMPORT_KIND, run.kind),
        "filename": run.filename, "state": run.state, "state_label": labels.label_of(labels.JOB_STATE, run.state),
        "finished": run.state in ("done", "failed"), "total": run.total, "processed": run.processed,
        "created": run.created_count, "updated": run.updated_count, "unchanged": run.unchanged_count,
        "rejected": run.rejected_count, "error": jobs.error_text(run), "created_at": run.created_at,
        "started_at": run.started_at, "finished_at": run.finished_at,
    }


class ImportsApi(SitthiApi):
    resource_name = "imports"
    class_permission_name = "Import"
    openapi_spec_tag = "Imports"
    field_names = {"file": "content_base64"}

    def _visible(self, pk: int) -> JobRun:
        if not is_visible(db.session, api_actor(), JobRun, known_id(pk, MSG_NOT_FOUND)):
            raise NotFound(MSG_NOT_FOUND)
        run = db.session.get(JobRun, pk)
        if run.kind not in jobs.IMPORT_KINDS:
            raise NotFound(MSG_NOT_FOUND)
        return run

    @expose("/", methods=["GET"])
    @protect()
    @operation("Import runs", paged=True, response=ImportRunPageSchema, answer="A page of runs, newest first",
               refusals={400: "Bad paging arguments"})
    def runs(self):
        query = scoped(db.session, api_actor(), select(JobRun).where(JobRun.kind.in_(jobs.IMPORT_KINDS)), JobRun)
        return self.response(200, **ImportRunPageSchema().dump(
            page_of(query.order_by(JobRun.id.desc()), page_args(), _run)))

    @expose("/", methods=["POST"])
    @protect()
    @operation("Start an import", body=StartImportSchema, response=ImportRunSchema, status=202,
               answer="The queued run: poll GET /imports/{pk} until `finished`",
               services=[jobs.start_import, jobs.check_import_file], refusals={
                   400: "Not a file an import reads (empty, too large, neither CSV nor XLSX), or a kind "
                        "your role does not import",
                   403: "Your role imports nothing"})
    def start(self):
        args = StartImportSchema().load(json_body())
        jobs.check_import_file(args["content_base64"], current_app.config["IMPORT_MAX_BYTES"])
        run = jobs.start_import(db.session, api_actor(), args["kind"], args["filename"], args["content_base64"],
                                office_clock())
        db.session.commit()
        run_id = run.id
        job_queue.submit(run_id)
        db.session.expire_all()  # an inline runner (tests) has already moved the run on
        return self.response(202, **ImportRunSchema().dump(_run(db.session.get(JobRun, run_id))))

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    @operation("An import run: its progress", response=ImportRunSchema, answer="The run",
               refusals={404: MSG_NOT_FOUND})
    def run(self, pk: int):
        return self.response(200, **ImportRunSchema().dump(_run(self._visible(pk))))

    export_files = {"rejects": "rejects_file"}

    @expose("/<int:pk>/rejects", methods=["POST"])
    @protect()
    @operation("Ask for the rejected rows of a run as a file", response=ExportRunSchema, status=202,
               permission="read", query=(FORMAT,), services=[jobs.start_export, exports.render],
               answer="The queued run: poll GET /export-runs/{pk} until `finished`, then download its file",
               refusals={400: "Not a format Sitthi writes", 404: MSG_NOT_FOUND})
    def rejects(self, pk: int):
        run = self._visible(pk)
        return queue_export(self, "rejects", export_format(), f"{gettext('Rejected rows')} #{run.id}")

    def rejects_file(self, fmt: str, progress) -> jobs.ExportFile:
        """Every rejected row and why, as it was when the run is carried out."""
        run = self._visible(request.view_args["pk"])
        rejects = db.session.scalars(select(ImportReject).where(ImportReject.job_run_id == run.id)
                                     .order_by(ImportReject.line)).all()
        progress(0, len(rejects))
        return written(rejects_table(run, rejects), f"import-{run.id}-rejects", fmt, what="ImportReject",
                       unit_id=run.command_id)
