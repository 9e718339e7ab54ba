"""What every operation of Sitthi's REST API shares: one base class and one way to declare an operation.

An operation is a method of a `SitthiApi` that FAB exposes, wrapped by `@operation(...)`. The
decorator says, once, what the OpenAPI document states about it (its summary, body and answer
schemas, the refusals it may give) and which service functions it calls (`services`, which
tests/test_api_coverage.py reads to prove every service command has an operation). The base class
then gives every operation the same handling:

- a JWT only (``allow_browser_login = False``): a browser's session cookie never authenticates, so
  the API's CSRF exemption cannot be used to act for a logged-in browser;
- the permission of the screen that does the same (``class_permission_name``), read for GET and
  write for the rest unless the operation says otherwise, so the API needs no permission of its own;
- the JSON body read with `json_body` (the input guard of app.input_guard has already refused NUL
  bytes, over-long text and ids no row can have) and loaded with its marshmallow schema;
- every refusal as JSON ``{"message", "field"}`` in the language asked for with ``?_l_=th|en``
  (Thai by default), at the status the service's error carries (400 field errors, 403, 404 for a
  record out of scope, 409 for a stale `version`), and a rollback of whatever the call changed;
  never a 500 for input.
"""
import base64
import binascii
import contextlib
import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apispec.exceptions import DuplicateComponentNameError
from flask import g, request
from flask_appbuilder.api import BaseApi
from flask_babel import gettext
from flask_jwt_extended import get_current_user
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from app.domain.inputs import MAX_INT as MAX_ID
from app.errors import N_, NotFound, SitthiError, ValidationFailed
from app.extensions import db
from app.formatting import local_today, localized
from app.security.scope import Actor
from app.services import exports
from app.services.access_requests import MSG_REQUIRED
from app.services.delegations import actor_on

log = logging.getLogger(__name__)

MSG_NOT_JSON = N_("Send a JSON object in the request body, with Content-Type: application/json.")
MSG_INVALID = N_("Some fields are not valid: nothing was saved.")
MSG_CONFLICT = N_("Someone else saved at the same moment. Nothing was saved: reload and try again.")
MSG_UNEXPECTED = N_("Something went wrong on our side. Nothing was saved.")
MSG_NOT_FOUND = N_("No such record, or not one you may see.")
MSG_BAD_BASE64 = N_("The file content is not valid base64.")
MARSHMALLOW_REQUIRED = "Missing data for required field."

MAX_PAGE_SIZE = 100
ID = validate.Range(min=1, max=MAX_ID)
LANGUAGE = {"in": "query", "name": "_l_", "description": "Language of labels and messages",
            "schema": {"type": "string", "enum": ["th", "en"]}}
PAGING = (
    {"in": "query", "name": "page", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"in": "query", "name": "page_size", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE,
                                                    "default": 25}},
)
FORMAT = {"in": "query", "name": "format", "description": "csv (default) or xlsx",
          "schema": {"type": "string", "enum": list(exports.FORMATS)}}
PATH_ARGUMENT = re.compile(r"{(\w+)}")


# -- schemas every resource uses ---------------------------------------------------------------------
def id_field(**kwargs) -> fields.Integer:
    """An id in a body: a whole number a row can have (anything else is a field error, not a 500)."""
    return fields.Integer(strict=True, validate=ID, **kwargs)


def version_field(required: bool = False, **kwargs) -> fields.Integer:
    """The `version` read with a record: a stale one is refused with 409, nothing saved."""
    if not required:
        kwargs.setdefault("allow_none", True)
        kwargs.setdefault("load_default", None)
    return fields.Integer(strict=True, required=required, validate=validate.Range(min=0, max=MAX_ID),
                          metadata={"description": "The `version` read with the record; a stale one is "
                                                   "refused with 409 and nothing is saved."}, **kwargs)


def text_field(limit: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(max=limit), **kwargs)


class Base64Bytes(fields.Field):
    """A base64 string in, bytes out (whitespace and line breaks are ignored)."""

    def _deserialize(self, value, attr, data, **kwargs) -> bytes:
        if not isinstance(value, str):
            raise ValidationError(MSG_BAD_BASE64)
        try:
            return base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValidationError(MSG_BAD_BASE64) from error

    def _serialize(self, value, attr, obj, **kwargs):  # pragma: no cover - input only
        return base64.b64encode(value).decode() if value is not None else None


class RefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class CodedRefSchema(RefSchema):
    code = fields.String()


class RankGroupSchema(RefSchema):
    number = fields.Integer()


class CheckSchema(Schema):
    code = fields.String()
    status = fields.String(metadata={"enum": ["pass", "warn", "fail"]})
    status_label = fields.String()
    message = fields.String()
    params = fields.Dict()
    item_id = fields.Integer(allow_none=True, metadata={"description": "The item it is about; null: the request."})
    field = fields.String(allow_none=True, metadata={"description": "The input field that can put it right, if one can."})


class ApiErrorSchema(Schema):
    message = fields.String(metadata={"description": "In the language asked for with ?_l_=th|en."})
    field = fields.String(allow_none=True, metadata={"description": "The input field at fault, if one is."})
    errors = fields.Dict(metadata={"description": "Per-field messages of a refused input (400)."})
    checks = fields.List(fields.Nested(CheckSchema), metadata={
        "description": "The failed eligibility checks (or unexplained warnings), when a submission or "
                       "an approval is refused for them."})


class PageArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # _l_ and the like

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Integer(load_default=25, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


def page_schema(row: type[Schema], name: str) -> type[Schema]:
    """A page of rows: {count, page, page_size, result}."""
    return Schema.from_dict({
        "count": fields.Integer(), "page": fields.Integer(), "page_size": fields.Integer(),
        "result": fields.List(fields.Nested(row)),
    }, name=name)


def component_name(schema: type[Schema]) -> str:
    """The schema's name in the document: the one FAB's resolver gives nested schemas too."""
    return getattr(schema, "__component_name__", None) or schema.__name__.removesuffix("Schema")


# -- input ------------------------------------------------------------------------------------------
def json_body(required: bool = True) -> dict:
    raw = request.get_data(cache=True)
    if not raw.strip() and not required:
        return {}
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        raise ValidationFailed(MSG_NOT_JSON)
    return data


def known_id(pk: int, message: str = MSG_NOT_FOUND) -> int:
    """An id in the address no row can have is not found (PostgreSQL refuses to compare it)."""
    if pk > MAX_ID:
        raise NotFound(message)
    return pk


def api_actor() -> Actor:
    """The user of the JWT (not of any session cookie that came along), as the services see them."""
    user = get_current_user() or g.user
    actor = g.get("_sitthi_api_actor")
    if actor is None or actor.user_id != user.id:
        actor = actor_on(db.session, user, local_today())
        g._sitthi_api_actor = actor
    return actor


def translated_errors(messages: Any) -> Any:
    """marshmallow's messages with string keys, in the reader's language where we have it."""
    if isinstance(messages, dict):
        return {str(k): translated_errors(v) for k, v in messages.items()}
    if isinstance(messages, list):
        return [translated_errors(m) for m in messages]
    if isinstance(messages, str):
        return gettext(MSG_REQUIRED if messages == MARSHMALLOW_REQUIRED else messages)
    return messages


def json_errors(f):
    """Answer every refusal as JSON with its status, and roll back whatever the call changed."""

    @functools.wraps(f)
    def wrapper(self, *args, **kwargs):
        try:
            return f(self, *args, **kwargs)
        except SitthiError as error:
            db.session.rollback()
            return self.error_response(error)
        except ValidationError as error:
            db.session.rollback()
            errors = translated_errors(error.messages)
            field_name = next(iter(errors), None) if isinstance(errors, dict) else None
            return self.response(400, message=gettext(MSG_INVALID), field=field_name, errors=errors)
        except (IntegrityError, StaleDataError):
            db.session.rollback()
            return self.response(409, message=gettext(MSG_CONFLICT), field=None)
        except HTTPException as error:  # body too large, unreadable body
            db.session.rollback()
            return self.response(error.code or 400, message=error.description, field=None)
        except Exception:
            db.session.rollback()
            log.exception("API error")
            return self.response(500, message=gettext(MSG_UNEXPECTED), field=None)

    return wrapper


# -- answers ------------------------------------------------------------------------------------------
def ref(obj, name: str | None = None) -> dict | None:
    if obj is None:
        return None
    return {"id": obj.id, "name": name if name is not None else localized(obj)}


def person(user) -> dict | None:
    """A login as people read it: its name, or the login name when it has none."""
    if user is None:
        return None
    return {"id": user.id, "name": f"{user.first_name or ''} {user.last_name or ''}".strip() or user.username}


def coded(target) -> dict | None:
    return None if target is None else {"id": target.id, "code": target.code, "name": localized(target)}


def page_of(query, args: dict, row: Callable) -> dict:
    """One page of a select: {count, page, page_size, result: [row(r), ...]}."""
    page, size = args["page"], args["page_size"]
    count = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(size).offset((page - 1) * size)).all()
    return {"count": count, "page": page, "page_size": size, "result": [row(r) for r in rows]}


def page_args() -> dict:
    return PageArgsSchema().load(request.args.to_dict())


def export_format() -> str:
    """?format=csv|xlsx; anything else is refused at its field."""
    fmt = (request.args.get("format") or "csv").lower()
    if fmt not in exports.FORMATS:
        error = ValidationFailed(N_("Choose a format Sitthi writes: csv or xlsx."))
        error.field = "format"
        raise error
    return fmt


# -- declaring an operation ----------------------------------------------------------------------------
# What each refusal means when an operation does not say it in its own words.
REFUSALS = {
    400: "Input refused (see `field` and `errors`): nothing was saved",
    403: "Your role, or the rules, do not let you do this",
    404: "No such record, or not one you may see",
    409: "The record changed since you read it (`version`), or collides with one that exists",
}
DOWNLOAD_TYPES = (
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)


@dataclass(frozen=True)
class Operation:
    """What the document says about one operation, and the service functions it calls."""

    summary: str
    description: str = ""
    body: type[Schema] | None = None
    body_required: bool = True
    response: type[Schema] | None = None
    status: int = 200
    answer: str = "Done"
    also: dict = field(default_factory=dict)  # other successful answers: {status: what it means}
    refusals: dict = field(default_factory=dict)
    paged: bool = False
    query: tuple = ()
    download: bool = False
    download_format: bool = True  # the download asks ?format= (a run's file has its own)
    permission: str | None = None
    services: tuple[Callable, ...] = ()

    def spec(self, path: str) -> dict:
        parameters = [{"in": "path", "name": name, "required": True, "schema": {"type": "integer"}}
                      for name in PATH_ARGUMENT.findall(path)]
        parameters += [*(PAGING if self.paged else ()), *self.query, *((FORMAT,) if self.download and self.download_format else ()), LANGUAGE]
        if self.download:
            content = {kind: {"schema": {"type": "string", "format": "binary"}} for kind in DOWNLOAD_TYPES}
        else:
            content = {"application/json": {"schema": _ref(self.response) if self.response else {"type": "object"}}}
        responses: dict[str, Any] = {str(self.status): {"description": self.answer, "content": content}}
        for code, meaning in self.also.items():
            responses[str(code)] = {"description": meaning, "content": content}
        for code, meaning in sorted(self.refusals.items()):
            responses[str(code)] = {"description": meaning or REFUSALS[code],
                                    "content": {"application/json": {"schema": _ref(ApiErrorSchema)}}}
        responses["401"] = {"$ref": "#/components/responses/401"}
        spec: dict[str, Any] = {"summary": self.summary, "parameters": parameters, "responses": responses}
        if self.description:
            spec["description"] = self.description
        if self.body is not None:
            spec["requestBody"] = {"required": self.body_required,
                                   "content": {"application/json": {"schema": _ref(self.body)}}}
        return spec

    def schemas(self) -> list[type[Schema]]:
        return [s for s in (self.body, self.response) if s is not None]


def _ref(schema: type[Schema]) -> dict:
    return {"$ref": f"#/components/schemas/{component_name(schema)}"}


def operation(summary: str, *, refusals=(400, 403, 404), services=(), **details):
    """Declare an exposed method as an operation of the API (see `Operation`).

    `refusals` are the error statuses it may answer besides 401: a code, or {code: what it means
    here}. `services` are the service functions it calls, for the coverage test. The method is
    wrapped in `json_errors`."""
    meanings = refusals if isinstance(refusals, dict) else {code: None for code in refusals}
    declared = Operation(summary=summary, refusals=meanings, services=tuple(services), **details)

    def decorate(f):
        wrapped = json_errors(f)
        wrapped._operation = declared
        return wrapped

    return decorate


class SitthiApi(BaseApi):
    """The base of every hand-written resource: JWT only, the screen's permission, JSON refusals."""

    allow_browser_login = False  # a session cookie never authenticates here: JWT only
    # Components a subclass documents beyond its operations' bodies and answers.
    extra_schemas: tuple[type[Schema], ...] = (ApiErrorSchema,)

    def __init_subclass__(cls, **kwargs):
        """Each operation's permission: its own, else read for GET and write for the rest."""
        super().__init_subclass__(**kwargs)
        permissions = dict(cls.__dict__.get("method_permission_name") or {})
        for name, member in cls.__dict__.items():
            declared = getattr(member, "_operation", None)
            if declared is None or name in permissions:
                continue
            methods = {method for _url, found in getattr(member, "_urls", ()) for method in found}
            permissions[name] = declared.permission or ("read" if methods <= {"GET"} else "write")
        cls.method_permission_name = {**(getattr(cls, "method_permission_name", None) or {}), **permissions}

    @classmethod
    def operations(cls) -> dict[str, Operation]:
        """Every operation of the class, by method name."""
        return {name: getattr(cls, name)._operation for name in dir(cls)
                if hasattr(getattr(cls, name, None), "_operation")}

    # The services name form fields; where the API's JSON names them otherwise: {service's: API's}.
    field_names: dict[str, str] = {}

    def error_response(self, error: SitthiError):
        field_name = getattr(error, "field", None)
        return self.response(error.status, message=error.translated(),
                             field=self.field_names.get(field_name, field_name))

    def not_found(self, message: str = MSG_NOT_FOUND):
        return self.error_response(NotFound(message))

    def done(self, status: int = 200, **body):
        """Commit the operation's work, then answer."""
        db.session.commit()
        return self.response(status, **body)

    # -- the document ------------------------------------------------------------------------------
    def add_apispec_components(self, api_spec) -> None:
        super().add_apispec_components(api_spec)
        schemas = [*self.extra_schemas, *(s for op in self.operations().values() for s in op.schemas())]
        for schema in schemas:
            with contextlib.suppress(DuplicateComponentNameError):
                api_spec.components.schema(component_name(schema), schema=schema)

    def operation_helper(self, path=None, operations=None, methods=None, func=None, **kwargs) -> None:
        declared = getattr(func, "_operation", None)
        if declared is None:
            return super().operation_helper(path=path, operations=operations, methods=methods, func=func, **kwargs)
        for method in methods:
            spec = declared.spec(path)
            spec["security"] = [{"jwt": []}, {"api_key": []}]
            operations[method.lower()] = spec
        return None
