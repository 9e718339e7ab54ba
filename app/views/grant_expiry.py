"""Permissions over time on screen: days left, the one-click Renew, and "Expiring soon".

The Renew button posts to GrantRenewalView, which hands the grant to app.services.renewal and
opens the prepared draft on the request form; who may renew what is decided in that service.
"""
from datetime import timedelta

from flask import current_app, flash, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from app import labels
from app.datamodel import CappedCountInterface
from app.errors import SitthiError
from app.extensions import db
from app.formatting import local_today, office_clock
from app.models import Grant
from app.services import renewal
from app.views import loads
from app.views.base import ReadOnlyModelView, code_column
from app.views.labels import LABELS
from app.views.scoping import current_actor

GRANT_TIME_LABELS = {**LABELS, "days_left": _l("Days left"), "renew": _l("Renew"), "certificate": _l("Certificate"),
                     "reminded_on": _l("Reminded on"), "command": _l("Administering command")}


class DaysLeftRows(CappedCountInterface):
    """Grant lists whose "days_left", "renew" and "certificate" cells are drawn from the whole row."""

    ROW_COLUMNS = ("days_left", "renew", "certificate")

    def _get_attr_value(self, item, col):
        if col in self.ROW_COLUMNS:
            return item
        return super()._get_attr_value(item, col)


def days_left_cell(grant: Grant) -> Markup:
    """Days until the end of validity for a live grant; an ended one says so, in red."""
    if grant.valid_until is None or grant.state not in ("active", "expired"):
        return Markup("")
    days = (grant.valid_until - local_today()).days
    if grant.state == "expired" or days < 0:
        ago = -days if days < 0 else 0
        text = ngettext("expired %(num)s day ago", "expired %(num)s days ago", ago) if ago else gettext("expired")
        return Markup('<span class="sitthi-days-left sitthi-expired" data-days="{n}">{t}</span>').format(
            n=days, t=text)
    text = gettext("last day today") if days == 0 else ngettext("%(num)s day", "%(num)s days", days)
    css = "sitthi-expiring" if days <= current_app.config.get("EXPIRY_REMINDER_DAYS", 30) else "text-muted"
    return Markup('<span class="sitthi-days-left {css}" data-days="{n}">{t}</span>').format(
        css=css, n=days, t=text)


def renew_cell(grant: Grant) -> Markup:
    """A Renew button (a POST with the CSRF token) for a grant that may be renewed."""
    if not renewal.renewable(grant, local_today(), current_app.config["EXPIRY_REMINDER_DAYS"]):
        return Markup("")
    return Markup(
        '<form method="post" action="{url}" class="sitthi-renew">'
        '<input type="hidden" name="csrf_token" value="{token}">'
        '<button type="submit" class="btn btn-xs btn-primary"><i class="fa fa-refresh"></i> {label}</button>'
        "</form>"
    ).format(url=url_for("GrantRenewalView.renew", pk=grant.id), token=generate_csrf(),
             label=gettext("Renew"))


def certificate_cell(grant: Grant) -> Markup:
    """A link to print the permission's certificate (with its verification and QR code)."""
    return Markup('<a class="btn btn-xs btn-default sitthi-certificate" target="_blank" href="{url}">'
                  '<i class="fa fa-print"></i> {label}</a>').format(
        url=url_for("GrantCertificateView.certificate", pk=grant.id), label=gettext("Print"))


GRANT_STATE_COLUMN = code_column(labels.GRANT_STATE)


class ExpiringSoon(BaseFilter):
    """Active grants that end within the reminder window (EXPIRY_REMINDER_DAYS, from today)."""

    def apply(self, query, value):
        last_day = local_today() + timedelta(days=current_app.config.get("EXPIRY_REMINDER_DAYS", 30))
        # Past-dated active grants stay listed until the hourly job has expired them.
        return query.filter(Grant.state == "active", Grant.valid_until.isnot(None),
                            Grant.valid_until <= last_day)


class ExpiringGrantView(ReadOnlyModelView):
    """Grants of the user's command ending soon, soonest first (the row scope limits the rows)."""

    entity = _l("Permission")
    entities = _l("Expiring soon")
    datamodel = DaysLeftRows(Grant, db.session, loads.GRANT_LIST)
    class_permission_name = "ExpiringGrant"
    label_columns = GRANT_TIME_LABELS
    list_columns = ["officer", "data_source", "function", "rank_group", "valid_until", "days_left",
                    "reminded_on"]
    show_columns = ["officer", "data_source", "function", "rank_group", "state", "valid_from",
                    "valid_until", "reminded_on", "command", "request", "agency_reference", "activated_on"]
    order_columns = ["valid_until", "days_left"]
    order_aliases = {"days_left": "valid_until"}
    search_columns = ["data_source", "function", "valid_until"]
    formatters_columns = {"state": GRANT_STATE_COLUMN, "days_left": days_left_cell}
    base_filters = [["id", ExpiringSoon, None]]
    base_order = ("valid_until", "asc")


class GrantRenewalView(BaseView):
    """Renew: prepare a renewal request from a grant and open it on the request form.

    Renewing is making a request, so it needs what making one needs: write on the request desk.
    """

    route_base = "/grants"
    class_permission_name = "RequestDesk"
    method_permission_name = {"renew": "write"}

    @expose("/renew/<int:pk>", methods=["POST"])
    @has_access
    def renew(self, pk: int):
        try:
            started = renewal.start_renewal(db.session, current_actor(), pk, office_clock(),
                                            current_app.config["EXPIRY_REMINDER_DAYS"])
            db.session.commit()
        except SitthiError as error:
            db.session.rollback()
            flash(error.translated(), "danger")
            return redirect(url_for("MyGrantView.list"))
        req = started.request
        if not started.created:
            flash(gettext("You already have a renewal request for this permission: it is shown here."), "info")
        else:
            flash(gettext("A renewal request was prepared from your permission. Check it, name the "
                          "certifying unit head, accept the pledge and submit it."), "success")
        if req.state in ("draft", "returned"):
            return redirect(url_for("RequestDeskView.edit", pk=req.id))
        return redirect(url_for("RequestDeskView.show", pk=req.id))
