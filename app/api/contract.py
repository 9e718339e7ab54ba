"""The API's contract: what the OpenAPI document promises is what the endpoints answer.

Flask-AppBuilder writes the document from its docstrings, and a few of its promises are not what
Sitthi's endpoints do: every protected endpoint may answer 403 (the role lacks the permission) and
429 (the rate limits), a body may be refused as too large (413), ids are integers, and an error's
`message` is a text or, for a form of fields, the messages per field. `conform` states those once
for the whole document, and `UtcDateTime` writes every moment with its offset (RFC 3339), as the
document's "date-time" says: SQLite hands back moments without one.
"""
from datetime import UTC

from flask import current_app
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_appbuilder.api.manager import OpenApi as FabOpenApi
from marshmallow import ValidationError, fields

ERROR = {
    "type": "object",
    "properties": {
        "message": {"anyOf": [{"type": "string"}, {"type": "object"}],
                    "description": "What was refused and why; for a form, the messages per field."},
        "field": {"type": "string", "nullable": True, "description": "The field refused, if one."},
    },
}
ERRORS = {
    "400": "The request is not well formed",
    "401": "Not signed in: no token, or one that is not valid",
    "403": "Your role may not do this",
    "404": "No such record, or not one you may see",
    "409": "The record changed meanwhile, or collides with one that exists",
    "413": "The request is too large",
    "422": "The data does not pass the checks",
    "429": "Too many attempts: wait and try again",
    "500": "Fatal error",
}
# Answers any protected endpoint may give, whatever its own docstring lists.
PROTECTED = ("401", "403", "429")
WITH_BODY = ("400", "413", "422")


class UtcDateTime(fields.DateTime):
    """A moment as RFC 3339, with its offset: a moment stored without one is in UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


def _error_response(code: str) -> dict:
    return {"description": ERRORS[code], "content": {"application/json": {"schema": ERROR}}}


def _integer_ids(schema: dict) -> None:
    """FAB documents the ids of a list and the id of a record as text; they are integers."""
    properties = schema.get("properties") or {}
    if properties.get("ids", {}).get("type") == "array":
        properties["ids"]["items"] = {"type": "integer"}
    if properties.get("id", {}).get("type") == "string":
        properties["id"] = {"type": "integer", "description": properties["id"].get("description", "")}


def conform(spec: dict) -> dict:
    components = spec.setdefault("components", {})
    components.setdefault("responses", {}).update({code: _error_response(code) for code in ERRORS})
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            needed = set()
            if operation.get("security"):
                needed.update(PROTECTED)
            if "requestBody" in operation or operation.get("parameters"):
                needed.update(WITH_BODY)
            if path.endswith("/security/login"):
                needed.update(("401", "429"))
            for code in sorted(needed - set(responses)):
                responses[code] = {"$ref": f"#/components/responses/{code}"}
            for answer in responses.values():
                schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                if isinstance(schema, dict):
                    _integer_ids(schema)
    return spec


class OpenApi(FabOpenApi):
    """FAB's /api/<version>/_openapi, conformed (same name, so the same permission and route)."""

    @expose("/<version>/_openapi")
    @protect()
    @safe
    def get(self, version):
        """The OpenAPI document of one version of the API
        ---
        get:
          description: >-
            Get the OpenAPI spec for a specific API version
          parameters:
          - in: path
            schema:
              type: string
            name: version
          responses:
            200:
              description: The OpenAPI spec
              content:
                application/json:
                  schema:
                    type: object
            404:
              $ref: '#/components/responses/404'
        """
        api_spec = self._create_api_spec(version)
        found = False
        for base_api in current_app.appbuilder.baseviews:
            if isinstance(base_api, BaseApi) and base_api.version == version:
                base_api.add_api_spec(api_spec)
                found = True
        if not found:
            return self.response_404()
        return self.response(200, **conform(api_spec.to_dict()))


class SaneDate(fields.Date):
    """A date the API takes: within the years Sitthi keeps (app.domain.inputs.check_year)."""

    def _deserialize(self, value, attr, data, **kwargs):
        from app.domain.inputs import check_year
        from app.errors import ValidationFailed

        day = super()._deserialize(value, attr, data, **kwargs)
        try:
            check_year(day)
        except ValidationFailed as error:
            raise ValidationError(error.translated()) from None
        return day
