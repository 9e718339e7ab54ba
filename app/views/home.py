"""The landing page: who you are and where your work is."""
from flask import current_app
from flask_appbuilder import IndexView, expose
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.formatting import local_today
from app.models import Officer
from app.services import inboxes
from app.services.inboxes import inbox_counts
from app.views.scoping import current_actor

OWN_WORK_URLS = {
    inboxes.MY_DRAFTS: ("/myrequestview/list/?_flt_0_state=draft", _l("My drafts to finish")),
    inboxes.MY_RETURNED: ("/myrequestview/list/?_flt_0_state=returned", _l("Returned to me for correction")),
    inboxes.MY_EXPIRING: ("/mygrantview/list/?_flt_0_state=active", _l("My rights ending soon")),
}
INBOX_URLS = {
    inboxes.TO_CERTIFY: ("/tocertifyview/list/", _l("To certify")),
    inboxes.TO_VERIFY: ("/toverifyview/list/", _l("To verify")),
    inboxes.AWAITING_ACTIVATION: ("/awaitingactivationview/list/", _l("Awaiting agency activation")),
    inboxes.ACCOUNT_REQUESTS: ("/accountrequestview/list/", _l("Account requests")),
    inboxes.PERSONNEL_CHANGES: ("/personnelchangeview/list/?_flt_0_state=open", _l("Personnel changes")),
    inboxes.TO_REVIEW: ("/toreviewview/list/", _l("To review")),
    inboxes.DATA_CHANGES: ("/datachangerequestview/list/?_flt_0_state=open", _l("Data corrections to make")),
}


class HomeView(IndexView):
    index_template = "sitthi/index.html"

    @expose("/")
    def index(self):
        officer, waiting, own = None, {}, {}
        if current_user.is_authenticated:
            officer = db.session.scalar(select(Officer).where(Officer.user_id == current_user.id))
            waiting = inbox_counts(db.session, current_actor())
            if not self.appbuilder.sm.has_access("menu_access", "To Certify"):  # not one who certifies
                waiting.pop(inboxes.TO_CERTIFY, None)
            own = inboxes.own_work(db.session, current_actor(), local_today(),
                                   current_app.config["EXPIRY_REMINDER_DAYS"])
        return self.render_template(self.index_template, officer=officer, today=local_today(),
                                    waiting=waiting, inbox_urls=INBOX_URLS, own=own, own_urls=OWN_WORK_URLS)
