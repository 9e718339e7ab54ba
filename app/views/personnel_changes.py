"""Personnel changes: the movers, leavers and flags a command's technology staff must act on.

The rules (app.services.personnel_rules) open the rows; the list shows those of the reader's
command (the row scope), open ones first, each linked to the officer, whose page lists their
grants. "Mark handled" closes the selected rows with a note through
app.services.personnel_changes, which loads them again through the scope: FAB's actions do not.
Personnel and Auditor read the list; CentralIT reads it nationwide.
"""
from flask import flash, g, redirect, request, url_for
from flask_appbuilder.actions import action
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from app.datamodel import CappedCountInterface
from app.errors import SitthiError
from app.extensions import db
from app.formatting import current_language, office_clock
from app.labels import label_of
from app.models import Officer, PersonnelChange, Unit
from app.services import personnel_changes as service
from app.views.base import PERMISSION_BY_METHOD, ReadOnlyModelView, code_column, code_field
from app.views.grant_admin import SERVICE_ONLY
from app.views.labels import LABELS
from app.views.scoping import current_actor

CHANGE_KIND = {
    "joined": _l("Joined"),
    "moved": _l("Moved in from another command"),
    "left": _l("Left the service"),
    "retired_by_date": _l("Retired by age"),
    "rank": _l("Rank below a permission"),
    "position_level": _l("Position level below a permission"),
    "duty_line": _l("Duty line changed"),
}
CHANGE_STATE = {"open": _l("To handle"), "done": _l("Handled")}


class ChangeRows(CappedCountInterface):
    """Lists whose "officer_link" and "what" cells are drawn from the whole row."""

    ROW_COLUMNS = ("officer_link", "what")

    def _get_attr_value(self, item, col):
        if col in self.ROW_COLUMNS:
            return item
        return super()._get_attr_value(item, col)

    def query(self, *args, **kwargs):
        """The page's officers and commands in one statement each, not one per row."""
        count, rows = super().query(*args, **kwargs)
        officers = {row.officer_id for row in rows}
        units = {row.command_id for row in rows if row.command_id is not None}
        # Kept on `g` for the request: the session's identity map holds them only weakly.
        g._sitthi_page_rows = [
            *(db.session.scalars(select(Officer).where(Officer.id.in_(officers))) if officers else ()),
            *(db.session.scalars(select(Unit).where(Unit.id.in_(units))) if units else ()),
        ]
        return count, rows


def officer_cell(change: PersonnelChange) -> Markup:
    """The officer, linked to their record (their grants are listed on it)."""
    return Markup('<a href="{url}">{name}</a>').format(
        url=url_for("OfficerView.show", pk=change.officer_id), name=str(change.officer))


def _names(entries) -> str:
    english = current_language() == "en"
    return ", ".join(entry.get("name_en" if english else "name_th") or "" for entry in entries or [])


def what_cell(change: PersonnelChange) -> Markup:
    """What changed, from what the rules stored on the row (no query per row)."""
    after = change.after or {}
    before = change.before or {}
    english = current_language() == "en"

    def unit(value) -> str:
        return (value or {}).get("en" if english else "th") or "-"

    if change.kind == "moved":
        text = gettext("From %(old)s to %(new)s; suspended: %(grants)s", old=unit(before.get("command")),
                       new=unit(after.get("command")), grants=_names(after.get("grants")) or "-")
    elif change.kind in ("left", "retired_by_date"):
        text = gettext("%(reason)s; ended: %(grants)s", reason=after.get("reason") or "-",
                       grants=_names(after.get("grants")) or "-")
        if after.get("login_closed"):
            text += "; " + gettext("login deactivated")
    elif change.kind == "rank":
        text = gettext("Rank now %(rank)s; permissions above it: %(grants)s", rank=after.get("rank") or "-",
                       grants=_names(after.get("grants")) or "-")
    elif change.kind == "position_level":
        text = gettext("Position level now %(level)s; permissions that need more: %(grants)s",
                       level=after.get("position_level") or "-", grants=_names(after.get("grants")) or "-")
    else:
        text = label_of(CHANGE_KIND, change.kind)
    return Markup("{text}").format(text=text)


class PersonnelChangeView(ReadOnlyModelView):
    entity = _l("Personnel change")
    entities = _l("Personnel changes")
    datamodel = ChangeRows(PersonnelChange, db.session)
    class_permission_name = "PersonnelChange"
    # Write is for "mark handled" only: the rules open the rows.
    base_permissions = ["can_read", "can_write"]
    exclude_route_methods = {"download", "action"}
    method_permission_name = {**PERMISSION_BY_METHOD, **SERVICE_ONLY, "mark_handled": "write"}
    label_columns = {**LABELS, "officer_link": _l("Officer"), "what": _l("What changed"),
                     "detected_at": _l("Found"), "command": _l("Command"), "handled_at": _l("Handled at"),
                     "job_run_id": _l("Run")}
    list_columns = ["detected_at", "officer_link", "kind", "what", "command", "state", "note"]
    show_columns = ["officer_link", "kind", "what", "command", "detected_at", "state", "handled_at",
                    "note", "job_run_id"]
    order_columns = ["detected_at", "kind", "state"]
    search_columns = ["kind", "state", "detected_at"]
    formatters_columns = {"kind": code_column(CHANGE_KIND), "state": code_column(CHANGE_STATE),
                          "officer_link": officer_cell, "what": what_cell}
    search_form_extra_fields = {"kind": code_field(LABELS["kind"], CHANGE_KIND),
                                "state": code_field(LABELS["state"], CHANGE_STATE)}
    # "open" sorts after "done": descending puts the work still to do first.
    base_order = ("state", "desc")
    list_template = "sitthi/personnel_change_list.html"

    @action("mark_handled", _l("Mark handled (with the note above)"),
            _l("Mark every selected change handled?"), "fa-check", single=False)
    def mark_handled(self, _items):
        try:
            result = service.mark_handled(db.session, current_actor(), request.form.getlist("rowid"),
                                          request.form.get("note", ""), office_clock())
            db.session.commit()
        except SitthiError as error:
            db.session.rollback()
            flash(error.translated(), "danger")
        else:
            if result.handled:
                flash(gettext("Marked handled: %(num)s", num=len(result.handled)), "success")
            for pk, error in result.refused:
                flash(f"#{pk}: {error.translated()}", "danger")
        return redirect(url_for(".list"))

    def render_template(self, template, **kwargs):
        kwargs.setdefault("can_handle", self.appbuilder.sm.has_access("can_write", self.class_permission_name))
        return super().render_template(template, **kwargs)
