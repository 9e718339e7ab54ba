"""REST resources for officers, units, grants and the audit trail, with the screens' row scope.

Each resource is a FAB ``ModelRestApi`` on the same permission resource as its screen (``Officer``,
``Unit``, ``Grant``, ``AuditEvent``) with FAB's method names mapped onto can_read/can_write, so the
API needs no permission of its own: a role reads (or changes) the same records through the API as
on the screens. Like the requests API, only a JWT authenticates here, never a session cookie.

Which rows: ``InApiScope`` applies ``app.security.scope.row_condition`` for the JWT's user to every
list, get-one and change, so a row outside the user's command answers 404 like one that does not
exist. FAB does not scope what a POST adds or where a PUT moves a row (../shared/FAB5.md), so the
officer commands below check that too, before anything is written.

Only officers are written here (Personnel within their command, Admin anywhere). Nothing is
deleted through the API: an officer leaves by a status (retired, transferred out), and deleting
the record would orphan the requests, grants and audit events that name them. Grants change only
through the CommandTech commands; the audit trail is append-only.
"""
from flask import request
from flask_appbuilder.api import BaseApi, ModelRestApi, expose, safe
from flask_appbuilder.api.convert import Model2SchemaConverter
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import permission_name, protect
from flask_appbuilder.utils.base import get_column_root_relation, is_column_dotted
from marshmallow import ValidationError, fields, validate
from marshmallow_sqlalchemy.fields import Related
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Load, contains_eager

from app.api.contract import SaneDate, UtcDateTime
from app.api.requests import MAX_ID, _json_body, _json_errors, api_actor
from app.api.requests import MSG_CONFLICT as MSG_SAVED_MEANWHILE
from app.datamodel import MSG_CONFLICT, MSG_OUT_OF_SCOPE, CappedCountInterface
from app.domain import national_id
from app.errors import N_, NotAllowed, NotFound, SitthiError, ValidationFailed
from app.extensions import db
from app.formatting import office_clock
from app.input_guard import InputRefused, check_list_query
from app.models import AuditEvent, Grant, Officer, Unit
from app.models.officer import OFFICER_STATUSES
from app.read_trail import note_read
from app.security.scope import Actor, command_units, is_nationwide, is_visible, row_condition
from app.services import audit, personnel_rules

MSG_NOT_FOUND = N_("No such record, or not one you may see.")
MSG_NOT_AN_ID = N_("Give the id of the record, a whole number.")
MSG_NO_SUCH_ROW = N_("No such record.")
MSG_BAD_VERSION = N_("Send the `version` you read as a whole number, or leave it out.")

PAGE_SIZE, MAX_PAGE_SIZE = 25, 100

# FAB's endpoint names onto the screens' read/write (``_info`` is not served: it would list every
# unit and login as the options of the officer's related fields, whatever the user's scope).
READ_ONLY_METHODS = {"get": "read", "get_list": "read"}
READ_WRITE_METHODS = {**READ_ONLY_METHODS, "post": "write", "put": "write"}


class Conflict(SitthiError):
    """The change collides with a row that exists, or with someone else's change."""

    status = 409


class InApiScope(BaseFilter):
    """The rows the JWT's user may see (app.security.scope), on every list, get-one and PUT."""

    def apply(self, query, value):
        condition = row_condition(db.session, api_actor(), self.model)
        return query if condition is None else query.filter(condition)


class ExistingRow(Related):
    """A many-to-one field given as the related row's id; an id that names no row is refused.

    marshmallow-sqlalchemy's ``Related`` makes a new row of whatever it is given when no row
    matches: ``"duty_line": {"id": 999, "code": "x", ...}`` would have added a duty line.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is not int or not 1 <= value <= MAX_ID:
            raise ValidationError(MSG_NOT_AN_ID)
        row = self.session.get(self.related_model, value)
        if row is None:
            raise ValidationError(MSG_NO_SUCH_ROW)
        return row


class SitthiSchemaConverter(Model2SchemaConverter):
    """FAB's model-to-schema converter, with two repairs.

    Related fields take an existing row's id only (``ExistingRow``). A nested schema is named
    after its relation (``OfficersApi.get.home_unit.Unit``): FAB names it after the model only, so
    an officer's home and acting unit collided in the OpenAPI spec.
    """

    def _column2relation(self, datamodel, column, nested=False, parent_schema_name=None):
        if nested and parent_schema_name:
            parent_schema_name = f"{parent_schema_name}.{column.name}"
        field = super()._column2relation(datamodel, column, nested=nested, parent_schema_name=parent_schema_name)
        if nested and not field.required:
            field.allow_none = True  # an officer without an acting unit shows `"acting_unit": null`
        if isinstance(field, Related) and datamodel.is_relation_many_to_one(column.name):
            unique = field.unique
            field = ExistingRow(required=field.required, allow_none=field.allow_none,
                                metadata={"type": "integer", "description": "The related row's id."})
            field.unique = unique
        return field


    def _column2field(self, datamodel, column, nested=True, parent_schema_name=None):
        field = super()._column2field(datamodel, column, nested=nested, parent_schema_name=parent_schema_name)
        if type(field) is fields.Date:
            day = SaneDate(required=field.required, allow_none=field.allow_none, dump_only=field.dump_only,
                           load_only=field.load_only, metadata=field.metadata)
            day.unique = getattr(field, "unique", False)
            return day
        if type(field) is fields.DateTime:
            moment = UtcDateTime(required=field.required, allow_none=field.allow_none, dump_only=field.dump_only,
                                 load_only=field.load_only, metadata=field.metadata)
            moment.unique = getattr(field, "unique", False)
            return moment
        return field


class ApiInterface(CappedCountInterface):
    """Selects what the API shows and nothing more.

    FAB joins each relation named in a dotted column; nothing else of the root or of those
    related rows is loaded with them (when models still loaded relations by default, a grant's
    request brought 70 tables into one statement, past SQLite's limit of 64).
    """

    def apply_inner_select_joins(self, query, select_columns=None, aliases_mapping=None):
        query = super().apply_inner_select_joins(query, select_columns, aliases_mapping)
        if not select_columns:
            return query
        query = query.options(Load(self.obj).lazyload("*"))
        shown = {get_column_root_relation(c) for c in select_columns if is_column_dotted(c)}
        for relation in shown:
            if self.is_relation_many_to_one(relation):
                # FAB loads the related row twice: into the relation and as an extra entity.
                alias = self.get_alias_mapping(relation, aliases_mapping)
                query = query.options(contains_eager(getattr(self.obj, relation).of_type(alias)).lazyload("*"),
                                      Load(alias).lazyload("*"))
        return query


def datamodel(model) -> ApiInterface:
    return ApiInterface(model, db.session)


def _unit(relation: str) -> list[str]:
    """A unit as the API shows it wherever one is named: id, code and short name."""
    return [f"{relation}.id", f"{relation}.code", f"{relation}.abbr_th"]


class ScopedApi(ModelRestApi):
    """What every resource here shares: JWT only, the screens' permissions, the row scope, pages."""

    allow_browser_login = False  # a session cookie never authenticates here: JWT only
    method_permission_name = READ_ONLY_METHODS
    include_route_methods = set(READ_ONLY_METHODS)
    page_size = PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE  # a bigger page_size is served as 100
    model2schemaconverter = SitthiSchemaConverter

    def __init__(self):
        self.base_filters = [*(self.base_filters or []), ["id", InApiScope, None]]
        super().__init__()

    def add_apispec_components(self, api_spec) -> None:
        """The schemas of the endpoints served: a read-only resource documents no input."""
        BaseApi.add_apispec_components(self, api_spec)
        schemas = {self.list_model_schema_name: self.list_model_schema,
                   self.show_model_schema_name: self.show_model_schema}
        if "post" in self.include_route_methods:
            schemas[self.add_model_schema_name] = self.add_model_schema
        if "put" in self.include_route_methods:
            schemas[self.edit_model_schema_name] = self.edit_model_schema
        for name, schema in schemas.items():
            api_spec.components.schema(name, schema=schema)

    def get_list_headless(self, **kwargs):
        """FAB pages and filters by `q` as it is: a page or a value no column can hold is refused."""
        try:
            check_list_query(self.datamodel, kwargs.get("rison") or {})
        except InputRefused as refused:
            return self.response(refused.code, message=refused.description, field=refused.field)
        return super().get_list_headless(**kwargs)

    def get_headless(self, pk, **kwargs):
        if pk > MAX_ID:  # cannot exist, and PostgreSQL refuses to compare it with an INTEGER
            return self.response_404()
        return super().get_headless(pk, **kwargs)

    def response_404(self):
        """FAB's get-one answers this way too: outside the scope reads the same as no such row."""
        return self.error_response(NotFound(MSG_NOT_FOUND))

    def error_response(self, error: SitthiError):
        """A refusal as the requests API answers it (``_json_errors`` calls this)."""
        return self.response(error.status, message=error.translated(), field=getattr(error, "field", None))


# -- officers ------------------------------------------------------------------------------------
def _valid_national_id(value: str) -> None:
    """The model's own rule, answered as a field error so every bad field is listed at once."""
    try:
        national_id.validate(value)
    except ValidationFailed as error:
        raise ValidationError(error.translated()) from error


def _officer_input() -> dict:
    """The JSON body, with the national ID as people type it (dashes, spaces) reduced to digits."""
    body = _json_body()
    if isinstance(body.get("national_id"), str):
        body["national_id"] = national_id.normalize(body["national_id"])
    return body


OFFICER_FIELDS = [
    "national_id", "rank", "first_name_th", "last_name_th", "first_name_en", "last_name_en",
    "birth_date", "position_title", "position_number", "position_level", "duty_line", "status",
    "home_unit", "acting_unit", "acting_until", "email", "mobile",
]
PLACEMENT = ("home_unit", "acting_unit")  # where an officer works decides whose command holds them


class OfficersApi(ScopedApi):
    """Officers' records: read them in your scope; Personnel (and Admin) add and change them.

    Lists show the national ID masked, as the screens do; one officer's record shows it whole. The
    only filter on it is ``opr:nid`` with all 13 digits (app.services.officer_search): no prefix,
    no "contains". A record added or changed must lie in the writer's command: its home unit, and
    its acting unit when one is set or changed, must be units of that command.
    """

    resource_name = "officers"
    class_permission_name = "Officer"
    method_permission_name = READ_WRITE_METHODS
    include_route_methods = set(READ_WRITE_METHODS)
    openapi_spec_tag = "Officers"
    datamodel = datamodel(Officer)
    list_columns = [
        "id", "national_id_masked", "rank.id", "rank.abbr_th", "first_name_th", "last_name_th",
        "position_title", "status", *_unit("home_unit"), *_unit("acting_unit"), "acting_until",
    ]
    list_select_columns = [*list_columns, "national_id"]  # behind national_id_masked: no query per row
    show_columns = [
        "id", "national_id", "national_id_full", "rank.id", "rank.abbr_th", "rank.name_th",
        "first_name_th", "last_name_th", "first_name_en", "last_name_en", "birth_date",
        "position_title", "position_number", "position_level.id", "position_level.name_th",
        "duty_line.id", "duty_line.name_th", "status", *_unit("home_unit"), *_unit("acting_unit"),
        "acting_until", "email", "mobile", "version", "updated_at",
    ]
    add_columns = edit_columns = OFFICER_FIELDS
    search_columns = [
        "national_id", "first_name_th", "last_name_th", "rank", "status", "home_unit",
        "acting_unit", "duty_line", "position_number",
    ]
    order_columns = ["id", "first_name_th", "last_name_th", "status", "acting_until"]
    base_order = ("id", "asc")
    validators_columns = {
        "national_id": _valid_national_id,
        "status": validate.OneOf(OFFICER_STATUSES),
    }
    description_columns = {
        "national_id": "13 digits; dashes and spaces are ignored. Checked like the ID card's check digit.",
        "home_unit": "The unit's id (GET /api/v1/units/); it must be a unit of your command.",
        "acting_unit": "The unit of a temporary assignment, if any; a new one must be of your command.",
    }

    @expose("/", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def post(self):
        """Add an officer in your command.
        ---
        post:
          summary: Add an officer (Personnel, Admin)
          description: >-
            `home_unit` (and `acting_unit`, if given) must be units of your command; Admin may add
            anywhere. Related fields take ids: `rank`, `position_level`, `duty_line`, `home_unit`,
            `acting_unit`. Nothing is saved when anything is refused.
          parameters:
          - {in: query, name: _l_, description: Language of messages, schema: {type: string, enum: [th, en]}}
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/{{self.__class__.__name__}}.post'}
          responses:
            201:
              description: The officer as saved
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: integer}
                      result: {$ref: '#/components/schemas/{{self.__class__.__name__}}.post'}
            400:
              description: Input refused, e.g. a national ID that is not valid (see `field`, `errors`)
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiError'}
            401:
              $ref: '#/components/responses/401'
            403:
              description: Not allowed, or the unit is outside your command
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiError'}
            409:
              description: The national ID is already on file
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiError'}
        """
        return self.post_headless()

    @expose("/<pk>", methods=["PUT"])
    @protect()
    @safe
    @permission_name("put")
    def put(self, pk):
        """Change an officer of your command.
        ---
        put:
          summary: Change an officer (Personnel, Admin)
          description: >-
            Fields left out keep their value. A new `home_unit` or `acting_unit` must be a unit of
            your command, so a record cannot be moved out of it. Send the `version` you read to be
            refused (409) if someone changed the record since.
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - {in: query, name: _l_, description: Language of messages, schema: {type: string, enum: [th, en]}}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  allOf:
                  - {$ref: '#/components/schemas/{{self.__class__.__name__}}.put'}
                  - type: object
                    properties:
                      version: {type: integer, description: The `version` read with the officer (optional)}
          responses:
            200:
              description: The officer as saved
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      result: {$ref: '#/components/schemas/{{self.__class__.__name__}}.put'}
            400:
              description: Input refused (see `field`, `errors`)
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiError'}
            401:
              $ref: '#/components/responses/401'
            403:
              description: Not allowed, or the new unit is outside your command
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiError'}
            404:
              description: No such officer, or not one you may see
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiError'}
            409:
              description: Stale `version`, or the national ID is already on file
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiError'}
        """
        return self.put_headless(pk)

    # FAB's own handlers would answer a refused hook with a 500, a database error with its SQL,
    # and commit before the scope is checked: these replace them.
    @_json_errors
    def post_headless(self):
        item = self.add_model_schema.load(_officer_input())
        actor = api_actor()
        self._check_placement(actor, item, before=None)
        db.session.add(item)
        self._flush()
        self._check_visible(actor, item)
        self._audit(actor, "create", item, after=audit.snapshot(item))
        personnel_rules.apply(db.session, office_clock(), officer_ids=[item.id], actor_user_id=actor.user_id)
        db.session.commit()
        return self.response(201, id=item.id, result=self.add_model_schema.dump(item))

    @_json_errors
    def put_headless(self, pk):
        item = self._load(pk)
        body = _officer_input()
        expected_version = body.pop("version", None)
        if expected_version is not None:
            if type(expected_version) is not int:
                raise ValidationFailed(MSG_BAD_VERSION)
            if expected_version != item.version:
                raise Conflict(MSG_SAVED_MEANWHILE)
        before = audit.snapshot(item)
        item = self.edit_model_schema.load(self._merge_update_item(item, body), instance=item)
        actor = api_actor()
        self._check_placement(actor, item, before=before)
        self._flush()
        self._check_visible(actor, item)
        after = audit.snapshot(item)
        changed = {key for key in after if after[key] != before.get(key)}
        if changed:
            self._audit(actor, "update", item, before={k: before.get(k) for k in changed},
                        after={k: after[k] for k in changed})
        # The rights follow the record in the same transaction (marked retired: revoked now).
        personnel_rules.apply(db.session, office_clock(), officer_ids=[item.id], actor_user_id=actor.user_id)
        db.session.commit()
        return self.response(200, result=self.edit_model_schema.dump(item))

    def get_headless(self, pk, **kwargs):
        """One officer's whole record leaves only once its reading is in the trail."""
        response = super().get_headless(pk, **kwargs)
        if response.status_code == 200:
            note_read(api_actor(), "read", officer_ids=[pk], obj=db.session.get(Officer, pk))
        return response

    def _load(self, pk) -> Officer:
        """The officer, if the user may see them: one outside the scope is not found, like no one."""
        item = None
        if str(pk).isdigit() and int(pk) <= MAX_ID:
            item = self.datamodel.get(int(pk), self._base_filters)
        if item is None:
            raise NotFound(MSG_NOT_FOUND)
        return item

    @staticmethod
    def _check_placement(actor: Actor, item: Officer, before: dict | None) -> None:
        """A new officer, or a changed home or acting unit, must be a unit of the writer's command."""
        if is_nationwide(actor):
            return
        within = command_units(db.session, actor)
        for relation in PLACEMENT:
            unit = getattr(item, relation)
            if unit is None or (before is not None and before.get(f"{relation}_id") == unit.id):
                continue
            if within is None or not db.session.scalar(
                select(exists().where(Unit.id == unit.id, Unit.id.in_(within)))
            ):
                raise NotAllowed(MSG_OUT_OF_SCOPE)

    @staticmethod
    def _check_visible(actor: Actor, item: Officer) -> None:
        """After the change the row must still be one the writer may see (no moving it away)."""
        if not is_visible(db.session, actor, Officer, item.id):
            raise NotAllowed(MSG_OUT_OF_SCOPE)

    @staticmethod
    def _flush() -> None:
        try:
            db.session.flush()
        except IntegrityError as error:  # a national ID already on file
            db.session.rollback()
            raise Conflict(MSG_CONFLICT) from error

    @staticmethod
    def _audit(actor: Actor, action: str, item: Officer, before=None, after=None) -> None:
        audit.record(db.session, f"Officer.{action}", obj=item, before=before, after=after,
                     actor_id=actor.user_id, remote_addr=request.remote_addr)


# -- read-only resources -------------------------------------------------------------------------
class UnitsApi(ScopedApi):
    """The unit tree (public knowledge inside the force): find the id of a home or acting unit."""

    resource_name = "units"
    class_permission_name = "Unit"
    openapi_spec_tag = "Units"
    datamodel = datamodel(Unit)
    list_columns = show_columns = [
        "id", "code", "name_th", "name_en", "abbr_th", "kind", "province_th", "is_admin_scope",
        "is_active", *_unit("parent"),
    ]
    search_columns = ["code", "name_th", "abbr_th", "kind", "province_th", "is_admin_scope", "parent"]
    order_columns = ["id", "code", "name_th", "abbr_th", "kind"]
    base_order = ("code", "asc")


class GrantsApi(ScopedApi):
    """Rights officers hold, in the reader's scope. Read-only: CommandTech's commands change them."""

    resource_name = "grants"
    class_permission_name = "Grant"
    openapi_spec_tag = "Grants"
    datamodel = datamodel(Grant)
    list_columns = [
        "id", "officer.id", "officer.first_name_th", "officer.last_name_th",
        "data_source.id", "data_source.code", "data_source.name_th",
        "function.id", "function.code", "function.name_th", "rank_group.id", "rank_group.number",
        "state", "valid_from", "valid_until", *_unit("command"),
    ]
    show_columns = [
        *list_columns, "request.id", "request.number", "agency_reference", "activated_on",
        "granted_by.id", "granted_by.username", "revoked_at", "reason", "created_at", "updated_at",
        "version",
    ]
    search_columns = ["officer", "data_source", "function", "state", "valid_from", "valid_until", "command"]
    order_columns = ["id", "state", "valid_from", "valid_until"]
    base_order = ("id", "asc")


class AuditEventsApi(ScopedApi):
    """The audit trail, newest first (Auditor, Admin). Append-only: nothing changes it."""

    resource_name = "audit-events"
    class_permission_name = "AuditEvent"
    openapi_spec_tag = "Audit events"
    datamodel = datamodel(AuditEvent)
    list_columns = [
        "id", "occurred_at", "action", "actor.id", "actor.username", "object_type", "object_id",
        *_unit("unit"), "summary",
    ]
    show_columns = [
        *list_columns, "on_behalf_of.id", "on_behalf_of.username", "before", "after", "remote_addr", "purpose",
        "officers.id",
    ]
    # "officers": who read this officer's data (`opr: onid` a national ID, `oid` a record number).
    search_columns = ["action", "actor", "object_type", "object_id", "unit", "occurred_at", "officers"]
    order_columns = ["id", "occurred_at", "action"]
    base_order = ("occurred_at", "desc")


RESOURCE_APIS = (OfficersApi, UnitsApi, GrantsApi, AuditEventsApi)
