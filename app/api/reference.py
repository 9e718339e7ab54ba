"""Reference data through the API: the unit tree to read, and what an Admin keeps as data.

Each resource is on the same permission as its screen (app/views/catalog.py): every role that
reads the screen reads the resource, and only Admin writes (adds and changes; nothing is deleted,
rows that requests and grants name are withdrawn by their flags instead). Each change is in the
audit trail as the screens write it (`DataSource.create`, `Holiday.update`, ...). Approval
stages go with their chasing rules, judged by the stage form's own rule
(app.services.chasing.stage_rule_problems); the Linkage Center's data fields and justification
questions are Admin's, its agencies' super users CentralIT's (Auditor reads), each appointment's
letter a PDF sent as base64 as attachments are. Agreements and approval chains are kept on the
screens only.
"""
from flask import current_app, g
from marshmallow import Schema, ValidationError, fields, validate

from app import labels
from app.api.base import Base64Bytes, json_body
from app.api.scoped import ScopedApi, WritableApi, datamodel, unit_columns
from app.domain.inputs import TEXT_LIMIT
from app.errors import FieldsRefused, ValidationFailed
from app.extensions import db
from app.models import (
    Agency,
    AgencySuperUser,
    ApprovalStage,
    DataField,
    DataSource,
    DutyLine,
    Holiday,
    JustificationQuestion,
    PositionLevel,
    Rank,
    RankGroup,
    SystemFunction,
    Unit,
)
from app.models.linkage import ANSWER_KINDS
from app.services import linkage
from app.services.chasing import StageRules, stage_rule_problems


class UnitsApi(ScopedApi):
    """The unit tree (public knowledge inside the force): find the id of a home or acting unit."""

    resource_name = "units"
    class_permission_name = "Unit"
    openapi_spec_tag = "Units"
    datamodel = datamodel(Unit)
    list_columns = show_columns = [
        "id", "code", "name_th", "name_en", "abbr_th", "kind", "province_th", "is_admin_scope",
        "is_active", *unit_columns("parent"),
    ]
    search_columns = ["code", "name_th", "abbr_th", "kind", "province_th", "is_admin_scope", "parent"]
    order_columns = ["id", "code", "name_th", "abbr_th", "kind"]
    base_order = ("code", "asc")


def reference_api(name: str, model, resource: str, tag: str, columns: list[str], *, shown: list[str] | None = None,
                  search: list[str], order: tuple[str, str], validators: dict | None = None,
                  base: type[WritableApi] = WritableApi, writer: str = "Admin") -> type[WritableApi]:
    """A reference table as a resource: the screen's permission, its columns, `writer` writes
    (the roles app/security/roles.py gives the screen's permission to write)."""
    return type(name, (base,), {
        "__doc__": f"{tag}: read by who reads the screen, added and changed by Admin.",
        "__module__": __name__,
        "resource_name": resource,
        "class_permission_name": model.__name__,
        "openapi_spec_tag": tag,
        "openapi_spec_methods": {
            "post": {"post": {"summary": f"Add: {tag} ({writer})"}},
            "put": {"put": {"summary": f"Change: {tag} ({writer})"}},
        },
        "datamodel": datamodel(model),
        "list_columns": ["id", *(shown or columns)],
        "show_columns": ["id", *(shown or columns)],
        "add_columns": columns,
        "edit_columns": columns,
        "search_columns": search,
        "order_columns": ["id", *order[:1]],
        "base_order": order,
        "validators_columns": validators or {},
    })


class StageRulesChecked(WritableApi):
    """An approval stage is saved only with chasing rules the stage form would accept: every
    problem at its field, in the form's words."""

    def check_write(self, actor, item, before) -> None:
        item.escalate_to = item.escalate_to or None
        item.escalate_to_role = item.escalate_to_role or None
        item.return_reason = (item.return_reason or "").strip() or None
        user = item.escalate_to_user
        problems = stage_rule_problems(StageRules(
            actor=item.actor, remind_after_days=item.remind_after_days,
            escalate_after_days=item.escalate_after_days, escalate_to=item.escalate_to,
            escalate_to_user_active=None if user is None else bool(user.active),
            escalate_to_role=item.escalate_to_role, return_after_days=item.return_after_days,
            return_reason=item.return_reason))
        if problems:
            db.session.rollback()
            raise FieldsRefused([(name, message, params) for name, (message, params) in problems.items()])


class LetterUploadSchema(Schema):
    filename = fields.String(required=True, validate=validate.Length(min=1, max=255))
    content_base64 = Base64Bytes(required=True, metadata={
        "type": "string", "format": "byte", "description": "The letter, a PDF, base64-encoded."})


class KeepsLetterApi(WritableApi):
    """A super user's appointment: `letter_pdf` ({filename, content_base64}) is checked as the
    screen checks the letter it uploads (a PDF within the size limit) and kept with the row;
    left out, the letter kept stays."""

    def read_input(self) -> dict:
        body = json_body()
        g.api_letter = None
        if "letter_pdf" in body:
            upload = body.pop("letter_pdf")
            if upload is not None:
                try:
                    values = LetterUploadSchema().load(upload if isinstance(upload, dict) else {})
                except ValidationError as error:
                    raise ValidationError({"letter_pdf": error.messages}) from None
                g.api_letter = _checked_letter(values)
        return body

    def check_write(self, actor, item, before) -> None:
        if item.valid_until is not None and item.valid_from is not None and item.valid_until < item.valid_from:
            db.session.rollback()
            error = ValidationFailed(linkage.MSG_SUPER_USER_DATES)
            error.field = "valid_until"
            raise error
        checked = g.pop("api_letter", None)
        if checked is not None:
            item.letter = linkage.keep_letter(db.session, checked, actor.user_id)


def _checked_letter(values: dict):
    try:
        return linkage.check_letter(values["filename"], values["content_base64"],
                                    current_app.config["ATTACHMENT_MAX_BYTES"])
    except ValidationFailed as refused:
        refused.field = "letter_pdf"
        raise


STAGE_COLUMNS = [
    "chain", "position", "name_th", "name_en", "actor", "due_business_days", "remind_after_days",
    "escalate_after_days", "escalate_to", "escalate_to_user", "escalate_to_role", "return_after_days",
    "return_reason",
]
SUPER_USER_COLUMNS = ["agency", "name", "position", "phone", "email", "letter_number", "letter_date",
                      "valid_from", "valid_until", "note"]

REFERENCE_APIS = (
    reference_api("RankGroupsApi", RankGroup, "rank-groups", "Rank groups", ["number", "name_th", "name_en"],
                  search=["name_th", "name_en"], order=("number", "asc")),
    reference_api("RanksApi", Rank, "ranks", "Ranks",
                  ["order", "name_th", "abbr_th", "name_en", "abbr_en", "rank_class", "rank_group"],
                  shown=["order", "name_th", "abbr_th", "name_en", "abbr_en", "rank_class", "rank_group.id"],
                  search=["name_th", "abbr_th", "name_en", "rank_group"], order=("order", "desc"),
                  validators={"rank_class": validate.OneOf(list(labels.RANK_CLASS))}),
    reference_api("DutyLinesApi", DutyLine, "duty-lines", "Duty lines", ["code", "name_th", "name_en", "external_search_eligible"],
                  search=["code", "name_th", "name_en", "external_search_eligible"], order=("code", "asc")),
    reference_api("PositionLevelsApi", PositionLevel, "position-levels", "Position levels",
                  ["order", "code", "name_th", "name_en", "is_unit_head"],
                  search=["code", "name_th", "name_en", "is_unit_head"], order=("order", "asc")),
    reference_api("HolidaysApi", Holiday, "holidays", "Holidays", ["day", "name_th", "name_en"],
                  search=["day", "name_th", "name_en"], order=("day", "desc")),
    reference_api("AgenciesApi", Agency, "agencies", "Agencies", ["code", "name_th", "name_en", "contact_email"],
                  search=["code", "name_th", "name_en"], order=("code", "asc")),
    reference_api("DataSourcesApi", DataSource, "data-sources", "Data sources", [
        "code", "name_th", "name_en", "agency", "is_open", "needs_rank_group", "needs_external_activation",
        "activation_days", "default_validity_months", "description"], shown=[
        "code", "name_th", "name_en", "agency.id", "agency.code", "is_open", "needs_rank_group",
        "needs_external_activation", "activation_days", "default_validity_months", "description"],
        search=["code", "name_th", "name_en", "agency", "is_open"], order=("code", "asc"),
        validators={"description": validate.Length(max=TEXT_LIMIT)}),
    reference_api("SystemFunctionsApi", SystemFunction, "system-functions", "System functions", [
        "code", "name_th", "name_en", "description", "min_position_level", "duty_line",
        "default_validity_months", "is_active"], shown=[
        "code", "name_th", "name_en", "description", "min_position_level.id", "duty_line.id",
        "default_validity_months", "is_active"],
        search=["code", "name_th", "name_en", "min_position_level", "duty_line", "is_active"],
        order=("code", "asc"), validators={"description": validate.Length(max=TEXT_LIMIT)}),
    reference_api("ApprovalStagesApi", ApprovalStage, "approval-stages", "Approval stages", STAGE_COLUMNS,
                  shown=[("chain.id" if c == "chain" else "escalate_to_user.id" if c == "escalate_to_user" else c)
                         for c in STAGE_COLUMNS],
                  search=["chain", "name_th", "actor"], order=("position", "asc"), base=StageRulesChecked,
                  validators={"actor": validate.OneOf(list(labels.STAGE_ACTOR)),
                              "escalate_to": validate.OneOf(list(labels.ESCALATION_TARGET)),
                              "escalate_to_role": validate.OneOf(list(labels.ESCALATION_ROLE)),
                              "return_reason": validate.Length(max=TEXT_LIMIT)}),
    reference_api("DataFieldsApi", DataField, "data-fields", "Data fields",
                  ["data_source", "position", "code", "name_th", "name_en"],
                  shown=["data_source.id", "position", "code", "name_th", "name_en"],
                  search=["data_source", "code", "name_th", "name_en"], order=("position", "asc")),
    reference_api("JustificationQuestionsApi", JustificationQuestion, "justification-questions",
                  "Justification questions",
                  ["data_source", "position", "label_th", "label_en", "answer_kind", "required", "max_length",
                   "is_active"],
                  shown=["data_source.id", "position", "label_th", "label_en", "answer_kind", "required",
                         "max_length", "is_active"],
                  search=["data_source", "label_th", "label_en", "required", "is_active"], order=("position", "asc"),
                  validators={"answer_kind": validate.OneOf(ANSWER_KINDS),
                              "max_length": validate.Range(min=1, max=2000)}),
    reference_api("AgencySuperUsersApi", AgencySuperUser, "agency-super-users", "Agency super users",
                  SUPER_USER_COLUMNS,
                  shown=["agency.id", *SUPER_USER_COLUMNS[1:], "letter.id", "letter.filename"],
                  search=["agency", "name", "valid_from", "valid_until"], order=("valid_from", "desc"),
                  base=KeepsLetterApi, writer="CentralIT, Admin",
                  validators={"note": validate.Length(max=TEXT_LIMIT)}),
)
