"""The tables a screen and the API both download: one place says which columns each file has.

Each builds an `app.services.exports.Table` in the reader's language; the screen
(app/views/exporting.py) and the API (app/api/base.py) turn it into CSV or XLSX and record the
export in the audit trail.
"""
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app import labels
from app.column_labels import LABELS
from app.errors import translate
from app.extensions import db
from app.formatting import format_date, format_datetime, local_today, localized
from app.models import Grant, ReviewCampaign
from app.security.scope import working_unit_id
from app.services import exports, reviews


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
