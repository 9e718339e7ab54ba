"""Columns of request lists drawn from the whole row: the number as a link, the due date flagged,
the eligibility checks that would stop an approval today."""
from flask import g
from flask_babel import gettext
from markupsafe import Markup, escape

from app.datamodel import CappedCountInterface
from app.errors import translate
from app.extensions import db
from app.formatting import current_language, format_date, local_today
from app.models import AccessRequest
from app.services import eligibility


class RequestRows(CappedCountInterface):
    """Request lists whose "link" and "due" cells are drawn from the whole row."""

    ROW_COLUMNS = ("link", "due")

    def _get_attr_value(self, item, col):
        if col in self.ROW_COLUMNS:
            return item
        return super()._get_attr_value(item, col)


class CheckedRequestRows(RequestRows):
    """A request list that judges its page once: the checks of every row in a few statements."""

    ROW_COLUMNS = ("link", "due", "checks")

    def query(self, *args, **kwargs):
        count, rows = super().query(*args, **kwargs)
        g.request_checks = eligibility.check_requests(db.session, list(rows), local_today())
        return count, rows


def checks_cell(req: AccessRequest) -> Markup:
    """⚠ and the reasons when a check fails today (a bulk approval will skip the request)."""
    checks = g.get("request_checks", {}).get(req.id, [])
    failed = eligibility.at_decision(eligibility.failures(checks))
    if failed:
        reasons = "; ".join(_reason(c) for c in failed)
        return Markup('<span class="label label-danger sitthi-check-fails" title="{r}">⚠ {n}</span>').format(
            r=reasons, n=gettext("fails %(count)s checks", count=len(failed)))
    warned = eligibility.warnings(checks)
    if warned:
        reasons = "; ".join(_reason(c) for c in warned)
        return Markup('<span class="label label-warning sitthi-check-warns" title="{r}">{n}</span>').format(
            r=reasons, n=gettext("%(count)s warnings", count=len(warned)))
    return Markup('<span class="label label-success">{ok}</span>').format(ok=gettext("checks pass"))


def _reason(check) -> str:
    """A check's reason in the reader's words, translated once per page: the rows of an inbox
    repeat the same few reasons (the same source, the same rule) a hundred times."""
    said = g.setdefault("_sitthi_reasons", {})
    try:
        key = (current_language(), check.message, frozenset(check.params.items()))
        return said[key]
    except TypeError:  # a param that cannot be a key: said as it is
        return translate(check.message, check.params)
    except KeyError:
        said[key] = reason = translate(check.message, check.params)
        return reason


def request_link(req: AccessRequest) -> Markup:
    return Markup('<a href="/requests/show/{id}">{number}</a>').format(
        id=req.id, number=escape(req.number or f"#{req.id}"))


def due_cell(req: AccessRequest) -> Markup:
    """The due date; overdue while the request still waits at a stage."""
    if req.due_on is None:
        return Markup("")
    text = escape(format_date(req.due_on))
    waiting = req.state == "submitted" or (req.state == "completed" and req.current_stage_id)
    if waiting and req.due_on < local_today():
        return Markup('<span class="sitthi-overdue" title="{t}">{d} ⚠</span>').format(
            d=text, t=gettext("overdue"))
    return Markup("{d}").format(d=text)


# Sorting a request list by its number link or its due cell sorts by the stored columns.
ORDER_ALIASES = {"link": "number", "due": "due_on"}
