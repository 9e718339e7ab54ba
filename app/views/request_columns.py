"""Columns of request lists drawn from the whole row: the number as a link, the due date flagged."""
from flask_babel import gettext
from markupsafe import Markup, escape

from app.formatting import format_date, local_today
from app.models import AccessRequest
from app.views.base import CappedCountInterface


class RequestRows(CappedCountInterface):
    """Request lists whose "link" and "due" cells are drawn from the whole row."""

    ROW_COLUMNS = ("link", "due")

    def _get_attr_value(self, item, col):
        if col in self.ROW_COLUMNS:
            return item
        return super()._get_attr_value(item, col)


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
