"""`/rightsaudit/`: the rights audit of one command, on screen, as CSV/XLSX and as a printed report.

A CommandTech audits their own command and may revoke a flagged grant from the page (the grant
service checks the command again); CentralIT, Auditor and Admin choose any command and only read.
Any other command's id in the address is refused, not quietly replaced, so a crafted link shows
nothing of a command its reader may not audit.
"""
from typing import NamedTuple

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from markupsafe import Markup, escape
from sqlalchemy import select

from app import labels
from app.domain.inputs import TEXT_LIMIT, as_id
from app.errors import N_, SitthiError, ValidationFailed, translate
from app.extensions import cache, db
from app.formatting import current_language, format_date, local_today, localized, office_clock
from app.input_guard import form_ids, form_text
from app.models import Unit
from app.read_trail import note_read
from app.security.scope import is_nationwide
from app.services import exports, grants, jobs, linkage, rights_audit, table_report
from app.shared_figures import family, read
from app.views.exporting import export_format, queue_export, written
from app.views.scoping import current_actor

PAGE_SIZE = 25
# Rows a printed report may hold. The PDF lays out Thai text at about 10 ms a row: a large
# command's whole audit (31,000 rows at national scale) held a web worker for 7.6 minutes. A
# paper for a letter lists one finding at a time; the whole audit is an XLSX export.
REPORT_ROW_LIMIT = 500
MSG_REPORT_TOO_LONG = N_("The report would hold more than %(limit)s rows, too many to print: choose one finding "
                         "to print its rows, or export the whole audit as XLSX.")
SEARCH_LIMIT = 100  # what a person types into a search box
TEMPLATE = "sitthi/rights_audit.html"


def flag_text(flag: rights_audit.Flag) -> str:
    """The flag in the reader's words; a page draws hundreds of flags, most alike, so each
    different one is worded once per request."""
    known = g.setdefault("_sitthi_flag_texts", {})
    key = (flag, tuple(getattr(value, "english", None) for _name, value in flag.params))
    text = known.get(key)
    if text is None:
        text = known[key] = translate(flag.message, flag.values)
    return text


def flag_name(code: str) -> str:
    return translate(rights_audit.FLAG_NAMES[code])


def target_text(grant) -> str:
    target = grant.function or grant.data_source
    text = localized(target) if target else "-"
    if grant.rank_group is not None:
        text += f" ({localized(grant.rank_group)})"
    return text


def officer_text(officer) -> str:
    return f"{localized(officer.rank, 'abbr')} {officer.first_name_th} {officer.last_name_th}" if officer.rank \
        else f"{officer.first_name_th} {officer.last_name_th}"


class GrantLine(NamedTuple):
    """One live grant as the audit's table shows it."""

    id: int
    target: str
    state: str
    valid_until: str
    order_number: str | None
    order_issued: str
    flags: list[tuple[str, str]]  # (code, text)


class OfficerLine(NamedTuple):
    """One listed officer as the audit's table shows them, with their grants' lines."""

    id: int
    text: str
    position: str
    unit: str
    acting_unit: str
    status: str
    grants: list[GrantLine]


def screen_lines(officers: list[rights_audit.AuditedOfficer]) -> list[OfficerLine]:
    """The page's officers and grants worked into text once, in Python: a page draws a few
    hundred grants, and each call made from the template cost several times the work it did.
    Its grants name a few sources, states and days many times over: each is worded once."""
    worded: dict[tuple, str] = {}
    return [OfficerLine(
        id=entry.officer.id, text=officer_text(entry.officer), position=entry.officer.position_title or "",
        unit=localized(entry.officer.home_unit), acting_unit=localized(entry.officer.acting_unit),
        status=labels.label_of(labels.OFFICER_STATUS, entry.officer.status),
        grants=[_grant_line(audited, worded) for audited in entry.grants]) for entry in officers]


def _grant_line(audited: rights_audit.AuditedGrant, worded: dict[tuple, str]) -> GrantLine:
    grant, order = audited.grant, audited.grant.duty_order
    return GrantLine(
        id=grant.id,
        target=_once(worded, ("target", grant.function_id, grant.data_source_id, grant.rank_group_id),
                     target_text, grant),
        state=_once(worded, ("state", grant.state), labels.label_of, labels.GRANT_STATE, grant.state),
        valid_until=_once(worded, ("day", grant.valid_until), format_date, grant.valid_until)
        if grant.valid_until else "-",
        order_number=order.number if order is not None else None,
        order_issued=format_date(order.issued_on) if order is not None else "",
        flags=[(flag.code, flag_text(flag)) for flag in audited.flags])


def _once(worded: dict[tuple, str], key: tuple, word, *args) -> str:
    text = worded.get(key)
    if text is None:
        text = worded[key] = word(*args)
    return text


def table_rows(lines: list[OfficerLine], can_revoke: bool) -> Markup:
    """The audit table's body, written in Python: Jinja's loop over a page's few hundred grants
    cost more than the rest of the page's template."""
    if not lines:
        return Markup('<tr><td colspan="9" class="text-muted">{}</td></tr>').format(gettext("Nobody to list."))
    revoke_label, acting_at = escape(gettext("Revoke")), escape(gettext("Acting at"))
    no_permission = escape(gettext("A login without any permission"))
    out: list[str] = []
    for entry in lines:
        rows = entry.grants or [None]
        officer_cells = (
            f'<td rowspan="{len(rows)}">{escape(entry.text)}<br><small class="text-muted">{escape(entry.position)}'
            f'</small></td><td rowspan="{len(rows)}">{escape(entry.unit)}'
            + (f"<br><small>{acting_at} {escape(entry.acting_unit)}</small>" if entry.acting_unit else "")
            + f'</td><td rowspan="{len(rows)}">{escape(entry.status)}</td>')
        for position, line in enumerate(rows):
            flagged = bool(line and line.flags)
            out.append(f'<tr data-officer="{entry.id}"' + (f' data-grant="{line.id}"' if line else "")
                       + f' class="{"warning" if flagged else ""}">')
            if can_revoke:
                box = (f'<input type="checkbox" name="grant" value="{line.id}" aria-label="{revoke_label}">'
                       if flagged else "")
                out.append(f"<td>{box}</td>")
            if position == 0:
                out.append(officer_cells)
            if line is None:
                out.append(f'<td colspan="5" class="text-muted">{no_permission}</td>')
            else:
                order = (f"{escape(line.order_number)} <small>({escape(line.order_issued)})</small>"
                         if line.order_number is not None else "")
                flags = "".join(f'<span class="label label-warning sitthi-flag" data-flag="{escape(code)}">'
                                f"{escape(text)}</span> " for code, text in line.flags)
                out.append(f"<td>{escape(line.target)}</td><td>{escape(line.state)}</td>"
                           f"<td>{escape(line.valid_until)}</td><td>{order}</td><td>{flags}</td>")
            out.append("</tr>")
    return Markup("".join(out))


class RightsAuditView(BaseView):
    route_base = "/rightsaudit"
    default_view = "index"
    class_permission_name = "RightsAudit"
    method_permission_name = {"index": "read", "export": "read", "report": "read", "revoke": "write"}

    # -- which command, which flag ------------------------------------------------------------
    def _command_id(self) -> int | None:
        """The command audited: the CommandTech's own; for nationwide readers, the one chosen."""
        actor = current_actor()
        raw = request.args.get("command") or request.form.get("command")
        chosen = None
        if raw:
            chosen = as_id(raw)
            if chosen is None:
                abort(404)
        if is_nationwide(actor):
            if chosen is not None and db.session.scalar(
                    select(Unit.id).where(Unit.id == chosen, Unit.is_admin_scope.is_(True))) is None:
                abort(404)
            return chosen
        if actor.command_id is None or (chosen is not None and chosen != actor.command_id):
            abort(403)
        return actor.command_id

    def _flag(self) -> str | None:
        flag = request.args.get("flag") or None
        if flag is not None and flag not in rights_audit.FLAGS:
            abort(404)
        return flag

    @staticmethod
    def _officer_term() -> str | None:
        """What was typed into the audit's search box: a whole national ID or names."""
        return (request.args.get("q") or "").strip()[:SEARCH_LIMIT] or None

    @staticmethod
    def _unused_days() -> int:
        return current_app.config.get("RIGHTS_AUDIT_UNUSED_DAYS", rights_audit.UNUSED_DAYS)

    def _audit(self, command_id: int, flag: str | None, **page) -> rights_audit.CommandAudit:
        """The audit of the command; `offset`/`limit` for one page, every officer without. Exports
        and the printed report come here: they are always worked out at the moment they are asked."""
        return rights_audit.command_audit(db.session, command_id, local_today(), flag=flag,
                                          officer_term=self._officer_term(), unused_days=self._unused_days(),
                                          **page)

    def _shared_listing(self, command_id: int, flag: str | None):
        """(the listing, when it was worked out) for the screen: shared by every reader of the
        command and renewed after RIGHTS_AUDIT_CACHE_SECONDS without a reader waiting
        (app.shared_figures), as judging all of a command's grants takes a quarter of a second at
        national scale and a reader pages through the officers. A revocation from this page starts
        a new listing at once, worked out for the revoker; the
        page's own officers are always judged as they are now. (None, None) when not shared: a
        search, or the setting at 0."""
        seconds = current_app.config.get("RIGHTS_AUDIT_CACHE_SECONDS", 0)
        if seconds <= 0 or self._officer_term() is not None:
            return None, None
        return read("rights-audit", command_id, flag)

    def _commands(self):
        return list(db.session.scalars(select(Unit).where(Unit.is_admin_scope.is_(True)).order_by(Unit.code)))

    # -- the screen -----------------------------------------------------------------------------
    @expose("/")
    @has_access
    def index(self):
        command_id = self._command_id()
        flag = self._flag()
        if command_id is None:
            return self.render_template(TEMPLATE, audit=None, commands=self._commands(), flag=None,
                                        flag_names=rights_audit.FLAG_NAMES, flag_name=flag_name,
                                        **self._linkage_findings())
        page = max(0, min(as_id(request.args.get("page", "1")) or 1, 100_000) - 1)
        listing, counted_at = self._shared_listing(command_id, flag)
        can_revoke = self.appbuilder.sm.has_access("can_write", self.class_permission_name)
        result = self._audit(command_id, flag, offset=page * PAGE_SIZE, limit=PAGE_SIZE, listing=listing)
        pages = max(1, -(-result.listed_count // PAGE_SIZE))
        return self.render_template(
            TEMPLATE, audit=result, rows=table_rows(screen_lines(result.officers), can_revoke), page=page + 1,
            pages=pages, flag=flag,
            q=self._officer_term(), counted_at=counted_at,
            shared_seconds=current_app.config.get("RIGHTS_AUDIT_CACHE_SECONDS", 0),
            commands=self._commands() if is_nationwide(current_actor()) else [],
            flag_names=rights_audit.FLAG_NAMES, flag_name=flag_name, flag_text=flag_text,
            can_revoke=can_revoke,
            text_limit=TEXT_LIMIT, **self._linkage_findings(),
        )

    def _linkage_findings(self) -> dict:
        """For the nationwide readers only: agencies with an agreement in force and no super user
        (Linkage Center rule). None for a command's own staff: it is not their command's finding."""
        if not is_nationwide(current_actor()):
            return {"linkage_gaps": None}
        return {"linkage_gaps": linkage.agencies_without_super_user(db.session, local_today()),
                "can_keep_super_users": self.appbuilder.sm.has_access("can_read", "AgencySuperUser")}

    # -- take it away -------------------------------------------------------------------------
    def _table(self, result: rights_audit.CommandAudit) -> exports.Table:
        headers = [gettext("Officer"), gettext("National ID"), gettext("Position"), gettext("Unit"),
                   gettext("Personnel status"), gettext("Function or data source"), gettext("Permission state"),
                   gettext("Valid until"), gettext("Duty order"), gettext("Flags")]
        rows = []
        for entry in result.officers:
            officer = entry.officer
            person = [officer_text(officer), officer.national_id, officer.position_title or "",
                      localized(officer.home_unit), labels.label_of(labels.OFFICER_STATUS, officer.status)]
            if not entry.grants:
                rows.append(person + ["", "", "", "", ""])
            for audited in entry.grants:
                grant = audited.grant
                rows.append(person + [
                    target_text(grant), labels.label_of(labels.GRANT_STATE, grant.state),
                    grant.valid_until, _order_text(grant), "; ".join(flag_text(f) for f in audited.flags)])
        title = f"{gettext('Rights audit')} {localized(result.command)}"
        return exports.Table(title=title, headers=headers, rows=rows,
                             officer_ids={entry.officer.id for entry in result.officers})

    export_files = {"export": "export_file", "report": "report_file"}

    def _audited_command(self) -> int:
        command_id = self._command_id()
        if command_id is None:
            abort(404)
        return command_id

    def _title(self, what: str, command_id: int) -> str:
        command = db.session.get(Unit, command_id)
        flag = self._flag()
        return f"{what} {localized(command)}" + (f" ({flag_name(flag)})" if flag else "")

    @expose("/export/", methods=["POST"])
    @has_access
    def export(self):
        fmt = export_format()
        command_id = self._audited_command()
        return queue_export(self, "export", fmt, self._title(gettext("Rights audit"), command_id))

    def export_file(self, fmt: str, progress) -> jobs.ExportFile:
        """The run's file: the whole audit (or one finding's), worked out when the run is carried out."""
        command_id = self._audited_command()
        result = self._audit(command_id, self._flag())
        progress(0, len(result.officers))
        return written(self._table(result), "rights-audit", fmt, what="RightsAudit", unit_id=command_id)

    @expose("/report/", methods=["POST"])
    @has_access
    def report(self):
        """The audit as a แบบรายงาน PDF, every officer and flag, with counts and a signature block."""
        command_id = self._audited_command()
        flag = self._flag()
        # Every listed officer is a row at least: a shared listing tells at once when too many.
        listing, _counted_at = self._shared_listing(command_id, flag)
        if listing is not None and len(listing.officer_ids) > REPORT_ROW_LIMIT:
            flash(translate(MSG_REPORT_TOO_LONG, {"limit": f"{REPORT_ROW_LIMIT:,}"}), "danger")
            return redirect(url_for(".index", command=command_id if request.args.get("command") else None, flag=flag,
                                    q=self._officer_term()))
        return queue_export(self, "report", "pdf", self._title(gettext("Rights audit report"), command_id))

    def report_file(self, _fmt: str, progress) -> jobs.ExportFile:
        """The run's printed report; refused when it would hold more than REPORT_ROW_LIMIT rows."""
        command_id = self._audited_command()
        result = self._audit(command_id, self._flag())
        table = self._table(result)
        if len(table.rows) > REPORT_ROW_LIMIT:
            raise ValidationFailed(MSG_REPORT_TOO_LONG, limit=f"{REPORT_ROW_LIMIT:,}")
        progress(0, len(table.rows))
        today = local_today()
        summary = [(gettext("Users listed"), f"{result.officer_count:,}"),
                   (gettext("Live permissions"), f"{result.grant_count:,}"),
                   (gettext("Permissions with a flag"), f"{result.flagged_grant_count:,}")]
        summary += [(flag_name(code), f"{count:,}") for code, count in sorted(result.counts.items())]
        drop = {1}  # the national ID stays off paper that leaves the office
        document = table_report.TableReport(
            title=gettext("Rights audit report"),
            heading=[localized(result.command), gettext("As of %(date)s", date=format_date(today, "long"))],
            summary=summary,
            headers=[h for i, h in enumerate(table.headers) if i not in drop],
            widths=[14, 12, 12, 7, 16, 7, 8, 10, 20],
            rows=[[_cell(c) for i, c in enumerate(row) if i not in drop] for row in table.rows],
            certification=gettext("I certify that this report lists every user of the command and every permission they hold on the date above, with the findings of the rights audit."),
            signature=[gettext("(signed) ........................................"),
                       "(........................................)",
                       gettext("Position ........................................")],
            empty=gettext("No users"),
        )
        content = table_report.render_report(document, today, current_language())
        note_read(current_actor(), "export", officer_ids=table.officer_ids, object_type="RightsAudit",
                  unit_id=command_id, summary=f"{table.title}: {len(table.rows)} rows (pdf)")
        return jobs.ExportFile(content=content, name=f"rights-audit-{result.command.code}-{today.isoformat()}.pdf",
                               mimetype="application/pdf", rows=len(table.rows))

    # -- act on a finding ---------------------------------------------------------------------
    @expose("/revoke/", methods=["POST"])
    @has_access
    def revoke(self):
        command_id = self._command_id()
        if command_id is None:
            abort(404)
        back = url_for(".index", command=command_id, flag=self._flag(), q=self._officer_term())
        grant_ids = form_ids("grant")
        reason = form_text("reason", TEXT_LIMIT, gettext("Reason")).strip()
        if not grant_ids:
            flash(gettext("Tick the permissions to revoke."), "danger")
            return redirect(back)
        if not reason:
            flash(gettext("Give the reason for revoking."), "danger")
            return redirect(back)
        actor, done = current_actor(), 0
        for grant_id in grant_ids:
            try:
                grants.revoke(db.session, actor, grant_id, reason, office_clock())
                db.session.commit()
                done += 1
            except SitthiError as error:
                db.session.rollback()
                flash(f"#{grant_id}: {error.translated()}", "danger")
        if done:
            _new_generation(command_id)  # the counts and the order change: no reader keeps the old ones
            flash(gettext("Revoked: %(num)s", num=done), "success")
        return redirect(back)


@family("rights-audit")
def shared_listing(command_id: int, flag: str | None):
    """A command's listing for the screen, for today, as app.shared_figures keeps it."""
    today, unused_days = local_today(), RightsAuditView._unused_days()
    key = f"rights-audit:{command_id}:{flag or ''}:{today.isoformat()}:{_generation(command_id)}"
    return key, current_app.config.get("RIGHTS_AUDIT_CACHE_SECONDS", 0), lambda _at: rights_audit.command_listing(
        db.session, command_id, today, flag=flag, unused_days=unused_days)


def _generation(command_id: int) -> int:
    return cache.get(f"rights-audit-generation:{command_id}") or 0


def _new_generation(command_id: int) -> None:
    cache.set(f"rights-audit-generation:{command_id}", _generation(command_id) + 1, timeout=0)


def _order_text(grant) -> str:
    order = grant.duty_order
    if order is None:
        return ""
    return f"{order.number} ({format_date(order.issued_on)}, {localized(order.unit)})"


def _cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "year"):
        return format_date(value)
    return str(value)

