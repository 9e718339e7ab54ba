"""The base of the API's record resources: FAB's ModelRestApi with the screens' permissions and row scope.

Each resource is a FAB ``ModelRestApi`` on the same permission resource as its screen (``Officer``,
``Unit``, ``Grant``, ``AuditEvent``, the reference data) with FAB's method names mapped onto
can_read/can_write, so the API needs no permission of its own: a role reads (or changes) the same
records through the API as on the screens. Like every resource, only a JWT authenticates here.

Which rows: ``InApiScope`` applies ``app.security.scope.row_condition`` for the JWT's user to every
list, get-one and change, so a row outside the user's command answers 404 like one that does not
exist. FAB does not scope what a POST adds or where a PUT moves a row (../shared/FAB5.md), so
``WritableApi`` checks that too, before anything is written, and writes the audit event of each
change as the screens do. Nothing is deleted through the API.
"""
from flask import request
from flask_appbuilder.api import BaseApi, ModelRestApi, expose, safe
from flask_appbuilder.api.convert import Model2SchemaConverter
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import permission_name, protect
from flask_appbuilder.utils.base import get_column_root_relation, is_column_dotted
from marshmallow import ValidationError, fields, validate
from marshmallow_sqlalchemy.fields import Related
from sqlalchemy import BigInteger, Integer, SmallInteger
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Load, contains_eager

from app.api.base import MAX_ID, MSG_NOT_FOUND, api_actor, json_body, json_errors
from app.api.base import MSG_CONFLICT as MSG_SAVED_MEANWHILE
from app.api.contract import SaneDate, UtcDateTime
from app.datamodel import MSG_CONFLICT, MSG_OUT_OF_SCOPE, CappedCountInterface
from app.errors import N_, FieldsRefused, NotAllowed, NotFound, SitthiError, ValidationFailed, translate
from app.extensions import db
from app.input_guard import InputRefused, check_list_query
from app.security.scope import Actor, is_visible, row_condition
from app.services import audit

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


def _integer_range(column_type) -> tuple[int, int]:
    """What a counting column may hold through the API: none below zero, none past its type."""
    if isinstance(column_type, SmallInteger):
        return 0, 2**15 - 1
    if isinstance(column_type, BigInteger):
        return 0, 2**63 - 1
    return 0, MAX_ID


class SitthiSchemaConverter(Model2SchemaConverter):
    """FAB's model-to-schema converter, with three repairs.

    Related fields take an existing row's id only (``ExistingRow``). A nested schema is named
    after its relation (``OfficersApi.get.home_unit.Unit``): FAB names it after the model only, so
    an officer's home and acting unit collided in the OpenAPI spec. A number is one its column
    can hold (PostgreSQL would refuse a larger one with a 500, and no order or count is negative).
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
        if type(field) is fields.Integer and column.name in datamodel.list_columns:
            column_type = datamodel.list_columns[column.name].type
            if isinstance(column_type, Integer):
                low, high = _integer_range(column_type)
                field.strict = True
                field.validators.append(validate.Range(min=low, max=high))
                field.metadata = {**field.metadata, "minimum": low, "maximum": high}
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


def unit_columns(relation: str) -> list[str]:
    """A unit as the API shows it wherever one is named: id, code and short name."""
    return [f"{relation}.id", f"{relation}.code", f"{relation}.abbr_th"]


class ScopedApi(ModelRestApi):
    """What every record resource shares: JWT only, the screens' permissions, the row scope, pages."""

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
        """A refusal as every resource answers it (``json_errors`` calls this); several fields
        refused at once are each named in `errors`."""
        body = {"message": error.translated(), "field": getattr(error, "field", None)}
        if isinstance(error, FieldsRefused):
            body["errors"] = {name: translate(message, params) for name, message, params in reversed(error.problems)}
        return self.response(error.status, **body)


class WritableApi(ScopedApi):
    """A record resource that adds and changes rows (never deletes): FAB's POST and PUT, but scoped.

    FAB's own handlers would answer a refused hook with a 500, a database error with its SQL, and
    commit before the scope is checked: ``post_headless`` and ``put_headless`` replace them. A
    subclass refines ``read_input`` (the body as people type it), ``check_write`` (a rule of the
    rows before they are written) and ``after_write`` (what follows the change in its transaction).
    The document's summary and description of its POST and PUT go in ``openapi_spec_methods``.
    """

    method_permission_name = READ_WRITE_METHODS
    include_route_methods = set(READ_WRITE_METHODS)

    @expose("/", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def post(self):
        """Add a record.
        ---
        post:
          summary: Add a record
          description: >-
            Related fields take ids. Nothing is saved when anything is refused.
          parameters:
          - {in: query, name: _l_, description: Language of messages, schema: {type: string, enum: [th, en]}}
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/{{self.__class__.__name__}}.post'}
          responses:
            201:
              description: The record as saved
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: integer}
                      result: {$ref: '#/components/schemas/{{self.__class__.__name__}}.post'}
            400:
              description: Input refused (see `field`, `errors`)
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiError'}
            401:
              $ref: '#/components/responses/401'
            403:
              description: Not allowed, or the record would be outside your command
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiError'}
            409:
              description: The record collides with one that exists
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiError'}
        """
        return self.post_headless()

    @expose("/<int:pk>", methods=["PUT"])  # as GET: /-1 is no route for either
    @protect()
    @safe
    @permission_name("put")
    def put(self, pk):
        """Change a record.
        ---
        put:
          summary: Change a record
          description: >-
            Fields left out keep their value. Send the `version` you read to be refused (409) if
            someone changed the record since.
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
                      version: {type: integer, description: The `version` read with the record (optional)}
          responses:
            200:
              description: The record as saved
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
              description: Not allowed, or the change would move the record outside your command
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiError'}
            404:
              description: No such record, or not one you may see
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiError'}
            409:
              description: Stale `version`, or the record collides with one that exists
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiError'}
        """
        return self.put_headless(pk)

    # -- what a resource refines ---------------------------------------------------------------
    def read_input(self) -> dict:
        return json_body()

    def check_write(self, actor: Actor, item, before: dict | None) -> None:
        """Refuse a row the actor may not write, before it is flushed (`before`: None on add)."""

    def after_write(self, actor: Actor, item) -> None:
        """What follows the change in the same transaction."""

    # -- FAB's handlers, replaced ----------------------------------------------------------------
    @json_errors
    def post_headless(self):
        item = self.add_model_schema.load(self.read_input())
        actor = api_actor()
        self.check_write(actor, item, before=None)
        db.session.add(item)
        self._flush()
        self._check_visible(actor, item)
        self._audit(actor, "create", item, after=audit.snapshot(item))
        self.after_write(actor, item)
        db.session.commit()
        return self.response(201, id=item.id, result=self.add_model_schema.dump(item))

    @json_errors
    def put_headless(self, pk):
        item = self._load(pk)
        body = self.read_input()
        expected_version = body.pop("version", None)
        if expected_version is not None:
            if type(expected_version) is not int or not 0 <= expected_version <= MAX_ID:
                error = ValidationFailed(MSG_BAD_VERSION)
                error.field = "version"
                raise error
            # A record without versions (reference data) has no stale form to refuse.
            if expected_version != getattr(item, "version", expected_version):
                raise Conflict(MSG_SAVED_MEANWHILE)
        before = audit.snapshot(item)
        item = self.edit_model_schema.load(self._merge_update_item(item, body), instance=item)
        actor = api_actor()
        self.check_write(actor, item, before=before)
        self._flush()
        self._check_visible(actor, item)
        after = audit.snapshot(item)
        changed = {key for key in after if after[key] != before.get(key)}
        if changed:
            self._audit(actor, "update", item, before={k: before.get(k) for k in changed},
                        after={k: after[k] for k in changed})
        self.after_write(actor, item)
        db.session.commit()
        return self.response(200, result=self.edit_model_schema.dump(item))

    def _load(self, pk):
        """The row, if the user may see it: one outside the scope is not found, like none."""
        item = None
        if str(pk).isdigit() and int(pk) <= MAX_ID:
            item = self.datamodel.get(int(pk), self._base_filters)
        if item is None:
            raise NotFound(MSG_NOT_FOUND)
        return item

    @staticmethod
    def _check_visible(actor: Actor, item) -> None:
        """After the change the row must still be one the writer may see (no moving it away)."""
        if not is_visible(db.session, actor, type(item), item.id):
            raise NotAllowed(MSG_OUT_OF_SCOPE)

    @staticmethod
    def _flush() -> None:
        try:
            db.session.flush()
        except IntegrityError as error:  # a code or a national ID already on file
            db.session.rollback()
            raise Conflict(MSG_CONFLICT) from error

    @staticmethod
    def _audit(actor: Actor, action: str, item, before=None, after=None) -> None:
        audit.record(db.session, f"{type(item).__name__}.{action}", obj=item, before=before, after=after,
                     actor_id=actor.user_id, remote_addr=request.remote_addr)
