"""The files a screen and the API both write: which columns each has, and how one leaves.

Each table is an `app.services.exports.Table` in the reader's language; `written` writes it as
CSV or XLSX for an export run of the screens (app/views/exporting.py) and the API
(app/api/exports.py) alike, after recording the export in the audit trail; `run_download` hands
the run's file to the user who asked.
"""
from urllib.parse import quote

from flask import Response
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app import labels
from app.column_labels import LABELS
from app.errors import translate
from app.extensions import db
from app.formatting import format_date, format_datetime, local_today, localized
from app.models import Grant, ReviewCampaign
from app.read_trail import note_read
from app.security.scope import Actor, working_unit_id
from app.services import exports, reviews
from app.services.jobs import ExportFile


def written(table: exports.Table, name: str, fmt: str, *, actor: Actor, what: str,
            unit_id: int | None = None) -> ExportFile:
    """The table as a file named `name-<date>.<ext>`, after auditing the export as a read: every
    export is a read of personal data (OIA B.E. 2540, PDPA), recorded with who, what and how many rows."""
    content, mimetype, extension = exports.render(table, fmt)
    note_read(actor, "export", officer_ids=table.officer_ids, object_type=what, unit_id=unit_id,
              summary=f"{table.title}: {len(table.rows)} rows ({extension})")
    return ExportFile(content=content, name=f"{name}-{local_today().isoformat()}.{extension}", mimetype=mimetype,
                      rows=len(table.rows))


def run_download(run, content: bytes) -> Response:
    """An export run's file as the answer: a printed report opens in the browser, a table downloads."""
    mimetype = run.output_type or "application/octet-stream"
    disposition = "inline" if mimetype == "application/pdf" else "attachment"
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f"{disposition}; filename*=UTF-8''" + quote(run.output_name or f"export-{run.id}", safe=""),
        "X-Content-Type-Options": "nosniff",
    })


def officer_unit(grant: Grant) -> str:
    """Where the grant's holder works now: the acting unit while an assignment lasts."""
    officer = grant.officer
    unit = officer.acting_unit if officer.acting_unit_id == working_unit_id(officer) else officer.home_unit
    return str(unit or "")


def _home_unit(grant: Grant) -> str:
    return localized(grant.officer.home_unit)


# Who has what, as a file: the columns every grant list exports.
GRANT_EXPORT = [
    (LABELS["officer"], lambda g: str(g.officer)),
    (LABELS["national_id"], lambda g: g.officer.national_id),
    (LABELS["unit"], _home_unit),
    (LABELS["data_source"], lambda g: localized(g.data_source)),
    (LABELS["function"], lambda g: localized(g.function)),
    (LABELS["rank_group"], lambda g: localized(g.rank_group)),
    (LABELS["state"], lambda g: labels.label_of(labels.GRANT_STATE, g.state)),
    (LABELS["valid_from"], lambda g: g.valid_from),
    (LABELS["valid_until"], lambda g: g.valid_until),
    (_l("Administering command"), lambda g: localized(g.command)),
    (LABELS["reason"], lambda g: g.reason),
]


def grant_table(title: str, grants) -> exports.Table:
    return exports.Table(title=title, headers=[str(heading) for heading, _ in GRANT_EXPORT],
                         rows=[[value(grant) for _, value in GRANT_EXPORT] for grant in grants],
                         officer_ids={grant.officer_id for grant in grants})


def review_results(campaign: ReviewCampaign) -> exports.Table:
    """A rights review's results, item by item."""
    items = reviews.results(db.session, campaign.id)
    flags = reviews.audit_flags(db.session, [item.grant_id for item in items], local_today())
    names = reviews.reviewer_names(db.session, [item.reviewer_id for item in items])
    headers = [str(h) for h in (
        _l("Officer"), _l("National ID"), _l("Position"), _l("Unit"), _l("Function or data source"),
        _l("Rank group"), _l("Permission state"), _l("Valid until"), _l("Rights-audit flags"),
        _l("Outcome"), _l("Comment"), _l("Reviewer"), _l("Decided"), _l("Signed off"), _l("Took effect"))]
    rows = []
    for item in items:
        grant, officer = item.grant, item.officer
        rows.append([
            str(officer), officer.national_id_masked, officer.position_title, officer_unit(grant),
            localized(grant.function or grant.data_source), localized(grant.rank_group),
            labels.label_of(labels.GRANT_STATE, grant.state), format_date(grant.valid_until),
            ", ".join(translate(f.message, f.values) for f in flags.get(item.grant_id, ())),
            labels.label_of(labels.REVIEW_OUTCOME, item.outcome), item.comment,
            names.get(item.reviewer_id, ""), format_datetime(item.decided_at),
            format_datetime(item.signed_off_at), format_datetime(item.applied_at),
        ])
    return exports.Table(title=f"{gettext('Rights review')} {campaign.name}", headers=headers, rows=rows,
                         officer_ids={item.officer.id for item in items})
