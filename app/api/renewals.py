"""Renewing a permission through the API: the renewal request the screen's Renew button prepares.

Renewing is making a request, so it needs what making one needs (write on the request desk), and
app.services.renewal allows only one's own grants, in the reminder window.
"""
from flask import current_app
from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect
from marshmallow import Schema, fields

from app.api.base import SitthiApi, api_actor, id_field, json_body, operation
from app.api.requests import RequestDetailSchema, detail
from app.extensions import db
from app.formatting import office_clock
from app.services import access_requests, renewal


class RenewSchema(Schema):
    grant_id = id_field(required=True, metadata={"description": "One of my own permissions."})


class RenewalSchema(Schema):
    created = fields.Boolean(metadata={"description": "false: an open renewal of this permission already "
                                                     "existed, and is the one answered"})
    request = fields.Nested(RequestDetailSchema)


class RenewalsApi(SitthiApi):
    resource_name = "renewals"
    class_permission_name = "RequestDesk"
    openapi_spec_tag = "Requests"

    @expose("/", methods=["POST"])
    @protect()
    @operation("Renew one of my permissions", body=RenewSchema, response=RenewalSchema, status=201,
               answer="The renewal request (a draft to complete and submit)",
               also={200: "The open renewal of this permission, made before"}, services=[renewal.start_renewal],
               refusals={400: None, 403: "Not renewable (state), or not yet (outside the reminder window)",
                         404: "No such permission among my own"}, description=(
                   "Prepares a renewal request from the permission, as the Renew button does: check it, "
                   "name the certifying head and accept the pledge with PUT /requests/{pk}, then submit "
                   "it. An open renewal of the same permission is answered instead of a second one."))
    def renew(self):
        args = RenewSchema().load(json_body())
        actor = api_actor()
        started = renewal.start_renewal(db.session, actor, args["grant_id"], office_clock(),
                                        current_app.config["EXPIRY_REMINDER_DAYS"])
        request_id = started.request.id
        db.session.commit()
        current = access_requests.load_request(db.session, actor, request_id)
        # `detail` is the request already written out for JSON.
        return self.response(201 if started.created else 200, created=started.created,
                             request=detail(actor, current))
