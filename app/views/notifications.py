"""The bell: a user's own notifications, read in the app as well as by mail."""
from flask import flash, g, redirect, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape

from app.datamodel import datamodel
from app.extensions import db
from app.formatting import office_clock
from app.models import Notification
from app.services import notifications as service
from app.views.base import PERMISSION_BY_METHOD, ReadOnlyModelView
from app.views.labels import LABELS
from app.views.request_columns import request_link


class OwnedByCurrentUser(BaseFilter):
    """Only the current user's notifications; nothing for anyone else (not even an admin)."""

    def apply(self, query, value):
        column = getattr(self.model, self.column_name)
        if not current_user or not current_user.is_authenticated:
            return query.filter(column.is_(None), column.isnot(None))
        return query.filter(column == current_user.id)


def _new_badge(read_at) -> Markup:
    return Markup('<span class="label label-primary">%s</span>') % _l("New") if read_at is None else Markup("")


def _message_text(body: str) -> Markup:
    # The mail's links are completed when sent; in the app they are the app's own paths.
    return Markup('<div class="sitthi-message">%s</div>') % escape(service.with_app_url(body or "", ""))


def _request_link(request) -> Markup:
    return Markup("") if request is None else request_link(request)


class MyNotificationView(ReadOnlyModelView):
    entity = _l("Notification")
    entities = _l("My notifications")
    datamodel = datamodel(Notification)
    class_permission_name = "MyNotification"
    # Marking one's own notifications read is part of reading them.
    method_permission_name = {**PERMISSION_BY_METHOD, "read_all": "read"}
    list_template = "sitthi/notification_list.html"
    label_columns = {**LABELS, "created_at": _l("Received"), "subject": _l("Subject"), "body": _l("Message"),
                     "read_at": _l("Read"), "request": _l("Request")}
    list_columns = ["read_at", "created_at", "subject", "request"]
    show_columns = ["created_at", "subject", "body", "request"]
    search_columns = ["subject"]
    base_filters = [["recipient_user_id", OwnedByCurrentUser, None]]
    base_order = ("created_at", "desc")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.formatters_columns = {**self.formatters_columns, "read_at": _new_badge, "body": _message_text,
                                   "request": _request_link}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        response = super().show(pk)
        # Opened is read; the base filter has already refused another's notification.
        if getattr(response, "status_code", 200) == 200:
            service.mark_read(db.session, current_user.id, office_clock().now, ids=(int(pk),))
            db.session.commit()
        return response

    @expose("/read-all", methods=["POST"])
    @has_access
    def read_all(self):
        count = service.mark_read(db.session, current_user.id, office_clock().now)
        db.session.commit()
        flash(gettext("Marked read: %(num)s", num=count), "info")
        return redirect(url_for(".list"))


def unread_notifications() -> int:
    """The bell's count for the current user, read once per page."""
    if not current_user or not current_user.is_authenticated:
        return 0
    if "sitthi_unread" not in g:
        g.sitthi_unread = service.unread_count(db.session, current_user.id)
    return g.sitthi_unread


def register(app) -> None:
    app.jinja_env.globals["unread_notifications"] = unread_notifications
