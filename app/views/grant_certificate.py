"""`/grantcertificate/<id>`: one permission on paper (หนังสือรับรองสิทธิ์), with the verification
code and QR code that tell its state at any later time. Whoever may see the permission may print
it: the holder from My permissions, their command's staff and the nationwide roles from its page."""
from urllib.parse import quote

from flask import Response, abort, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app import labels
from app.documents import document_secret, public_url
from app.extensions import db
from app.formatting import current_language, local_today
from app.models import Grant
from app.read_trail import note_read
from app.security.scope import is_visible
from app.services.memo import Verification, render_grant_certificate
from app.services.verification import grant_code
from app.views.scoping import current_actor


class GrantCertificateView(BaseView):
    route_base = "/grantcertificate"
    default_view = "certificate"
    class_permission_name = "GrantCertificate"
    method_permission_name = {"certificate": "read"}

    @expose("/<int:pk>")
    @has_access
    def certificate(self, pk: int):
        actor = current_actor()
        if not is_visible(db.session, actor, Grant, pk):
            abort(404)
        grant = db.session.get(Grant, pk)
        code = grant_code(document_secret(), grant.id)
        pdf = render_grant_certificate(
            grant, labels.label_of(labels.GRANT_STATE, grant.state), local_today(), current_language(),
            verification=Verification(code=code, url=public_url(url_for("VerifyView.check", code=code))))
        note_read(actor, "print", officer_ids=[grant.officer_id], obj=grant,
                  summary=f"permission certificate {grant.id}")
        name = f"permission-{grant.id}.pdf"
        return Response(pdf, mimetype="application/pdf", headers={
            "Content-Disposition": "inline; filename*=UTF-8''" + quote(name, safe=""),
            "X-Content-Type-Options": "nosniff"})
