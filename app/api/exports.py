"""Downloads through the API: the same files the screens' Export buttons write (CSV or XLSX).

Each is read in the reader's row scope with the permission of the list it comes from, and recorded
in the audit trail as an export (who, what, how many rows) before the file leaves. A rights
review's results and an import's rejected rows are downloaded from their own resources
(/review-campaigns/{pk}/export, /imports/{pk}/rejects).
"""
from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect
from flask_babel import gettext
from sqlalchemy import select

from app.api.base import SitthiApi, api_actor, download, export_format, operation
from app.errors import N_, ValidationFailed
from app.extensions import db
from app.models import Grant
from app.security.scope import scoped
from app.services import exports
from app.tables import grant_table

# Beyond this a list is not read by a person (the screens' limit too).
EXPORT_LIMIT = 50_000
MSG_TOO_MANY = N_("More than %(limit)s rows: narrow the list with its filters, then export again.")


class ExportsApi(SitthiApi):
    resource_name = "exports"
    class_permission_name = "CommandGrant"
    openapi_spec_tag = "Exports"

    @expose("/command-grants", methods=["GET"])
    @protect()
    @operation("The command's permissions, as a file", download=True, services=[exports.render],
               answer="Who holds what in your command (CommandTech), or in your scope (Auditor)",
               refusals={400: "Not a format Sitthi writes, or more rows than a file holds"})
    def command_grants(self):
        fmt = export_format()
        actor = api_actor()
        query = scoped(db.session, actor, select(Grant), Grant).order_by(Grant.id.desc()).limit(EXPORT_LIMIT + 1)
        grants = db.session.scalars(query).all()
        if len(grants) > EXPORT_LIMIT:
            raise ValidationFailed(MSG_TOO_MANY, limit=f"{EXPORT_LIMIT:,}")
        return download(grant_table(gettext("Command permissions"), grants), "command-permissions", fmt,
                        what=self.class_permission_name, unit_id=actor.command_id)
