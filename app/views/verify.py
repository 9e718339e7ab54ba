"""`/verify/`: check a printed memo or permission certificate by its verification code (typed, or
scanned from its QR code).

Any logged-in user may check a paper they hold: the page says whether Sitthi made it and shows the
request as it stands now. It shows what the paper already shows (number, officer, unit, rights
asked for) and what became of it; a code that no document has answers 404 with a message. Every
check that shows an officer is in the read trail, and the checks share the search rate limit, so
codes cannot be tried in bulk.
"""
from flask import request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app import labels
from app.documents import document_secret
from app.extensions import db
from app.read_trail import note_read
from app.security.rate_limits import search_page
from app.services import verification
from app.views.scoping import current_actor

TEMPLATE = "sitthi/verify.html"


class VerifyView(BaseView):
    route_base = "/verify"
    default_view = "index"
    class_permission_name = "Verify"
    method_permission_name = {"index": "read", "check": "read"}

    @expose("/")
    @has_access
    @search_page
    def index(self):
        code = (request.args.get("code") or "").strip()
        if not code:
            return self.render_template(TEMPLATE, checked=None, code="", labels=labels)
        return self._answer(code)

    @expose("/<string:code>")
    @has_access
    @search_page
    def check(self, code: str):
        return self._answer(code)

    def _answer(self, code: str):
        checked = verification.check(db.session, document_secret(), code)
        if checked is None:
            return self.render_template(TEMPLATE, checked=None, code=code[:64], not_found=True, labels=labels), 404
        if isinstance(checked, verification.CheckedGrant):
            grant = checked.grant
            note_read(current_actor(), "read", officer_ids=[grant.officer_id], obj=grant,
                      summary=f"verified permission certificate {grant.id}")
        elif isinstance(checked, verification.CheckedGroup):
            note_read(current_actor(), "read", officer_ids=[line.requester_id for line in checked.lines],
                      obj=checked.group, summary=f"verified group memo {checked.group.number}")
        else:
            req = checked.request
            note_read(current_actor(), "read", officer_ids=[req.requester_id], obj=req,
                      summary=f"verified memo {req.number or req.id}")
        return self.render_template(TEMPLATE, checked=checked, code=checked.code, labels=labels,
                                    is_grant=isinstance(checked, verification.CheckedGrant),
                                    is_group=isinstance(checked, verification.CheckedGroup))
